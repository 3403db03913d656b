// The Kubernetes runtime's streams: a lease's pod logs, the namespace's events, and commands run
// in a pod over the exec WebSocket. Each is bounded in what it holds for a slow reader and ends
// when its signal aborts.
import { PassThrough } from 'node:stream'
import * as k8s from '@kubernetes/client-node'
import { LABEL_SERVICE } from './constants.ts'
import { RuntimeRequestError, RuntimeUnavailableError, ServiceNotFoundError } from './errors.ts'
import { mapKubeError } from './kubernetes-client.ts'
import type { KubeCall } from './kubernetes-client.ts'
import { namespaceName, podState } from './kubernetes-objects.ts'
import type { Workload } from './kubernetes-objects.ts'
import { checkLeaseId } from './manifest-plan.ts'
import { ByteQueue, LineSplitter } from './streams.ts'
import type { ExecHandle, ExecOptions, ExecOutput, LogLine, LogOptions, RuntimeEvent } from './interface.ts'

/** what the streams need of the runtime: its clients, its way of calling them, and a lease's pods and workloads */
export interface KubeLeaseAccess {
  kc: k8s.KubeConfig
  core: k8s.CoreV1Api
  call: KubeCall
  /** how often events are polled */
  eventPollMs: number
  /** the lease's pods (of one service), by name; LeaseNotFoundError or ServiceNotFoundError when there are none */
  servicePods: (leaseId: string, service?: string) => Promise<k8s.V1Pod[]>
  currentWorkloads: (ns: string) => Promise<Workload[]>
}

export async function * kubernetesLogs (ctx: KubeLeaseAccess, leaseId: string, opts: LogOptions = {}): AsyncGenerator<LogLine> {
  const { core, call } = ctx
  checkLeaseId(leaseId)
  const pods = await ctx.servicePods(leaseId, opts.service)
  const ns = namespaceName(leaseId)
  if (opts.follow !== true) {
    for (const pod of pods) {
      opts.signal?.throwIfAborted()
      const service = pod.metadata?.labels?.[LABEL_SERVICE] ?? ''
      const text = await call('pod.log', async () => await core.readNamespacedPodLog({
        name: pod.metadata!.name!, namespace: ns, container: service, ...(opts.tail != null ? { tailLines: opts.tail } : {})
      }))
      const splitter = new LineSplitter()
      // Kubernetes merges stdout and stderr into one log
      for (const line of [...splitter.push(Buffer.from(String(text))), ...splitter.flush()]) yield { service, replica: pod.metadata!.name!, stream: 'stdout', line }
    }
    return
  }
  const sinks = new Set<PassThrough>()
  // bounded in bytes: a reader that falls behind pauses the pods' log streams
  const queue = new ByteQueue<LogLine>({
    size: (l) => l.line.length + l.replica.length,
    pause: () => { for (const x of sinks) x.pause() },
    resume: () => { for (const x of sinks) x.resume() }
  })
  const logApi = new k8s.Log(ctx.kc)
  const controllers = new Set<AbortController>()
  let stopped = false
  const stop = (): void => {
    stopped = true
    for (const c of controllers) c.abort()
    queue.end()
  }
  opts.signal?.addEventListener('abort', stop, { once: true })
  if (opts.signal?.aborted === true) stop()
  // one follow request per pod; an idle stream that the HTTP client times out is reopened
  // from that moment on, so a quiet service does not end the log
  const followPod = async (pod: k8s.V1Pod): Promise<void> => {
    const service = pod.metadata?.labels?.[LABEL_SERVICE] ?? ''
    const replica = pod.metadata!.name!
    // the client drops `tailLines: 0`; "from now" says the same
    let from: k8s.LogOptions = opts.tail === 0 ? { sinceTime: new Date().toISOString() } : opts.tail != null ? { tailLines: opts.tail } : {}
    while (!stopped) {
      const splitter = new LineSplitter()
      const outcome = await new Promise<'end' | 'idle'>((resolve, reject) => {
        const sink = new PassThrough()
        sinks.add(sink)
        sink.on('close', () => { sinks.delete(sink) })
        sink.on('pipe', (src: NodeJS.ReadableStream) => {
          src.on('error', (err: { cause?: { code?: string }, code?: string }) => {
            if (stopped) resolve('end')
            else if (err?.cause?.code === 'UND_ERR_BODY_TIMEOUT' || err?.code === 'UND_ERR_BODY_TIMEOUT') resolve('idle')
            else reject(err)
          })
        })
        sink.on('data', (chunk: Buffer) => { for (const line of splitter.push(chunk)) queue.push({ service, replica, stream: 'stdout', line }) })
        sink.on('end', () => { resolve('end') })
        logApi.log(namespaceName(leaseId), replica, service, sink, { follow: true, ...from })
          .then((c) => { controllers.add(c); if (stopped) c.abort() }, reject)
      })
      for (const line of splitter.flush()) queue.push({ service, replica, stream: 'stdout', line })
      if (outcome === 'end') return
      from = { sinceTime: new Date().toISOString() }
    }
  }
  Promise.all(pods.map(followPod)).then(() => { queue.end() }, (err) => { queue.end(stopped ? undefined : mapKubeError(err, 'pod.log')) })
  try {
    yield * queue
  } finally {
    opts.signal?.removeEventListener('abort', stop)
    stop()
  }
}

export async function * kubernetesEvents (ctx: KubeLeaseAccess, leaseId: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<RuntimeEvent> {
  const { core, call } = ctx
  checkLeaseId(leaseId)
  const ns = namespaceName(leaseId)
  const seen = new Set<string>()
  const pollMs = ctx.eventPollMs
  while (opts.signal?.aborted !== true) {
    const list = await call('event.list', async () => await core.listNamespacedEvent({ namespace: ns }))
    const services = (await ctx.currentWorkloads(ns)).map((w) => w.obj.metadata?.name ?? '')
    for (const e of list.items) {
      const id = e.metadata?.uid ?? `${e.metadata?.name}/${e.count ?? 1}`
      if (seen.has(id)) continue
      seen.add(id)
      if (seen.size > 10_000) seen.delete(seen.values().next().value as string)
      const obj = e.involvedObject?.name ?? ''
      const svc = services.find((s) => obj === s || obj.startsWith(`${s}-`))
      const t = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp
      const evt: RuntimeEvent = { type: e.reason ?? 'Unknown', leaseId, time: t != null ? new Date(t as unknown as string).getTime() : Date.now() }
      if (svc != null) evt.service = svc
      if (obj !== '') evt.replica = obj
      if (e.message != null) evt.message = e.message
      yield evt
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pollMs)
      opts.signal?.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
    })
  }
}

export async function kubernetesExec (ctx: KubeLeaseAccess, leaseId: string, opts: ExecOptions): Promise<ExecHandle> {
  const { call } = ctx
  checkLeaseId(leaseId)
  if (!Array.isArray(opts.command) || opts.command.length === 0 || opts.command.some((c) => typeof c !== 'string')) {
    throw new RuntimeRequestError('exec: command must be a non-empty list of strings')
  }
  const pods = (await ctx.servicePods(leaseId, opts.service)).filter((p) => podState(p).state === 'running')
  const pod = opts.replica != null ? pods.find((p) => p.metadata?.name?.endsWith(`-${opts.replica}`)) : pods[0]
  if (pod == null) throw new ServiceNotFoundError(leaseId, opts.service)
  let socket: { pause?: () => void, resume?: () => void } | undefined
  // bounded in bytes: output the reader has not taken yet pauses the exec's web socket
  const queue = new ByteQueue<ExecOutput>({ size: (o) => o.data.length, pause: () => { socket?.pause?.() }, resume: () => { socket?.resume?.() } })
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const stdin = new PassThrough()
  stdout.on('data', (d: Buffer) => { queue.push({ stream: 'stdout', data: new Uint8Array(d) }) })
  stderr.on('data', (d: Buffer) => { queue.push({ stream: 'stderr', data: new Uint8Array(d) }) })
  let resolveCode!: (code: number) => void
  let rejectCode!: (err: unknown) => void
  const exitCode = new Promise<number>((resolve, reject) => { resolveCode = resolve; rejectCode = reject })
  exitCode.catch(() => {})
  const ws = await call('pod.exec', async () => await new k8s.Exec(ctx.kc).exec(namespaceName(leaseId), pod.metadata!.name!, opts.service, opts.command, stdout, stderr, stdin, opts.tty === true, (st) => {
    if (st.status === 'Success') resolveCode(0)
    else {
      const cause = st.details?.causes?.find((c) => c.reason === 'ExitCode')
      if (cause?.message != null) resolveCode(Number(cause.message))
      else rejectCode(new RuntimeRequestError(`exec failed: ${st.message ?? 'unknown error'}`))
    }
  }))
  socket = ws as unknown as { pause?: () => void, resume?: () => void }
  ws.on('close', () => {
    queue.end()
    // no status frame before close means the connection broke
    setTimeout(() => { rejectCode(new RuntimeUnavailableError('exec connection closed without an exit status')) }, 50)
  })
  opts.signal?.addEventListener('abort', () => { ws.close() }, { once: true })
  return {
    stdin: { write: (data) => { stdin.write(typeof data === 'string' ? data : Buffer.from(data)) }, end: () => { stdin.end() } },
    output: queue,
    exitCode
  }
}
