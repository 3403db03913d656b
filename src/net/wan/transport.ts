// The WAN emulation as a transport wrapper around libp2p's TCP transport. Every connection is
// shaped once, by the side that dials it: the dialer knows its own region and, from the address it
// dials, the listener's, so it can apply both directions of the path. The dial goes to a one-shot
// loopback listener whose accepted socket is joined to the real connection through a WanLink per
// direction (pipe.ts); libp2p gets an ordinary TCP socket and runs noise, yamux and every protocol
// over it, so all of them see the delay, jitter, loss and bandwidth cap. Inbound connections are
// left alone (their dialer shaped them), so every node of an emulated network must use the wrapper.
import { createServer, connect } from 'node:net'
import type { Server, Socket } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Connection, MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'

/** what a transport's dial is given: the upgrader, an abort signal and the rest */
type DialOptions = Parameters<Transport['dial']>[1]
import { WanError, WanErrorCode } from './errors.ts'
import { WanLink } from './link.ts'
import type { LinkParams } from './profiles.ts'
import { shapedPipe } from './pipe.ts'
import type { ShapedPipe } from './pipe.ts'
import { hashSeed } from './rng.ts'

/** host and port of a TCP multiaddr, and what follows them (say `/p2p/<id>`) */
export interface TcpTarget { host: string, port: number, rest: string }

/** the two directions of the path to one listener */
export interface PathLinks { out: LinkParams, back: LinkParams }

export interface WanDialInit {
  /** the path to a listener, or undefined to dial it unshaped */
  pathTo: (target: TcpTarget) => PathLinks | undefined
  /** seed of every link this dialer creates (with the target and a per-target count) */
  seed?: number | string
  /** names this dialer in link seeds, so two dialers with one seed draw differently */
  name?: string
  /** called with each shaped connection, e.g. to read its links' stats */
  onPipe?: (pipe: ShapedPipe, target: TcpTarget) => void
}

/** Splits `/ip4|ip6|dns4|dns6/<host>/tcp/<port>[/…]`; undefined for other transports (ws, circuit). */
export function tcpTarget (ma: Multiaddr): TcpTarget | undefined {
  const c = ma.getComponents()
  if (c.length < 2 || !['ip4', 'ip6', 'dns4', 'dns6', 'dns'].includes(c[0].name) || c[1].name !== 'tcp') return undefined
  if (c.slice(2).some((x) => x.name === 'ws' || x.name === 'wss' || x.name === 'tls' || x.name === 'p2p-circuit')) return undefined
  const port = Number(c[1].value)
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new WanError(WanErrorCode.BAD_ADDRESS, `bad TCP port in ${ma.toString()}`)
  const rest = c.slice(2).map((x) => `/${x.name}${x.value != null ? `/${x.value}` : ''}`).join('')
  return { host: c[0].value ?? '', port, rest }
}

const sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
    const onAbort = (): void => { clearTimeout(t); reject(signal?.reason ?? new Error('aborted')) }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

async function open (host: string, port: number, signal?: AbortSignal): Promise<Socket> {
  signal?.throwIfAborted()
  return await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host, port, allowHalfOpen: true, noDelay: true })
    const onAbort = (): void => { s.destroy(); reject(signal?.reason ?? new Error('aborted')) }
    signal?.addEventListener('abort', onAbort, { once: true })
    s.once('connect', () => { signal?.removeEventListener('abort', onAbort); s.removeAllListeners('error'); resolve(s) })
    s.once('error', (err) => { signal?.removeEventListener('abort', onAbort); reject(err) })
  })
}

async function oneShotListener (): Promise<{ server: Server, port: number, accepted: Promise<Socket> }> {
  const server = createServer({ allowHalfOpen: true, noDelay: true })
  const accepted = new Promise<Socket>((resolve) => server.once('connection', (s) => { server.close(); resolve(s) }))
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()) })
  return { server, port: (server.address() as { port: number }).port, accepted }
}

/** An upgrader that gives outbound connections the address really dialled, not the loopback hop's. */
function withRemoteAddr (upgrader: Upgrader, remoteAddr: Multiaddr): Upgrader {
  return new Proxy(upgrader, {
    get (target, prop, receiver) {
      if (prop === 'upgradeOutbound') {
        return async (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeOutbound']>[1]) => {
          (maConn as { remoteAddr: Multiaddr }).remoteAddr = remoteAddr
          return await target.upgradeOutbound(maConn, opts)
        }
      }
      const v = Reflect.get(target, prop, receiver)
      return typeof v === 'function' ? v.bind(target) : v
    }
  })
}

/**
 * Dials `ma` through an emulated path when `init.pathTo` has one for it, else dials it as is.
 * `inner` is the TCP transport's own dial.
 */
export function wanDialer (init: WanDialInit): (ma: Multiaddr, opts: DialOptions, inner: (ma: Multiaddr, opts: DialOptions) => Promise<Connection>) => Promise<Connection> {
  const counts = new Map<string, number>()
  return async (ma, opts, inner) => {
    const target = tcpTarget(ma)
    const path = target != null ? init.pathTo(target) : undefined
    if (target == null || path == null) return await inner(ma, opts)
    const key = `${target.host}:${target.port}`
    const n = (counts.get(key) ?? 0) + 1
    counts.set(key, n)
    const out = new WanLink(path.out, hashSeed(init.seed ?? 0, init.name ?? '', key, n, 'out'))
    const back = new WanLink(path.back, hashSeed(init.seed ?? 0, init.name ?? '', key, n, 'back'))
    const signal: AbortSignal | undefined = opts.signal
    const upstream = await open(target.host, target.port, signal)
    let local: Awaited<ReturnType<typeof oneShotListener>> | undefined
    try {
      // the TCP handshake costs a round trip before the first byte, as on the real path
      await sleep(path.out.delayMs + path.back.delayMs, signal)
      local = await oneShotListener()
      void local.accepted.then((s) => {
        const pipe = shapedPipe(s, upstream, out, back)
        init.onPipe?.(pipe, target)
      })
      return await inner(multiaddr(`/ip4/127.0.0.1/tcp/${local.port}${target.rest}`), { ...opts, upgrader: withRemoteAddr(opts.upgrader, ma) })
    } catch (err) {
      upstream.destroy()
      throw err
    } finally {
      local?.server.close()
    }
  }
}

/** Wraps a TCP transport factory so that its dials go through the WAN emulation. */
export function wanTransport<C> (factory: (components: C) => Transport, init: WanDialInit): (components: C) => Transport {
  return (components) => {
    const transport = factory(components)
    const dial = wanDialer(init)
    return new Proxy(transport, {
      get (target, prop, receiver) {
        if (prop === 'dial') return async (ma: Multiaddr, opts: DialOptions) => await dial(ma, opts, async (m, o) => await target.dial(m, o))
        const v = Reflect.get(target, prop, receiver)
        return typeof v === 'function' ? v.bind(target) : v
      }
    })
  }
}
