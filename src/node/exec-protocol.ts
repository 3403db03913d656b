// The exec protocol lives in net/protocols/exec.ts; here a node serves it with its lease book
// saying which leases are closed, unless the caller says so itself.
import { handleExec as serveExec } from '../net/index.ts'
import type { ExecStarter, SoukNode } from '../net/index.ts'
import { leaseBookOf } from './lease-book.ts'

export * from '../net/protocols/exec.ts'

export async function handleExec (net: SoukNode, start: ExecStarter, init: { isClosed?: (leaseIdHex: string) => boolean } = {}): Promise<() => Promise<void>> {
  return await serveExec(net, start, { isClosed: init.isClosed ?? ((id: string) => leaseBookOf(net.gossip)?.lease(id)?.state === 'closed') })
}
