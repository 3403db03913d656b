// Coalesced socket writes for a stream transport (TCP). Every layer of a libp2p connection
// (gossipsub's length prefix, yamux's frame header, noise's length and ciphertext) hands the
// socket its own small buffer, and the TCP transport writes each one: a single gossip message to
// one peer costs several system calls. Corking the socket until the end of the current tick turns
// everything written in one turn of the event loop into one writev; the bytes on the wire and
// their order are unchanged.
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'

interface Corkable { cork: () => void, uncork: () => void, destroyed?: boolean }

/** Wraps a connection so that what it sends in one tick reaches the socket as one write. */
export function coalesceWrites (maConn: MultiaddrConnection): MultiaddrConnection {
  const conn = maConn as MultiaddrConnection & { socket?: Corkable, sendData?: (data: unknown) => unknown }
  const socket = conn.socket
  const sendData = conn.sendData
  if (socket == null || typeof socket.cork !== 'function' || typeof sendData !== 'function') return maConn
  let corked = false
  const uncork = (): void => {
    corked = false
    if (socket.destroyed !== true) socket.uncork()
  }
  conn.sendData = function (data: unknown) {
    if (!corked && socket.destroyed !== true) {
      corked = true
      socket.cork()
      process.nextTick(uncork)
    }
    return sendData.call(this, data)
  }
  return maConn
}

function wrapUpgrader (upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get (target, prop, receiver) {
      if (prop === 'upgradeInbound') return async (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeInbound']>[1]) => await target.upgradeInbound(coalesceWrites(maConn), opts)
      if (prop === 'upgradeOutbound') return async (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeOutbound']>[1]) => await target.upgradeOutbound(coalesceWrites(maConn), opts)
      const v = Reflect.get(target, prop, receiver)
      return typeof v === 'function' ? v.bind(target) : v
    }
  })
}

/** A transport whose connections coalesce their writes (see coalesceWrites). */
export function withCoalescedWrites<C> (factory: (components: C) => Transport): (components: C) => Transport {
  return (components) => {
    const transport = factory(components)
    return new Proxy(transport, {
      get (target, prop, receiver) {
        if (prop === 'dial') return async (ma: Parameters<Transport['dial']>[0], opts: Parameters<Transport['dial']>[1]) => await target.dial(ma, { ...opts, upgrader: wrapUpgrader(opts.upgrader) })
        if (prop === 'createListener') return (opts: Parameters<Transport['createListener']>[0]) => target.createListener({ ...opts, upgrader: wrapUpgrader(opts.upgrader) })
        const v = Reflect.get(target, prop, receiver)
        return typeof v === 'function' ? v.bind(target) : v
      }
    })
  }
}
