// The Docker runtime's streams: a lease's logs, its containers' events, and commands run in a
// replica. Each is bounded in what it holds for a slow reader and ends when its signal aborts.
import { Readable } from 'node:stream'
import type Docker from 'dockerode'
import type { ContainerInfo } from 'dockerode'
import { LABEL_REPLICA, LABEL_SERVICE } from './constants.ts'
import { LeaseNotFoundError, RuntimeRequestError, RuntimeUnavailableError, ServiceNotFoundError } from './errors.ts'
import { mapDockerError } from './docker-client.ts'
import type { DockerCall } from './docker-client.ts'
import { leaseFilter, parseJsonLabel } from './docker-spec.ts'
import { checkLeaseId } from './manifest-plan.ts'
import { AsyncQueue, ByteQueue, DockerFrameDecoder, LineSplitter } from './streams.ts'
import type { ExecHandle, ExecOptions, ExecOutput, LogLine, LogOptions, RuntimeEvent } from './interface.ts'

/** what the streams need of the runtime: its client, its way of calling it, and a lease's containers */
export interface DockerLeaseAccess {
  docker: Docker
  call: DockerCall
  instance: string
  leaseContainers: (leaseId: string) => Promise<ContainerInfo[]>
}

export async function * dockerLogs (ctx: DockerLeaseAccess, leaseId: string, opts: LogOptions = {}): AsyncGenerator<LogLine> {
  const { docker, call } = ctx
  checkLeaseId(leaseId)
  const containers = (await ctx.leaseContainers(leaseId)).filter((c) => opts.service == null || c.Labels[LABEL_SERVICE] === opts.service)
  if (containers.length === 0) {
    if (opts.service != null) throw new ServiceNotFoundError(leaseId, opts.service)
    throw new LeaseNotFoundError(leaseId)
  }
  const streams: NodeJS.ReadableStream[] = []
  // bounded in bytes: a reader that falls behind pauses the containers' log streams
  const queue = new ByteQueue<LogLine>({
    size: (l) => l.line.length + l.replica.length,
    pause: () => { for (const s of streams) s.pause() },
    resume: () => { for (const s of streams) s.resume() }
  })
  const abort = new AbortController()
  const onAbort = (): void => { abort.abort() }
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  if (opts.signal?.aborted === true) abort.abort()
  let open = containers.length
  const done = (err?: unknown): void => {
    if (err != null && !abort.signal.aborted) { queue.end(mapDockerError(err, 'container.logs')); return }
    if (--open === 0) queue.end()
  }
  const consume = (stream: NodeJS.ReadableStream, feed: (chunk: Uint8Array) => void, flush: () => void): void => {
    streams.push(stream)
    if (queue.bytes > 0) stream.pause()
    stream.on('data', (chunk: Uint8Array) => { try { feed(chunk) } catch (err) { done(err) } })
    stream.on('end', () => { flush(); done() })
    stream.on('error', (err) => { flush(); done(abort.signal.aborted ? undefined : err) })
  }
  for (const c of containers) {
    const service = c.Labels[LABEL_SERVICE] ?? ''
    const replica = (c.Names[0] ?? c.Id).replace(/^\//, '')
    const decoder = new DockerFrameDecoder()
    const splitters = { stdout: new LineSplitter(), stderr: new LineSplitter() }
    const feed = (chunk: Uint8Array): void => {
      for (const f of decoder.push(chunk)) {
        for (const line of splitters[f.stream].push(f.data)) queue.push({ service, replica, stream: f.stream, line })
      }
    }
    const flush = (): void => {
      for (const stream of ['stdout', 'stderr'] as const) {
        for (const line of splitters[stream].flush()) queue.push({ service, replica, stream, line })
      }
    }
    const container = docker.getContainer(c.Id)
    const base = { stdout: true as const, stderr: true as const, tail: opts.tail != null ? opts.tail : 'all' as unknown as number, abortSignal: abort.signal }
    if (opts.follow === true) {
      call('container.logs', async () => await container.logs({ ...base, follow: true }), { timeout: false }).then((stream) => {
        consume(stream, feed, flush)
      }, (err) => { done(abort.signal.aborted ? undefined : err) })
    } else {
      // the engine answers with the whole log at once (at most logMaxSize × logMaxFiles); it is
      // handed on in pieces, as fast as the reader takes them
      call('container.logs', async () => await container.logs({ ...base, follow: false })).then((buf) => {
        const pieces: Uint8Array[] = []
        for (let i = 0; i < buf.length; i += 64 * 1024) pieces.push(buf.subarray(i, i + 64 * 1024))
        consume(Readable.from(pieces, { objectMode: false }), feed, flush)
      }, (err) => { done(err) })
    }
  }
  abort.signal.addEventListener('abort', () => { queue.end() }, { once: true })
  try {
    yield * queue
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
    abort.abort()
    for (const s of streams) (s as unknown as { destroy?: () => void }).destroy?.()
  }
}

export async function * dockerEvents (ctx: DockerLeaseAccess, leaseId: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<RuntimeEvent> {
  const { docker, call } = ctx
  checkLeaseId(leaseId)
  const abort = new AbortController()
  const onAbort = (): void => { abort.abort() }
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  if (opts.signal?.aborted === true) return
  const queue = new AsyncQueue<RuntimeEvent>(1000)
  const stream = await call('events', async () => await docker.getEvents({ filters: { ...leaseFilter(leaseId, ctx.instance), type: ['container'] }, abortSignal: abort.signal }))
  const splitter = new LineSplitter()
  stream.on('data', (chunk: Uint8Array) => {
    for (const line of splitter.push(chunk)) {
      const e = parseJsonLabel<{ Action?: string, timeNano?: number, time?: number, Actor?: { ID?: string, Attributes?: Record<string, string> } } | null>(line, null)
      if (e?.Action == null) continue
      const attrs = e.Actor?.Attributes ?? {}
      const type = e.Action.split(':')[0].trim()
      const evt: RuntimeEvent = { type, leaseId, time: e.timeNano != null ? Math.floor(e.timeNano / 1e6) : (e.time ?? 0) * 1000 }
      if (attrs[LABEL_SERVICE] != null) evt.service = attrs[LABEL_SERVICE]
      if (attrs.name != null) evt.replica = attrs.name
      if (type === 'die' && attrs.exitCode != null) evt.message = `exit code ${attrs.exitCode}`
      queue.push(evt)
    }
  })
  stream.on('end', () => { queue.end() })
  stream.on('error', (err) => { queue.end(abort.signal.aborted ? undefined : mapDockerError(err, 'events')) })
  abort.signal.addEventListener('abort', () => { queue.end() }, { once: true })
  try {
    yield * queue
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
    abort.abort()
    ;(stream as unknown as { destroy?: () => void }).destroy?.()
  }
}

export async function dockerExec (ctx: DockerLeaseAccess, leaseId: string, opts: ExecOptions): Promise<ExecHandle> {
  const { docker, call } = ctx
  checkLeaseId(leaseId)
  if (!Array.isArray(opts.command) || opts.command.length === 0 || opts.command.some((c) => typeof c !== 'string')) {
    throw new RuntimeRequestError('exec: command must be a non-empty list of strings')
  }
  const containers = await ctx.leaseContainers(leaseId)
  if (containers.length === 0) throw new LeaseNotFoundError(leaseId)
  const target = containers
    .filter((c) => c.Labels[LABEL_SERVICE] === opts.service && c.State === 'running')
    .filter((c) => opts.replica == null || c.Labels[LABEL_REPLICA] === String(opts.replica))
    .sort((a, b) => Number(a.Labels[LABEL_REPLICA]) - Number(b.Labels[LABEL_REPLICA]))[0]
  if (target == null) throw new ServiceNotFoundError(leaseId, opts.service)
  const tty = opts.tty === true
  const ex = await call('exec.create', async () => await docker.getContainer(target.Id).exec({
    Cmd: opts.command, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: tty
  }))
  const stream = await call('exec.start', async () => await ex.start({ hijack: true, stdin: true, Tty: tty }))
  // bounded in bytes: output the reader has not taken yet pauses the exec's stream
  const queue = new ByteQueue<ExecOutput>({ size: (o) => o.data.length, pause: () => { stream.pause() }, resume: () => { stream.resume() } })
  const decoder = new DockerFrameDecoder()
  stream.on('data', (chunk: Uint8Array) => {
    if (tty) { queue.push({ stream: 'stdout', data: new Uint8Array(chunk) }); return }
    try {
      for (const f of decoder.push(chunk)) queue.push(f)
    } catch (err) { queue.end(err) }
  })
  const finished = new Promise<void>((resolve) => {
    stream.on('end', () => { resolve() })
    stream.on('close', () => { resolve() })
    stream.on('error', () => { resolve() })
  })
  const exitCode = finished.then(async () => {
    queue.end()
    // the exit code lands a moment after the stream closes
    for (let i = 0; i < 50; i++) {
      const info = await call('exec.inspect', async () => await ex.inspect())
      if (!info.Running && info.ExitCode != null) return info.ExitCode
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    throw new RuntimeUnavailableError('exec finished but Docker reported no exit code')
  })
  exitCode.catch(() => {})
  const onAbort = (): void => { (stream as unknown as { destroy: () => void }).destroy() }
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  void finished.then(() => opts.signal?.removeEventListener('abort', onAbort))
  const writable = stream as unknown as NodeJS.WritableStream
  return {
    stdin: {
      write: (data) => { writable.write(typeof data === 'string' ? data : Buffer.from(data)) },
      end: () => { writable.end() }
    },
    output: queue,
    exitCode
  }
}
