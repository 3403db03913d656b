// The daemon: a node plus its control socket and metrics endpoint, stopped cleanly on SIGINT or
// SIGTERM (in-flight work drains, the store closes) or through the control API.
import { join } from 'node:path'
import { writeFile, rm, chmod, mkdir } from 'node:fs/promises'
import { createNode } from '../node.ts'
import type { Souk } from '../node.ts'
import { loadConfig } from '../config/index.ts'
import { controlServer, metricsServer } from '../api/index.ts'
import { registerRoutes } from './control-routes.ts'
import { createLogger } from './logger.ts'
import { reachabilityWatch } from './reachability-watch.ts'

export const CONTROL_SOCKET = 'control.sock'
/** written once the daemon is ready: pid, peer ID, addresses, metrics port */
export const READY_FILE = 'node.json'

export function controlSocketPath (home: string): string {
  return join(home, CONTROL_SOCKET)
}

export interface DaemonHandle { node: Souk, stopped: Promise<void>, stop: () => Promise<void> }

export async function startDaemon (home: string, opts: { set?: string[] } = {}): Promise<DaemonHandle> {
  await mkdir(home, { recursive: true, mode: 0o700 })
  await chmod(home, 0o700).catch(() => {})
  const config = await loadConfig({ home, set: opts.set })
  const logger = createLogger({ level: config.log.level, name: 'souk' })
  const node = await createNode({ home, config, logger })
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
  return { node, stopped, stop }
}
