// The control API's requests and answers, as JSON carries them: one table for the daemon (which
// answers each route with a value whose JSON form has this shape, checked where the route is
// registered) and the CLI (whose client calls return these types). Bytes travel as lowercase hex,
// bigints as decimal text (json.ts); `Wire<T>` is a server value's type after that trip.
import type { CommitteeFileJson, CommitteeStatus } from '../committee/index.ts'

/** a value's type once toJsonText has written it and JSON.parse read it back */
export type Wire<T> =
  T extends Uint8Array ? string
    : T extends bigint ? string
      : T extends string | number | boolean | null | undefined ? T
        : T extends (...args: never[]) => unknown ? undefined
          : T extends AsyncIterable<infer U> ? AsyncIterable<Wire<U>>
          : T extends ReadonlyArray<infer U> ? Array<Wire<U>>
            : T extends object ? { [K in keyof T]: Wire<T[K]> }
              : T

/**
 * What a server may answer for a JSON shape: where the shape has text, bytes (sent as hex) and
 * bigints (sent as decimal) will do too. Literal types stay literal.
 */
export type Unwire<A> =
  A extends string ? (string extends A ? string | Uint8Array | bigint : A)
    : A extends AsyncIterable<infer U> ? AsyncIterable<Unwire<U>>
      : A extends Array<infer U> ? ReadonlyArray<Unwire<U>>
        : A extends object ? { [K in keyof A]: Unwire<A[K]> }
          : A

export interface PriceView { denom: string, amount: string }
export interface IssueView { path: string, message: string }
export interface ReasonView { code: string, message: string }
export interface ErrorView { code: string, message: string, detail?: unknown }

export interface NodeStatusView {
  peerId: string
  roles: string[]
  addresses: string[]
  reachability: string
  peers: number
  leases: number
  committee?: { height: number, round: number, epoch: number }
  home: string
  metricsPort?: number
}

export interface HealthCheckView { name: string, status: string, detail: string, fix?: string }
export interface HealthView { ok: boolean, failing: string[], checks: HealthCheckView[], time: number }

export interface ReloadView { changed: string[], apply: string[], refused: string[], applied: string[], reasons: Record<string, string> }

export interface BackupView { version: number, peerId: string, roles: string[], live: boolean, createdAt: number, host: string, home: string, files: string[] }

export interface ServiceLineView { name: string, ready: number, count: number, urls: string[] }

/** a tenant's deployment, without its order and manifest bytes */
export interface DeploymentView {
  order: string
  state: string
  createdAt: number
  bidDeadline: number
  totals: string
  provider?: string
  prices?: PriceView[]
  bids?: number
  services?: ServiceLineView[]
  reason?: string
  sequence?: number
}

export interface DryRunAnswerView { provider: string, outcome: 'bid' | 'declined' | 'no-answer', prices?: PriceView[], reasons: ReasonView[] }
export interface DryRunView { totals: string, notices: IssueView[], answers: DryRunAnswerView[] }

/** the details deploy and failover progress events carry; each event type sets some of them */
export interface ProgressDetailView {
  totals?: string
  services?: ServiceLineView[]
  noticeList?: IssueView[]
  order?: string
  bidDeadline?: number
  bids?: number
  provider?: string
  prices?: PriceView[]
  height?: number
  state?: string
  silentMs?: number
  reason?: string
  code?: string
  failover?: number
  of?: number
  excluded?: string[]
  failovers?: number
  /** deploy:queued: this node's open orders, the most it keeps open, deployments in line */
  open?: number
  max?: number
  queued?: number
}
export interface ProgressEventView { type: string, detail?: ProgressDetailView }

/** one NDJSON line of POST /v1/deploy: progress, then the outcome or an error */
export type DeployLine = { event: ProgressEventView, result?: undefined, error?: undefined }
| { result: DeploymentView, event?: undefined, error?: undefined }
| { error: ErrorView, event?: undefined, result?: undefined }

export interface ProviderLeaseView { lease: string, state: string, tenant: string, closeReason?: string, error?: string }
export interface LeasesView { tenant: DeploymentView[], provider: ProviderLeaseView[] }

export interface LeaseEventView { time: number, type: string, service?: string, replica?: string, message?: string }
export interface ReplicaView { name: string, state: string, restarts: number, message?: string }
export interface DeployedServiceView { name: string, ready: number, count: number, urls?: Array<{ url: string }>, replicas?: ReplicaView[] }
export interface LeaseStatusView {
  deployment: DeploymentView
  provider?: {
    state?: string
    statusError?: string
    deployed?: { services?: DeployedServiceView[], notices?: IssueView[] }
    recent?: LeaseEventView[]
  }
  error?: { message: string }
  chain?: Array<{ order: string, state: string, provider?: string, reason?: string }>
  history?: Array<{ time: number, type: string, order: string, message: string }>
}
export interface LogLineView { service: string, line: string }

export interface UsageStatementView { sequence: number, periodStart: number, periodEnd: number, amount: PriceView, total: PriceView, statement?: string, ack?: unknown }
export interface UsageView { side: 'tenant' | 'provider', statements: UsageStatementView[] }

export interface OrdersView {
  mine: Array<{ order: string, state: string, createdAt: number, bidDeadline: number, bids?: number, totals: string, reason?: string }>
  open: Array<{ order: string, tenant: string, bidDeadline: number, groups: number }>
}

export interface SandboxView {
  error?: string
  ociRuntime?: string
  userNamespaces?: boolean
  network?: { isolation: string, allowed: string[] }
  storage?: { ephemeral: string, persistent: string, ram: string }
  notes?: string[]
}
export interface ResourcesView { cpu: number, memory: number, gpus: unknown[] }
export interface ProviderStatusView {
  runtime: string
  sandbox?: SandboxView
  declinedStorage?: Array<{ kind: string, why: string }>
  acceptedUnenforcedStorage?: Array<{ kind: string, why: string }>
  attributes: Record<string, unknown>
  capacity: ResourcesView
  free: ResourcesView
  reservations: Array<{ state: string }>
  leases: ProviderLeaseView[]
  runtimeEndpoint?: unknown
}

/** what a node reports of a provider's record */
export interface ProviderRecordView {
  provider: string
  providerKey: string
  record: { won: number, served: number, lost: number, failed: number, uncounted: number }
  /** height of the last final batch the figures include (the highest among the agreeing validators) */
  height: number
  /** `ledger`: this node is a validator; `validators`: `agreeing` validators gave these figures */
  source: 'ledger' | 'validators'
  agreeing: number
  /** validators asked, and how many answered */
  asked: number
  answered: number
  /** the f + 1 that had to agree */
  needed: number
}

export interface DecisionView { order: string, outcome: 'bid' | 'declined', reasons: ReasonView[], prices?: PriceView[], state?: string }

export interface CommitteeView { status?: Wire<CommitteeStatus>, files: CommitteeFileJson[] }
export interface EvidenceView { kind: string, validator?: string, height?: number, round?: number, key?: string }
export interface ChangeView { change: string, action: 'join' | 'leave' }
export interface ApproveView { change: string, approval: string }

/** a shell over POST /v1/leases/:id/exec: the first line the client sends */
export interface ExecStart { service?: string, command: string[], tty: boolean }
/** the lines after it */
export type ExecInput = { stdin: string, eof?: undefined } | { eof: true, stdin?: undefined }
/** what the daemon sends back: output (base64), then the exit code or an error */
export interface ExecOutput { stream?: 'stdout' | 'stderr', data?: string, exit?: number, error?: ErrorView }

/** a route's request body and answer; `line` routes answer with NDJSON, one value of that type a line */
interface Json<Body, Answer> { body: Body, answer: Answer, line?: undefined }
interface Lines<Body, Line> { body: Body, line: Line, answer?: undefined }

/** Every JSON route of the control API, by `METHOD /pattern`. */
export interface ControlRoutes {
  'GET /v1/node': Json<undefined, NodeStatusView>
  'GET /v1/health': Json<undefined, HealthView>
  'POST /v1/node/reload': Json<{ set?: string[] }, ReloadView>
  'POST /v1/node/backup': Json<{ dir: string }, BackupView>
  'POST /v1/node/stop': Json<undefined, { stopping: boolean }>
  'POST /v1/deploy/dry-run': Json<DeployRequest, DryRunView>
  'POST /v1/deploy': Lines<DeployRequest, DeployLine>
  'GET /v1/leases': Json<undefined, LeasesView>
  'GET /v1/leases/:id': Json<undefined, LeaseStatusView>
  'GET /v1/leases/:id/logs': Lines<undefined, LogLineView>
  'GET /v1/leases/:id/events': Lines<undefined, LeaseEventView>
  'POST /v1/leases/:id/update': Json<{ sdl: string }, DeploymentView>
  'POST /v1/leases/:id/close': Json<{ reason?: string }, DeploymentView>
  'GET /v1/leases/:id/usage': Json<undefined, UsageView>
  'GET /v1/orders': Json<undefined, OrdersView>
  'GET /v1/provider': Json<undefined, ProviderStatusView>
  'GET /v1/providers/:peer/record': Json<undefined, ProviderRecordView>
  'GET /v1/provider/explain/:order': Json<undefined, DecisionView>
  'GET /v1/committee': Json<undefined, CommitteeView>
  'GET /v1/committee/evidence': Json<undefined, EvidenceView[]>
  'POST /v1/committee/join': Json<undefined, ChangeView>
  'POST /v1/committee/leave': Json<undefined, ChangeView>
  'POST /v1/committee/approve': Json<{ target: string }, ApproveView>
}

export interface DeployRequest { sdl: string, bidWindowMs?: number, failover?: boolean }

export type RouteKey = keyof ControlRoutes
/** routes answered with one JSON value */
export type JsonRouteKey = { [K in RouteKey]: ControlRoutes[K]['line'] extends undefined ? K : never }[RouteKey]
/** routes answered with NDJSON lines */
export type LinesRouteKey = Exclude<RouteKey, JsonRouteKey>
export type RouteAnswer<K extends RouteKey> = Exclude<ControlRoutes[K]['answer'], undefined>
export type RouteLine<K extends RouteKey> = Exclude<ControlRoutes[K]['line'], undefined>
export type RouteBody<K extends RouteKey> = ControlRoutes[K]['body']

/** the path parameters a pattern names, e.g. { id } for /v1/leases/:id */
type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}` ? Name | ParamNames<`/${Rest}`> : P extends `${string}:${infer Name}` ? Name : never
type PatternOf<K extends string> = K extends `${string} ${infer P}` ? P : never
export type RouteParams<K extends RouteKey> = Record<ParamNames<PatternOf<K>>, string>

/** what a call names besides its route: path parameters, query and body, each when the route has them */
export type RouteArgs<K extends RouteKey> =
  (ParamNames<PatternOf<K>> extends never ? { params?: undefined } : { params: RouteParams<K> }) &
  (RouteBody<K> extends undefined ? { body?: undefined } : { body: RouteBody<K> }) &
  { query?: Record<string, string>, signal?: AbortSignal }

/** splits `METHOD /pattern` */
export function routeParts (key: RouteKey): { method: 'GET' | 'POST', pattern: string } {
  const [method, pattern] = key.split(' ') as ['GET' | 'POST', string]
  return { method, pattern }
}
