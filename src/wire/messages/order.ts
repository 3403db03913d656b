import { map, field, str, uint, bool, bytes, arr, strMap, price } from '../schema.ts'
import type { Price } from '../schema.ts'
import {
  HASH_BYTES, MAX_ATTRIBUTES, MAX_BID_WINDOW_MS, MAX_ATTRIBUTE_KEY_LENGTH, MAX_ATTRIBUTE_VALUE_LENGTH, MAX_AUDITORS, MAX_GPU_MODELS,
  MAX_ACCEPT_PROVIDERS, MAX_GROUPS, MAX_NAME_LENGTH, MAX_REPLICAS, MAX_SERVICES_PER_GROUP, MAX_STORAGE_VOLUMES, MessageTag
} from '../constants.ts'
import { schemaError } from '../errors.ts'
import type { MessageHead } from '../envelope.ts'

export interface WireStorage { name: string, size: number, persistent: boolean, class?: string }
export interface WireGpuModel { vendor: string, model?: string, ram?: number, interface?: string }
export interface WireResources {
  service: string
  /** millicpu per replica */
  cpu: number
  /** bytes per replica */
  memory: number
  storage: WireStorage[]
  gpu: { units: number, models: WireGpuModel[] }
  count: number
  price: Price
}
export interface WireGroup {
  name: string
  attributes: Record<string, string>
  signedBy: { allOf: string[], anyOf: string[] }
  resources: WireResources[]
  maxPrice: Price
}

/**
 * Which providers the tenant accepts, by their record (committee.md §6.2) and by key. Absent, the
 * committee applies DEFAULT_ACCEPT and no lists.
 */
export interface WireAccept {
  /** a provider with failures fits only while failed × 1000 ≤ this × (failed + served) */
  maxFailurePermille: number
  /** served leases a provider needs to fit */
  minServed: number
  /** provider keys (32 bytes); not empty: only these fit */
  allow: Uint8Array[]
  /** provider keys that never fit (a failover lists the providers it left) */
  deny: Uint8Array[]
}

/** A tenant's request for compute. The tenant is the envelope's signer. */
export interface OrderBody {
  groups: WireGroup[]
  /** sha256 of the canonical manifest; the manifest itself never travels in gossip */
  manifestHash: Uint8Array
  /** bids must be final before this time (ms since the Unix epoch) */
  bidDeadline: number
  accept?: WireAccept
}

const MAX_BYTES_FIELD = 2 ** 50 // a pebibyte: more than any one replica asks for

function name (v: unknown, path: string): string {
  const s = str(v, path, MAX_NAME_LENGTH, 1)
  if (!/^[a-z0-9]([a-z0-9_.-]*[a-z0-9])?$/i.test(s)) throw schemaError(path, 'must be letters, digits, "-", "_" or "."')
  return s
}

function storage (v: unknown, path: string): WireStorage {
  const o = map(v, path, ['name', 'size', 'persistent'], ['class'])
  const out: WireStorage = {
    name: name(o.name, field(path, 'name')),
    size: uint(o.size, field(path, 'size'), MAX_BYTES_FIELD),
    persistent: bool(o.persistent, field(path, 'persistent'))
  }
  if (o.class !== undefined) out.class = str(o.class, field(path, 'class'), MAX_NAME_LENGTH, 1)
  return out
}

function gpuModel (v: unknown, path: string): WireGpuModel {
  const o = map(v, path, ['vendor'], ['model', 'ram', 'interface'])
  const out: WireGpuModel = { vendor: str(o.vendor, field(path, 'vendor'), MAX_NAME_LENGTH, 1) }
  if (o.model !== undefined) out.model = str(o.model, field(path, 'model'), MAX_NAME_LENGTH, 1)
  if (o.ram !== undefined) out.ram = uint(o.ram, field(path, 'ram'), MAX_BYTES_FIELD)
  if (o.interface !== undefined) out.interface = str(o.interface, field(path, 'interface'), MAX_NAME_LENGTH, 1)
  return out
}

function resources (v: unknown, path: string): WireResources {
  const o = map(v, path, ['service', 'cpu', 'memory', 'storage', 'gpu', 'count', 'price'])
  const g = map(o.gpu, field(path, 'gpu'), ['units', 'models'])
  return {
    service: name(o.service, field(path, 'service')),
    cpu: uint(o.cpu, field(path, 'cpu'), 1_000_000, 1),
    memory: uint(o.memory, field(path, 'memory'), MAX_BYTES_FIELD, 1),
    storage: arr(o.storage, field(path, 'storage'), MAX_STORAGE_VOLUMES, storage),
    gpu: {
      units: uint(g.units, field(path, 'gpu.units'), 1024),
      models: arr(g.models, field(path, 'gpu.models'), MAX_GPU_MODELS, gpuModel)
    },
    count: uint(o.count, field(path, 'count'), MAX_REPLICAS, 1),
    price: price(o.price, field(path, 'price'))
  }
}

function group (v: unknown, path: string): WireGroup {
  const o = map(v, path, ['name', 'attributes', 'signedBy', 'resources', 'maxPrice'])
  const sb = map(o.signedBy, field(path, 'signedBy'), ['allOf', 'anyOf'])
  const auditor = (x: unknown, p: string): string => str(x, p, 128, 1)
  return {
    name: name(o.name, field(path, 'name')),
    attributes: strMap(o.attributes, field(path, 'attributes'), MAX_ATTRIBUTES, MAX_ATTRIBUTE_KEY_LENGTH, MAX_ATTRIBUTE_VALUE_LENGTH),
    signedBy: {
      allOf: arr(sb.allOf, field(path, 'signedBy.allOf'), MAX_AUDITORS, auditor),
      anyOf: arr(sb.anyOf, field(path, 'signedBy.anyOf'), MAX_AUDITORS, auditor)
    },
    resources: arr(o.resources, field(path, 'resources'), MAX_SERVICES_PER_GROUP, resources, 1),
    maxPrice: price(o.maxPrice, field(path, 'maxPrice'))
  }
}

function accept (v: unknown, path: string): WireAccept {
  const o = map(v, path, ['maxFailurePermille', 'minServed', 'allow', 'deny'])
  const key = (x: unknown, p: string): Uint8Array => bytes(x, p, HASH_BYTES)
  return {
    maxFailurePermille: uint(o.maxFailurePermille, field(path, 'maxFailurePermille'), 1000),
    minServed: uint(o.minServed, field(path, 'minServed'), 1_000_000),
    allow: arr(o.allow, field(path, 'allow'), MAX_ACCEPT_PROVIDERS, key),
    deny: arr(o.deny, field(path, 'deny'), MAX_ACCEPT_PROVIDERS, key)
  }
}

/**
 * With `head` (the message's createdAt) the deadline is also bounded: at most MAX_BID_WINDOW_MS
 * after the order was made, so no order (nor its bids) stays open for longer than that anywhere.
 */
export function validateOrder (v: unknown, path: string, head?: MessageHead): OrderBody {
  const o = map(v, path, ['groups', 'manifestHash', 'bidDeadline'], ['accept'])
  const body: OrderBody = {
    groups: arr(o.groups, field(path, 'groups'), MAX_GROUPS, group, 1),
    manifestHash: bytes(o.manifestHash, field(path, 'manifestHash'), HASH_BYTES),
    bidDeadline: uint(o.bidDeadline, field(path, 'bidDeadline'))
  }
  if (o.accept !== undefined) body.accept = accept(o.accept, field(path, 'accept'))
  if (head != null && body.bidDeadline > head.createdAt + MAX_BID_WINDOW_MS) {
    throw schemaError(field(path, 'bidDeadline'), `must be at most ${MAX_BID_WINDOW_MS} ms after the order's createdAt (it is ${body.bidDeadline - head.createdAt} ms after)`)
  }
  return body
}

export const ORDER_TAG = MessageTag.ORDER
