// AutoNAT v1 whose dial-backs open a fresh connection. @libp2p/autonat's server dials the
// address a peer asks it to check through the connection manager, which hands back the
// connection it already has to that peer (the one the request came over), and then refuses the
// result because its remote address is not the one asked for: no address was ever confirmed,
// so a node with a public address never announced it. Forcing a new dial is what AutoNAT means:
// can this address be reached from outside?
import { autoNAT } from '@libp2p/autonat'
import type { AutoNATServiceInit } from '@libp2p/autonat'

type Components = Parameters<ReturnType<typeof autoNAT>>[0]
type OpenConnection = Components['connectionManager']['openConnection']

/** autoNAT() whose server side dials each address anew */
export function freshDialAutoNAT (init: AutoNATServiceInit = {}): (components: Components) => unknown {
  const factory = autoNAT(init)
  return (components) => {
    const cm = components.connectionManager
    const forcing = new Proxy(cm, {
      get (target, prop, receiver) {
        if (prop === 'openConnection') {
          // the dial-back passes one multiaddr; the random walk that finds peers to ask passes a
          // peer's address list and may reuse a connection as usual
          return async (peer: Parameters<OpenConnection>[0], options: Parameters<OpenConnection>[1] = {}) => await target.openConnection(peer, Array.isArray(peer) ? options : { ...options, force: true })
        }
        const v = Reflect.get(target, prop, receiver)
        return typeof v === 'function' ? v.bind(target) : v
      }
    })
    const wrapped = new Proxy(components, {
      get (target, prop, receiver) {
        if (prop === 'connectionManager') return forcing
        return Reflect.get(target, prop, receiver)
      }
    })
    return factory(wrapped)
  }
}
