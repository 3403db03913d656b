// Labels that tie every runtime object to its lease. Docker objects carry the full lease ID;
// Kubernetes label values are limited to 63 characters, so there the label holds a 32-hex-digit
// key and the annotation `souk.lease/id` the full ID.
export const LABEL_LEASE = 'souk.lease'
export const LABEL_SERVICE = 'souk.service'
export const LABEL_TENANT = 'souk.tenant'
export const LABEL_PROVIDER = 'souk.provider'
export const LABEL_GROUP = 'souk.group'
export const LABEL_REPLICA = 'souk.replica'
export const LABEL_GENERATION = 'souk.generation'
/** which runtime instance owns the object, so two providers sharing one engine never touch each other's objects */
export const LABEL_INSTANCE = 'souk.instance'
/** JSON of the service's exposes, so URLs can be rebuilt after a restart */
export const LABEL_EXPOSE = 'souk.expose'
/** JSON of the deploy notices, kept on the lease network / namespace */
export const LABEL_NOTICES = 'souk.notices'
/** on a sized volume: its size in bytes, to make its file system again after a host restart */
export const LABEL_SIZE = 'souk.size'
export const ANNOTATION_LEASE_ID = 'souk.lease/id'

export const DEFAULT_INSTANCE = 'souk'
/** object name prefix; Docker names hold the whole lease ID */
export const NAME_PREFIX = 'souk-'
/** hex digits of the lease ID in a Kubernetes namespace name (63 characters at most); the full ID is checked in its annotation before any use */
export const LEASE_NAME_CHARS = 58
export const KUBE_LEASE_LABEL_CHARS = 32

/** Lease IDs are lowercase hex (a sha256 is 64 digits). */
export const LEASE_ID_PATTERN = /^[0-9a-f]{16,128}$/
/** RFC 1123 label, which Docker aliases and Kubernetes names both accept */
export const SERVICE_NAME_PATTERN = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/

/**
 * Capabilities left to containers after `CapDrop: ALL`. Docker's default set minus the ones a
 * tenant workload has no business with (NET_RAW: packet spoofing on the bridge; MKNOD,
 * SYS_CHROOT, SETFCAP, SETPCAP, FSETID, AUDIT_WRITE). What remains is what common images need:
 * entrypoints that chown their data dir and drop to an unprivileged user (postgres, redis,
 * nginx: CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID), servers binding ports below 1024
 * (NET_BIND_SERVICE) and supervisors signalling children running as other users (KILL).
 */
export const DEFAULT_CAP_ADD = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID', 'NET_BIND_SERVICE', 'KILL'] as const

export const DEFAULT_PIDS_LIMIT = 1024
export const DEFAULT_API_TIMEOUT_MS = 30_000
/** log or exec bytes buffered for one reader before the container's stream is paused */
export const MAX_STREAM_BUFFER_BYTES = 1024 * 1024
/** what one buffered log line or exec chunk costs besides its bytes (object, array slot), counted against that bound */
export const STREAM_ITEM_OVERHEAD_BYTES = 32
/** a log line longer than this is split */
export const MAX_LOG_LINE_BYTES = 64 * 1024
/** bound on a manifest the runtime accepts */
export const MAX_SERVICES = 64
export const MAX_REPLICAS_PER_SERVICE = 64
export const MAX_EXPOSES_PER_SERVICE = 64
/** TCP ports reported as http:// URLs when exposed globally (Akash treats `as: 80` as HTTP) */
export const HTTP_PORTS = [80, 8080] as const
/** replicas the manifest asked for, on every container, so status is complete after a restart */
export const LABEL_COUNT = 'souk.count'
/** on a Kubernetes lease namespace: JSON of the lease's Ingress hosts, so a deleted or edited Ingress can be put back without the manifest */
export const ANNOTATION_INGRESS = 'souk.ingress'
/** annotation prefix of kubernetes/ingress-nginx, the controller whose annotations http_options map to */
export const NGINX_ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io/'
