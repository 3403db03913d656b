export type {
  ContainerRuntime, LeaseRef, DeployOptions, DeployedLease, ProgressEvent, ReplicaState, ReplicaStatus, ServiceStatus, ServiceUrl,
  RuntimeNotice, LogLine, LogOptions, RuntimeEvent, ExecOptions, ExecOutput, ExecHandle, LeaseSummary, ReconcileResult, SandboxReport,
  StorageEnforcement
} from './interface.ts'
export {
  RuntimeError, RuntimeErrorCode, RuntimeUnavailableError, InvalidLeaseIdError, UnsupportedManifestError, LeaseNotFoundError,
  LeaseExistsError, ServiceNotFoundError, ImageUnavailableError, DeployFailedError, UpdateFailedError, RuntimeRequestError,
  AbortedError, InsufficientResourcesError, ReservationExistsError, InvalidInventoryError, ImageRefusedError, SandboxUnavailableError,
  SandboxConfigError, ContainerLimitsError, StreamOverflowError
} from './errors.ts'
export { leaseFirewall, chainNames } from './firewall.ts'
export type { LeaseFirewall, LeaseFirewallInit } from './firewall.ts'
export { volumeStore, storeImages } from './volume-store.ts'
export type { VolumeStore, VolumeStoreInit } from './volume-store.ts'
export { registryPolicy, registryOf, privateMarker, PRIVATE_IMAGE_REPO } from './image-policy.ts'
export type { RegistryPolicy, RegistryPolicyInit } from './image-policy.ts'
export { PRIVATE_IPV4, PRIVATE_IPV6, parseCidr, inCidr, isPrivateAddress, hostNetworks } from './address-ranges.ts'
export type { Cidr } from './address-ranges.ts'
export { ByteQueue } from './streams.ts'
// the runtimes themselves load their clients (dockerode, @kubernetes/client-node): a node loads
// them only when it runs one (src/node.ts); the builders beside them load neither
export { dockerRuntime } from './docker.ts'
export type { DockerRuntime, DockerRuntimeInit, DockerRuntimeComponents } from './docker.ts'
export { dockerClient } from './docker-client.ts'
export { containerSpec, networkSpec, networkName, volumeName, leaseStatus } from './docker-spec.ts'
export type { ContainerSpec, ContainerSpecInput } from './docker-spec.ts'
export { planServices, commonNotices, urlScheme, checkLeaseId } from './manifest-plan.ts'
export type { PlannedService } from './manifest-plan.ts'
export * from './constants.ts'
export { kubernetesRuntime } from './kubernetes.ts'
export type { KubernetesRuntime, KubernetesRuntimeInit, KubernetesRuntimeComponents } from './kubernetes.ts'
export { kubernetesObjects, namespaceName, leaseLabelValue, leaseStatusOf, podState } from './kubernetes-objects.ts'
export type { KubernetesObjects, KubernetesObjectsInit, Workload, LeaseObjectsSeen } from './kubernetes-objects.ts'
export { leaseIngresses, ingressesOf, nginxAnnotations, ingressName } from './kubernetes-ingress.ts'
export type { KubernetesIngressInit, IngressRecord, LeaseIngressPlan, ClaimedHost } from './kubernetes-ingress.ts'
export { inventory, fits, gpuMatches, hostCapacity, FIT_REASON_CODE, unenforcedKinds } from './inventory.ts'
export type { Inventory, InventoryInit, Capacity, Overcommit, Free, Reservation, ResourceRequest, FitResult, FitReason, HostCapacityOptions, ReservationDemandLike, UnenforcedStorage } from './inventory.ts'
export { parseNvidiaSmiCsv, parseNvidiaSmiXml, detectNvidiaGpus, gpuModelName, gpuInterface, gpuRam, NVIDIA_SMI_QUERY } from './nvidia-smi.ts'
export type { GpuDevice } from './nvidia-smi.ts'
export { dockerGpuSupport, kubernetesGpuSupport, checkDockerGpuSupport, checkKubernetesGpuSupport, gpusToOffer } from './gpu-support.ts'
export type { GpuSupport, GpuAttach, DockerInfoGpu, KubeNodeGpu } from './gpu-support.ts'
