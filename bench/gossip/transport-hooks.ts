// Bench-side hooks on a running souk node's TCP transport: the WAN emulation on its dials, and a
// meter of the bytes its dialled connections carry. createSoukLibp2p takes no transport wrapper
// yet, so the benchmark reaches the transport through the node's components; once the node
// accepts one, `wanTransport` (src/net/wan) goes into its transport list instead.
import type { Socket } from 'node:net'
import type { Connection, MultiaddrConnection, Upgrader } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { SoukNode } from '../../src/net/index.ts'
import { wanDialer } from '../../src/net/wan/index.ts'
import type { WanDialInit } from '../../src/net/wan/index.ts'

/** bytes carried, both directions, by the connections a node dialled: each connection is counted once, by its dialer */
export class ByteMeter {
  private readonly open = new Set<Socket>()
  private closedBytes = 0
  track (s: Socket): void {
    this.open.add(s)
    s.once('close', () => { this.open.delete(s); this.closedBytes += s.bytesRead + s.bytesWritten })
  }

  total (): number {
    let t = this.closedBytes
    for (const s of this.open) t += s.bytesRead + s.bytesWritten
    return t
  }
}

function metering (upgrader: Upgrader, meter: ByteMeter): Upgrader {
  return new Proxy(upgrader, {
    get (target, prop, receiver) {
      if (prop === 'upgradeOutbound') {
        return async (maConn: MultiaddrConnection, opts: any) => {
          const socket = (maConn as { socket?: Socket }).socket
          if (socket != null) meter.track(socket)
          return await target.upgradeOutbound(maConn, opts)
        }
      }
      const v = Reflect.get(target, prop, receiver)
      return typeof v === 'function' ? v.bind(target) : v
    }
  })
}

/** Hooks the node's TCP dials: metered always, shaped once `wan()` gives dial settings. */
export function hookDials (node: SoukNode, meter: ByteMeter, wan: () => WanDialInit | undefined = () => undefined): void {
  const transports: any[] = (node.libp2p as any).components.transportManager.getTransports()
  const t = transports.find((x) => x[Symbol.toStringTag] === '@libp2p/tcp')
  if (t == null) throw new Error('the node has no TCP transport')
  // the prototype's dial, bound to the transport itself (the wrapper around it calls transport.dial)
  const protoDial = Object.getPrototypeOf(t).dial as (this: unknown, ma: Multiaddr, opts: any) => Promise<Connection>
  let shaped: ReturnType<typeof wanDialer> | undefined
  t.dial = async function (this: unknown, ma: Multiaddr, opts: any): Promise<Connection> {
    const o = { ...opts, upgrader: metering(opts.upgrader, meter) }
    const inner = async (m: Multiaddr, x: any): Promise<Connection> => await protoDial.call(this, m, x)
    if (shaped == null) { const init = wan(); if (init != null) shaped = wanDialer(init) }
    return shaped != null ? await shaped(ma, o, inner) : await inner(ma, o)
  }
}
