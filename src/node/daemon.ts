// The daemon: a node plus its control socket and metrics endpoint, stopped cleanly on SIGINT or
// SIGTERM (in-flight work drains, the store closes) or through the control API.
import { join, dirname } from 'node:path'
import { statfsSync } from 'node:fs'
import { writeFile, rm, chmod, mkdir } from 'node:fs/promises'
import { flushCompileCache } from 'node:module'
import { createNode } from './create-node.ts'
import { StoreError, StoreErrorCode, storeFailure, MIN_FREE_BYTES } from '../store/index.ts'
import type { Souk } from './create-node.ts'
import { loadConfig } from '../config/index.ts'
import { controlServer, metricsServer } from '../api/index.ts'
import { registerRoutes } from './control-routes.ts'
import { createLogger } from './logger.ts'
import { reachabilityWatch } from './reachability-watch.ts'

export const CONTROL_SOCKET = 'control.sock'
/** written once the daemon is ready: pid, peer ID, addresses, metrics port */
export const READY_FILE = 'node.json'
/** free space below which the store's disk counts as full */
const DISK_FULL_BYTES = 1024 * 1024
const DISK_WATCH_MS = 2_000

export function controlSocketPath (home: string): string {
  return join(home, CONTROL_SOCKET)
}

export interface DaemonHandle { node: Souk, stopped: Promise<void>, stop: () => Promise<void> }

/**
 * A store that fails under a running node (its disk full, its file damaged) ends the process at
 * once with one clear line: whatever could not be recorded was not sent, and going on without
 * the record of what it signs is the one thing a node must not do. Other uncaught errors keep
 * Node's own handling.
 */
function exitOnStoreFailure (storePath: string, logger: ReturnType<typeof createLogger>): () => void {
  const onFatal = (err: unknown): void => {
    const failure = err instanceof StoreError && (err.code === StoreErrorCode.DISK_FULL || err.code === StoreErrorCode.CORRUPT) ? err : storeFailure(storePath, err, 'writing to it')
    if (failure == null) return
    try { logger.error({ code: failure.code }, failure.message) } catch {}
    try { process.stderr.write(`error: ${failure.message}\n`) } catch {}
    process.exit(1)
  }
  process.on('uncaughtExceptionMonitor', onFatal)
  // Writes that fail inside the roles are not all thrown this far (a vote that cannot be recorded
  // is dropped, not sent): the disk itself is watched too, so a full one is said and ends the node.
  let warned = false
  const watch = setInterval(() => {
    let free: number
    try { const f = statfsSync(dirname(storePath)); free = Number(f.bavail) * Number(f.bsize) } catch { return }
    if (free < DISK_FULL_BYTES) {
      onFatal(new StoreError(StoreErrorCode.DISK_FULL, `the disk holding the store ${storePath} is full (${Math.floor(free / 1024)} KiB free); the node stops rather than go on without recording what it signs. Free space and start it again (docs/recovery.md)`))
    } else if (free < MIN_FREE_BYTES && !warned) {
      warned = true
      logger.warn({ freeBytes: free }, `the disk holding the store ${storePath} is nearly full; the node stops when it is`)
    } else if (free >= MIN_FREE_BYTES) warned = false
  }, DISK_WATCH_MS)
  watch.unref()
  // a log on a full disk fails to write; that must not be what stops the node
  const ignore = (): void => {}
  process.stderr.on('error', ignore)
  process.stdout.on('error', ignore)
  return () => {
    clearInterval(watch)
    process.off('uncaughtExceptionMonitor', onFatal)
    process.stderr.off('error', ignore)
    process.stdout.off('error', ignore)
  }
}

export async function startDaemon (home: string, opts: { set?: string[] } = {}): Promise<DaemonHandle> {
  await mkdir(home, { recursive: true, mode: 0o700 })
  await chmod(home, 0o700).catch(() => {})
  const config = await loadConfig({ home, set: opts.set })
  const logger = createLogger({ level: config.log.level, name: 'souk' })
  const unwatch = exitOnStoreFailure(join(home, 'store.db'), logger)
  let node
  try {
    node = await createNode({ home, config, logger })
  } catch (err) {
    unwatch()
    throw err
  }
  // a test network lives on loopback on purpose: nothing to warn about there
  const reach = reachabilityWatch({ mustBeReachable: !config.network.testNetwork && node.config.roles.some((r) => r === 'provider' || r === 'validator') })({
    addresses: () => node.net.multiaddrs(),
    onAddressChange: (fn) => { node.net.libp2p.addEventListener('self:peer:update', fn); return () => { node.net.libp2p.removeEventListener('self:peer:update', fn) } },
    logger
  })
  const control = controlServer({ socketPath: controlSocketPath(home) })
  const metrics = metricsServer({ host: config.api.metricsHost, port: config.api.metricsPort }, { registry: node.metrics })
  let resolveStopped: () => void = () => {}
  const stopped = new Promise<void>((resolve) => { resolveStopped = resolve })
  let stopping: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopping ??= (async () => {
      logger.info('stopping')
      reach.stop()
      await control.stop().catch(() => {})
      await metrics.stop().catch(() => {})
      await node.stop()
      await rm(join(home, READY_FILE), { force: true })
      unwatch()
      logger.info('stopped')
      resolveStopped()
    })()
    await stopping
  }
  const { port } = await metrics.start()
  registerRoutes(control, node, { metricsPort: port, stop: () => { void stop() } })
  await control.start()
  await writeFile(join(home, READY_FILE), JSON.stringify({ pid: process.pid, peerId: node.peerId, addresses: node.net.multiaddrs(), roles: node.config.roles, metricsPort: port }, null, 2) + '\n', { mode: 0o600 })
  logger.info({ peerId: node.peerId, roles: node.config.roles, addresses: node.net.multiaddrs(), reachability: reach.current, metrics: `http://${config.api.metricsHost}:${port}/metrics` }, 'node started')
  reach.start()
  // every module the node needs is loaded now: writing the compile cache here rather than at exit
  // lets the next start (after a crash or a kill too) skip compiling and type stripping
  flushCompileCache()
  return { node, stopped, stop }
}
