// Every decoder a peer or a local user can reach, each with valid samples to mutate: signed
// messages of every type (opened alone and through the gossip validator of every topic), the
// frames of every stream protocol (manifest, lease, sync, usage, exec, explain 1 and 2, time), the committee's
// frames, payloads and files, lease certificates, key files, SDL deployment files and control
// API requests. Samples are made from fixed keys and times, so every run builds the same ones.
import { readFileSync, readdirSync } from 'node:fs'
import {
  signMessage, openMessage, encodeCbor, decodeCbor, encodeManifestFrame, decodeManifestFrame, sha256, MessageTag,
  ReplayWindows, MAX_ENVELOPE_BYTES
} from '../../src/wire/index.ts'
import type { Signer } from '../../src/wire/index.ts'
import { keypairFromSeed, identityFromSeed, encodeKeyFile, decodeKeyFile } from '../../src/identity/index.ts'
import {
  gossipValidator, PenaltyBook, Topic, FrameTag, FRAME_VERSION, GossipErrorCode, decodeLeaseRequest, decodeLeaseResponse, decodeSyncRequest,
  decodeSyncFrame, decodeSyncAsk, decodeCloseFrame, MAX_SYNC_REQUEST_BYTES, checkManifest, MAX_LEASE_FRAME_BYTES, MAX_SYNC_FRAME_BYTES, DEFAULT_TOPIC_POLICIES, decodeTimeFrame, MAX_TIME_FRAME_BYTES
} from '../../src/net/index.ts'
import type { ValidationResult } from '../../src/net/index.ts'
import {
  encodeFrame, decodeFrame, buildCommittee, decodeCommitteePayload, committeeFileToJson, parseCommitteeFiles, parseLeaseCertificate,
  leaseCertificateToJson, CommitteeTag
} from '../../src/committee/index.ts'
import { decodeExecRequest, decodeExecInput, decodeExecReply } from '../../src/net/index.ts'
import { decodeExplainRequest, decodeExplainAnswer } from '../../src/net/index.ts'
import { decodeRecordRequest, decodeRecordAnswer } from '../../src/net/index.ts'
import { decodeUsageStatementFrame, decodeUsageAnswerFrame } from '../../src/net/index.ts'
import { loadSdl } from '../../src/sdl/index.ts'
import { parseRequest, parseNdjsonLine, controlServer } from '../../src/api/index.ts'
import { registerRoutes } from '../../src/node/control-routes.ts'
import type { Souk } from '../../src/node/create-node.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { Rng, mutateBytes, mutateText, mutateTree, writeTree, clone } from './mutate.ts'

/** the fixed clock of every sample (and of the gossip validator) */
export const T = 1_750_000_000_000

export interface Target {
  name: string
  /** share of the inputs */
  weight: number
  kind: 'bytes' | 'text'
  /** an input may take at most this long, ms */
  boundMs: number
  /** input number `i` of this target under `rng` */
  input: (rng: Rng) => Uint8Array | string
  /** decodes one input: returns a value or throws (a typed error, if all is well) */
  run: (input: Uint8Array | string) => unknown
}

const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const tenant = keypairFromSeed(seed(1))
const provider = keypairFromSeed(seed(2))
const validator = keypairFromSeed(seed(3))
const fuzzer = keypairFromSeed(seed(4))
const h = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const u8 = (s: string): Uint8Array => new TextEncoder().encode(s)

let nonceCounter = 0
const nonce = (): Uint8Array => { const b = new Uint8Array(16); new DataView(b.buffer).setUint32(0, ++nonceCounter); return b }
const sign = (signer: Signer, tag: string, body: unknown, createdAt = T): Uint8Array => signMessage(signer, tag, body, { createdAt, nonce: nonce() }).bytes

const price = (amount: string): { denom: string, amount: string } => ({ denom: 'uakt', amount })

function orderBodies (): unknown[] {
  const res = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ service: 'web', cpu: 500, memory: 2 ** 29, storage: [{ name: 'default', size: 2 ** 30, persistent: false }], gpu: { units: 0, models: [] }, count: 1, price: price('10'), ...over })
  const group = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ name: 'dc1', attributes: { region: 'eu' }, signedBy: { allOf: [], anyOf: [] }, resources: [res()], maxPrice: price('100'), ...over })
  return [
    { groups: [group()], manifestHash: h(7), bidDeadline: T + 5_000 },
    {
      groups: [
        group({ resources: [res({ gpu: { units: 2, models: [{ vendor: 'nvidia', model: 'h100', ram: 80 * 2 ** 30, interface: 'sxm' }] }, storage: [{ name: 'data', size: 2 ** 34, persistent: true, class: 'beta3' }] }), res({ service: 'db', count: 3 })] }),
        group({ name: 'dc2', attributes: {}, signedBy: { allOf: ['akash1auditor'], anyOf: ['a', 'b'] }, maxPrice: price('0.000000000000000001') })
      ],
      manifestHash: h(8),
      bidDeadline: T + 600_000
    }
  ]
}

/** one valid signed envelope of every registered message type */
function envelopes (): Uint8Array[] {
  const order = orderBodies()
  const orderId = sha256(u8('order'))
  const out: Uint8Array[] = [
    sign(tenant, MessageTag.ORDER, order[0]),
    sign(tenant, MessageTag.ORDER, order[1]),
    sign(provider, MessageTag.BID, { order: orderId, prices: [price('5')], attributes: { region: 'eu', host: 'p1' }, auditors: [{ auditor: validator.publicKey, sig: new Uint8Array(64).fill(9) }], expiresAt: T + 65_000 }),
    sign(provider, MessageTag.BID, { order: orderId, prices: [price('5'), price('7.25')], attributes: {}, auditors: [], expiresAt: T + 3_600_000 }),
    sign(tenant, MessageTag.CLOSE, { lease: orderId, reason: 'done' }),
    sign(fuzzer, MessageTag.LEASE_CERTIFICATE, {
      order: orderId, bid: h(2), tenant: tenant.publicKey, provider: provider.publicKey, epoch: 0, height: 12, batch: h(3), index: 1,
      proof: [h(4), h(5)], signatures: [{ validator: 0, sig: new Uint8Array(64).fill(1) }, { validator: 2, sig: new Uint8Array(64).fill(2) }]
    }),
    sign(provider, MessageTag.USAGE_STATEMENT, { lease: orderId, sequence: 3, periodStart: T - 60_000, periodEnd: T, rate: price('0.3'), amount: price('3'), total: price('12') }),
    sign(tenant, MessageTag.USAGE_ACK, { lease: orderId, statement: h(6), sequence: 3 }),
    sign(tenant, MessageTag.MANIFEST_UPDATE, { lease: orderId, manifestHash: h(9), sequence: 2 }),
    sign(validator, MessageTag.ORDER_EXPIRED, { order: orderId, code: 'no-bids', reason: 'no bid was ordered before the bid deadline', height: 40 }),
    sign(validator, MessageTag.COMMITTEE_CHAIN, { chain: u8(JSON.stringify([committeeJson()])) }),
    sign(validator, CommitteeTag.VOTE, { epoch: 0, height: 5, round: 1, type: 'prevote', value: h(1) }),
    sign(validator, CommitteeTag.VOTE, { epoch: 0, height: 5, round: 0, type: 'precommit', value: new Uint8Array(0) }),
    sign(validator, CommitteeTag.PROPOSAL, { epoch: 0, height: 5, round: 1, validRound: 0, header: encodeCbor({ t: 'x', v: 1 }), leaseRoot: h(2), items: [h(3), h(4)], lastCommit: [new Uint8Array(100).fill(5)] }),
    sign(validator, CommitteeTag.CHANGE, { epoch: 0, action: 'join', validator: validator.publicKey }),
    sign(validator, CommitteeTag.APPROVE, { epoch: 0, change: h(7) })
  ]
  return out
}

let strangerCache: ReturnType<typeof keypairFromSeed>[] | undefined
/** a few more signers (keys the validator has not seen are its own path) */
function strangers (): ReturnType<typeof keypairFromSeed>[] {
  strangerCache ??= Array.from({ length: 16 }, (_, i) => keypairFromSeed(seed(100 + i)))
  return strangerCache
}

let committeeCache: ReturnType<typeof buildCommittee> | undefined
function committee (): ReturnType<typeof buildCommittee> {
  committeeCache ??= buildCommittee({ epoch: 0, startHeight: 1, genesisTime: T, validators: [validator.publicKey, provider.publicKey, tenant.publicKey, fuzzer.publicKey] })
  return committeeCache
}
function committeeJson (): unknown {
  return committeeFileToJson({ info: committee(), signatures: [{ validator: validator.publicKey, sig: validator.sign(new Uint8Array(1)) }] })
}

// ---- generic input makers ------------------------------------------------------------------------

/** CBOR inputs: byte mutations, tree mutations written canonically or loosely, random bytes */
function cborInput (samples: Uint8Array[]): (rng: Rng) => Uint8Array {
  const trees = samples.map((s) => decodeCbor(s, 8 * 1024 * 1024))
  return (rng) => {
    const r = rng.int(100)
    const i = rng.int(samples.length)
    if (r < 40) return mutateBytes(rng, samples[i], samples)
    if (r < 75) return writeTree(rng, mutateTree(rng, clone(trees[i])), false)
    if (r < 88) return writeTree(rng, rng.chance(0.5) ? clone(trees[i]) : mutateTree(rng, clone(trees[i])), true)
    if (r < 95) return samples[i]
    return rng.bytes(rng.int(200))
  }
}

/** signed envelopes: as cborInput, plus payloads mutated and signed again, so the changes reach the schemas and beyond */
function envelopeInput (samples: Uint8Array[]): (rng: Rng) => Uint8Array {
  const base = cborInput(samples)
  const payloads = samples.map((s) => decodeCbor((decodeCbor(s, MAX_ENVELOPE_BYTES) as Uint8Array[])[0], MAX_ENVELOPE_BYTES))
  return (rng) => {
    if (rng.int(100) >= 35) return base(rng)
    const p = clone(payloads[rng.int(payloads.length)]) as unknown[]
    // mostly the body; now and then the header (tag, version, time, nonce)
    if (rng.chance(0.85)) p[4] = mutateTree(rng, p[4])
    else mutateTree(rng, p)
    const payload = writeTree(rng, p, rng.chance(0.1))
    const signer = rng.chance(0.9) ? fuzzer : rng.pick(strangers())
    return writeTree(rng, [payload, signer.publicKey, signer.sign(payload)], rng.chance(0.05))
  }
}

function textInput (samples: string[]): (rng: Rng) => string {
  return (rng) => {
    const r = rng.int(100)
    const s = samples[rng.int(samples.length)]
    if (r < 90) return mutateText(rng, s, samples)
    if (r < 95) return s
    return String.fromCharCode(...rng.bytes(rng.int(300)))
  }
}

const asBytes = (x: Uint8Array | string): Uint8Array => typeof x === 'string' ? u8(x) : x
const asText = (x: Uint8Array | string): string => typeof x === 'string' ? x : Buffer.from(x).toString('utf8')

// ---- the targets ---------------------------------------------------------------------------------

export function targets (): Target[] {
  const env = envelopes()
  const frame = (t: string, rest: Record<string, unknown>): Uint8Array => encodeCbor({ t, v: FRAME_VERSION, ...rest })
  const out: Target[] = []

  out.push({ name: 'wire/envelope', weight: 14, kind: 'bytes', boundMs: 1000, input: envelopeInput(env), run: (b) => openMessage(asBytes(b)) })
  out.push({ name: 'wire/envelope-trusted', weight: 6, kind: 'bytes', boundMs: 1000, input: envelopeInput(env), run: (b) => openMessage(asBytes(b), { trusted: true }) })

  // the gossip validator of every topic, as a peer's bytes meet it
  const penalties = new PenaltyBook()
  const replay = new ReplayWindows({ capacity: Object.fromEntries(Object.entries(DEFAULT_TOPIC_POLICIES).map(([t, p]) => [t, p.replayCapacity ?? 10_000])) })
  const v = gossipValidator({ topics: DEFAULT_TOPIC_POLICIES })({ replay, penalties })
  const peer = peerIdFromString('12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA')
  // the validator answers with a verdict: an accepted message is a value, a refusal its typed
  // error; an internal failure (something thrown inside that was not a WireError) is untyped
  const verdict = (r: ValidationResult): unknown => {
    if (r.error == null) return r.message
    if (r.error.code === GossipErrorCode.INTERNAL) throw new Error(`the validator failed internally: ${r.error.message}`)
    throw r.error
  }
  for (const topic of Object.values(Topic)) {
    out.push({ name: `gossip${topic.slice('/souk/1'.length)}`, weight: 4, kind: 'bytes', boundMs: 1000, input: envelopeInput(env), run: (b) => verdict(v.validate(topic, peer, asBytes(b), T, { rateLimit: false })) })
  }

  // stream frames, decoded as FrameStream reads them (canonical CBOR), then by their protocol
  const fromFrame = (max: number, f: (v: unknown) => unknown) => (b: Uint8Array | string) => f(decodeCbor(asBytes(b), max, 'frame'))
  const manifestFrames = [
    encodeManifestFrame({ lease: h(1), manifest: u8('{"services":[]}'), sequence: 0 }),
    encodeManifestFrame({ lease: h(1), manifest: u8('{"services":[{"name":"web"}]}'), sequence: 1, update: env[8] })
  ]
  const terms = { tenant: tenant.publicKey, manifestHash: sha256(u8('{"services":[]}')) }
  out.push({
    name: 'frame/manifest',
    weight: 5,
    kind: 'bytes',
    boundMs: 1000,
    input: cborInput(manifestFrames),
    run: (b) => {
      const f = decodeManifestFrame(asBytes(b))
      return checkManifest(peerIdFromString('12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'), f, terms as any)
    }
  })
  const leaseRequests = [
    frame(FrameTag.LEASE_REQUEST, { type: 'status', lease: h(1) }),
    frame(FrameTag.LEASE_REQUEST, { type: 'logs', lease: h(1), follow: true, tail: 100, service: 'web' }),
    frame(FrameTag.LEASE_REQUEST, { type: 'close', lease: h(1), close: env[4] })
  ]
  out.push({ name: 'frame/lease-request', weight: 4, kind: 'bytes', boundMs: 1000, input: cborInput(leaseRequests), run: fromFrame(MAX_LEASE_FRAME_BYTES, decodeLeaseRequest) })
  const leaseResponses = [
    frame(FrameTag.LEASE_RESPONSE, { kind: 'status', status: { state: 'running', sequence: 0, deployed: { services: [{ name: 'web', ready: 1, count: 1, urls: [{ url: 'http://x', port: 80 }] }] } } }),
    frame(FrameTag.LEASE_RESPONSE, { kind: 'log', log: { service: 'web', replica: 'web-0', stream: 'stdout', line: 'hello' } }),
    frame(FrameTag.LEASE_RESPONSE, { kind: 'event', event: { type: 'started', time: T, service: 'web', replica: 'r', message: 'm' } }),
    frame(FrameTag.LEASE_RESPONSE, { kind: 'error', code: 'not-authorized', reason: 'no' }),
    frame(FrameTag.LEASE_RESPONSE, { kind: 'end' })
  ]
  out.push({ name: 'frame/lease-response', weight: 4, kind: 'bytes', boundMs: 1000, input: cborInput(leaseResponses), run: fromFrame(MAX_LEASE_FRAME_BYTES, decodeLeaseResponse) })
  out.push({ name: 'frame/sync-request', weight: 2, kind: 'bytes', boundMs: 1000, input: cborInput([frame(FrameTag.SYNC_REQUEST, { topic: Topic.ORDERS, limit: 100 }), frame(FrameTag.SYNC_REQUEST, { topic: Topic.BIDS })]), run: fromFrame(1024, decodeSyncRequest) })
  out.push({
    name: 'frame/sync-answer',
    weight: 3,
    kind: 'bytes',
    boundMs: 1000,
    input: cborInput([frame(FrameTag.SYNC_RESPONSE, { envelope: env[0] }), frame(FrameTag.SYNC_END, { count: 3 })]),
    run: fromFrame(MAX_SYNC_FRAME_BYTES, (x) => { const f = decodeSyncFrame(x); return f.kind === 'order' ? verdict(v.validate(Topic.ORDERS, peer, f.envelope, T, { rateLimit: 'signer' })) : f })
  })
  out.push({ name: 'frame/sync-closes-request', weight: 2, kind: 'bytes', boundMs: 1000, input: cborInput([frame(FrameTag.SYNC_CLOSES_REQUEST, { leases: [h(1), h(2)] }), frame(FrameTag.SYNC_REQUEST, { topic: Topic.ORDERS })]), run: fromFrame(MAX_SYNC_REQUEST_BYTES, decodeSyncAsk) })
  out.push({
    name: 'frame/sync-close',
    weight: 2,
    kind: 'bytes',
    boundMs: 1000,
    input: cborInput([frame(FrameTag.SYNC_CLOSE, { envelope: env[4] }), frame(FrameTag.SYNC_END, { count: 1 })]),
    run: fromFrame(MAX_SYNC_FRAME_BYTES, (x) => { const f = decodeCloseFrame(x); return f.kind === 'close' ? openMessage(f.envelope, { expect: MessageTag.CLOSE }) : f })
  })
  out.push({
    name: 'frame/usage-statement',
    weight: 3,
    kind: 'bytes',
    boundMs: 1000,
    input: cborInput([frame('souk/usage-statement', { statement: env[6] })]),
    run: fromFrame(MAX_ENVELOPE_BYTES + 1024, (x) => openMessage(decodeUsageStatementFrame(x), { expect: MessageTag.USAGE_STATEMENT }))
  })
  out.push({
    name: 'frame/usage-answer',
    weight: 2,
    kind: 'bytes',
    boundMs: 1000,
    input: cborInput([frame('souk/usage-answer', { ok: true, ack: env[7] }), frame('souk/usage-answer', { ok: false, code: 'ERR_USAGE_DISPUTED', reason: 'statement 0: too early' })]),
    run: fromFrame(MAX_ENVELOPE_BYTES + 1024, (x) => { const a = decodeUsageAnswerFrame(x); return a.ok ? openMessage(a.ack, { expect: MessageTag.USAGE_ACK }) : a })
  })
  out.push({ name: 'frame/exec-request', weight: 2, kind: 'bytes', boundMs: 1000, input: cborInput([frame('souk/exec-request', { lease: h(1), service: 'web', command: ['sh', '-c', 'echo hi'], tty: false })]), run: fromFrame(64 * 1024, decodeExecRequest) })
  out.push({ name: 'frame/exec-input', weight: 2, kind: 'bytes', boundMs: 1000, input: cborInput([frame('souk/exec-stdin', { data: u8('ls\n') }), frame('souk/exec-eof', {})]), run: fromFrame(64 * 1024, decodeExecInput) })
  out.push({
    name: 'frame/exec-reply',
    weight: 2,
    kind: 'bytes',
    boundMs: 1000,
    input: cborInput([frame('souk/exec-output', { stream: 'stdout', data: u8('hi\n') }), frame('souk/exec-exit', { code: 0 }), frame('souk/exec-error', { code: 'ERR_NOT_LEASE_TENANT', reason: 'no' })]),
    run: fromFrame(64 * 1024, decodeExecReply)
  })
  out.push({ name: 'frame/record-request', weight: 1, kind: 'bytes', boundMs: 1000, input: cborInput([frame('souk/record-request', { provider: h(1) })]), run: fromFrame(1024, decodeRecordRequest) })
  out.push({ name: 'frame/record-answer', weight: 1, kind: 'bytes', boundMs: 1000, input: cborInput([frame('souk/record-answer', { height: 12, won: 3, served: 2, lost: 1, failed: 0, uncounted: 0 })]), run: fromFrame(1024, decodeRecordAnswer) })
  out.push({ name: 'frame/explain-request', weight: 1, kind: 'bytes', boundMs: 1000, input: cborInput([frame('souk/explain-request', { order: h(1) })]), run: fromFrame(16 * 1024, decodeExplainRequest) })
  out.push({
    name: 'frame/explain-request-v2',
    weight: 3,
    kind: 'bytes',
    boundMs: 1000,
    input: cborInput([frame('souk/explain-request', { order: h(1), dryRun: env[0] }), frame('souk/explain-request', { order: h(1), dryRun: env[1] }), frame('souk/explain-request', { order: h(1) })]),
    // as the provider does: the frame, then the order envelope it carries
    run: fromFrame(MAX_ENVELOPE_BYTES + 1024, (x) => { const r = decodeExplainRequest(x, 2); return r.dryRun != null ? openMessage(r.dryRun, { expect: MessageTag.ORDER }) : r })
  })
  out.push({ name: 'frame/time', weight: 1, kind: 'bytes', boundMs: 1000, input: cborInput([frame(FrameTag.TIME, { now: T })]), run: fromFrame(MAX_TIME_FRAME_BYTES, decodeTimeFrame) })
  out.push({
    name: 'frame/explain-answer',
    weight: 2,
    kind: 'bytes',
    boundMs: 1000,
    input: cborInput([
      frame('souk/explain-answer', { decision: { outcome: 'declined', reasons: [{ code: 'ERR_PRICE_ABOVE_MAX', message: 'price 12 > max 10 uakt' }] } }),
      frame('souk/explain-answer', { decision: { outcome: 'bid', reasons: [], prices: [price('12'), price('0.5')] } }),
      frame('souk/explain-answer', {})
    ]),
    run: fromFrame(16 * 1024, decodeExplainAnswer)
  })

  // the committee's frames, payloads, files and certificates (decoders read-only from src/committee)
  const fin = { epoch: 0, height: 5, header: h(1), validator: validator.publicKey, sig: new Uint8Array(64).fill(3) }
  const committeeFrames = [
    encodeFrame({ kind: 'msg', body: env[11] }),
    encodeFrame({ kind: 'fin', body: fin }),
    encodeFrame({ kind: 'fsig', body: { epoch: 1, file: h(2), validator: validator.publicKey, sig: new Uint8Array(64).fill(4) } }),
    encodeFrame({ kind: 'status', body: { height: 5, round: 0, certified: 4 } }),
    encodeFrame({ kind: 'want', body: { ids: [h(1), h(2)] } }),
    encodeFrame({ kind: 'have', body: { msgs: [env[11], env[12]] } }),
    encodeFrame({ kind: 'sync', body: { from: 3 } }),
    encodeFrame({ kind: 'batches', body: { batches: [{ proposal: env[13], commit: [env[12]], signatures: encodeCbor([{ validator: 0, sig: new Uint8Array(64) }]) }] } }),
    encodeFrame({ kind: 'evidence', body: { kind: 'vote', a: env[11], b: env[12] } }),
    env[0]
  ]
  out.push({ name: 'committee/frame', weight: 6, kind: 'bytes', boundMs: 1000, input: cborInput(committeeFrames), run: (b) => decodeFrame(asBytes(b)) })
  out.push({ name: 'committee/payload', weight: 2, kind: 'bytes', boundMs: 1000, input: cborInput([committee().payload]), run: (b) => decodeCommitteePayload(asBytes(b)) })
  const cert = (openMessage(env[5]).body) as any
  out.push({
    name: 'committee/certificate',
    weight: 2,
    kind: 'bytes',
    boundMs: 1000,
    input: (rng) => rng.chance(0.5) ? cborInput([env[5], encodeCbor(cert)])(rng) : u8(textInput([JSON.stringify(leaseCertificateToJson(cert))])(rng)),
    run: (b) => parseLeaseCertificate(asBytes(b))
  })
  out.push({ name: 'committee/file-json', weight: 2, kind: 'text', boundMs: 2000, input: textInput([JSON.stringify(committeeJson(), null, 2), JSON.stringify([committeeJson(), committeeJson()])]), run: (t) => parseCommitteeFiles(asText(t)) })

  // what a local user hands the node: key files, deployment files, control API requests
  out.push({ name: 'identity/key-file', weight: 1, kind: 'text', boundMs: 1000, input: textInput([encodeKeyFile(identityFromSeed(seed(5)))]), run: (t) => decodeKeyFile(asText(t)) })
  out.push({ name: 'sdl', weight: 2, kind: 'text', boundMs: 5000, input: textInput(sdlSamples()), run: (t) => loadSdl(asText(t)) })
  const routes = apiRoutes()
  out.push({ name: 'api/request', weight: 3, kind: 'text', boundMs: 1000, input: textInput(apiSamples()), run: (t) => { const r = splitRequest(asText(t)); return parseRequest(routes, r.method, r.url, r.body) } })
  out.push({
    name: 'api/ndjson',
    weight: 1,
    kind: 'text',
    boundMs: 1000,
    input: textInput(['{"command":["sh"],"tty":true,"service":"web"}', '{"stdin":"bHMK"}', '{"eof":true}']),
    run: (t) => asText(t).split('\n').filter((l) => l.trim() !== '').map((l) => parseNdjsonLine(l))
  })
  return out
}

function sdlSamples (): string[] {
  const dirs = [new URL('../fixtures/sdl-corpus/', import.meta.url), new URL('../fixtures/sdl/valid/', import.meta.url)]
  const out: string[] = []
  for (const d of dirs) {
    for (const f of readdirSync(d).sort()) if (/\.ya?ml$/.test(f)) out.push(readFileSync(new URL(f, d), 'utf8'))
  }
  return out
}

function apiRoutes (): Array<{ method: string, pattern: string }> {
  const server = controlServer({ socketPath: '/nonexistent/souk-fuzz.sock' })
  // registering reads nothing from the node; the fuzzer never calls a handler
  registerRoutes(server, {} as unknown as Souk, { stop: () => {} })
  return server.routes()
}

function apiSamples (): string[] {
  const id = 'ab'.repeat(32)
  return [
    'GET /v1/node\n\n',
    'POST /v1/deploy\n\n{"sdl":"version: \\"2.0\\"\\nservices: {}\\n","bidWindowMs":2000}',
    `GET /v1/leases/${id}/logs?follow=1&tail=100&service=web\n\n`,
    `POST /v1/leases/${id}/close\n\n{"reason":"done"}`,
    `POST /v1/leases/${id}/update\n\n{"sdl":"x"}`,
    'POST /v1/committee/approve\n\n{"target":"12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"}',
    `GET /v1/provider/explain/${id}\n\n`,
    'GET /v1/orders\n\n'
  ]
}

/** "METHOD URL\n\nBODY" */
function splitRequest (text: string): { method: string, url: string, body: Uint8Array } {
  const nl = text.indexOf('\n')
  const first = nl < 0 ? text : text.slice(0, nl)
  const sp = first.indexOf(' ')
  const rest = nl < 0 ? '' : text.slice(nl + 1).replace(/^\n/, '')
  return { method: sp < 0 ? first : first.slice(0, sp), url: sp < 0 ? '/' : first.slice(sp + 1), body: u8(rest) }
}
