// Keeps every node's committee chain current. Validators announce the chain when an epoch starts
// (and now and then, for late joiners); any node adopts a chain that verifies from its own
// genesis and extends the one it holds (never a fork that replaces a file it has, such as one
// signed by a retired epoch's keys), and stores it, so certificates of the new epoch check out
// offline. Each file knows where its epoch ends, so a certificate of an epoch at or past the
// next epoch's start is refused.
import { join } from 'node:path'
import { signMessage, MessageTag, toHex } from '../wire/index.ts'
import type { CommitteeChainBody, SignedMessage } from '../wire/index.ts'
import { parseCommitteeFiles, verifyCommitteeChain, extendsChain, linkCommitteeChain } from '../committee/index.ts'
import type { CommitteeFile } from '../committee/index.ts'
import { Topic } from '../net/index.ts'
import type { SoukNode } from '../net/index.ts'
import { writeSecretFile } from '../identity/index.ts'
import type { Identity } from '../identity/index.ts'
import { committeeJson } from './genesis.ts'
import { errorMessage } from '../util/index.ts'
import type { Logger } from './logger.ts'

const ANNOUNCE_EVERY_MS = 60_000
/** extra announcements after an epoch starts: one gossip message can miss a node whose mesh is
 * still forming, and a node without the chain cannot check the new epoch's certificates */
const ANNOUNCE_AGAIN_MS = [1_000, 3_000, 10_000]

export interface CommitteeChainInit {
  /** the node home, and the committee file in it (relative), where a grown chain is stored */
  home: string
  file: string
  /** the chain the node starts with */
  files: CommitteeFile[]
  /** a validator: announces the chain on gossip */
  announcer: boolean
}

export interface CommitteeChainComponents {
  net: SoukNode
  identity: Identity
  logger: Logger
}

export interface CommitteeChain {
  files: () => CommitteeFile[]
  /** a chain this node learned itself (a validator's epoch event) */
  adopt: (files: CommitteeFile[]) => void
  /** called with the chain each time it grows */
  onChange: (fn: (files: CommitteeFile[]) => void) => void
  /** validators: publish the chain now, and regularly while the epoch is above 0 */
  announce: () => void
  /** listens for announced chains on gossip */
  start: () => void
  stop: () => void
}

export function committeeChain (init: CommitteeChainInit): (components: CommitteeChainComponents) => CommitteeChain {
  return (components) => createCommitteeChain(init, components)
}

function createCommitteeChain (init: CommitteeChainInit, components: CommitteeChainComponents): CommitteeChain {
  let files = linkCommitteeChain(init.files)
  const genesis = toHex(files[0].info.chain)
  const { net, identity, logger } = components
  const listeners: Array<(files: CommitteeFile[]) => void> = []
  const changed = (): void => { for (const fn of listeners) fn(files) }

  const store = (): void => {
    writeSecretFile(join(init.home, init.file), committeeJson(files), true).catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'could not store the committee chain'))
  }

  const consider = (next: CommitteeFile[], from: string): void => {
    if (next.length <= files.length) return
    if (!extendsChain(files, next)) {
      logger.warn({ from, epochs: next.length }, 'ignored a committee chain that does not extend the one held')
      return
    }
    try {
      verifyCommitteeChain(next)
    } catch (err) {
      logger.warn({ from, err: errorMessage(err) }, 'ignored a committee chain that does not verify')
      return
    }
    if (toHex(next[0].info.chain) !== genesis) return
    files = linkCommitteeChain(next)
    logger.info({ epoch: files.at(-1)!.info.epoch }, 'committee chain updated')
    store()
    changed()
  }

  const undo: Array<() => void> = []

  let timer: NodeJS.Timeout | undefined
  const again: NodeJS.Timeout[] = []
  const publish = (): void => {
    if (files.length < 2) return
    const msg = signMessage<CommitteeChainBody>(identity, MessageTag.COMMITTEE_CHAIN, { chain: new TextEncoder().encode(JSON.stringify(JSON.parse(committeeJson(files)))) })
    net.gossip.publish(Topic.LEASES, msg).catch(() => {})
  }

  return {
    files: () => files,
    adopt (next) {
      // a validator's own chain extends what it announced before; anything else is not taken
      if (extendsChain(files, next)) { files = linkCommitteeChain(next); store(); changed() }
      if (!init.announcer) return
      publish()
      for (const t of again.splice(0)) clearTimeout(t)
      for (const ms of ANNOUNCE_AGAIN_MS) again.push(setTimeout(publish, ms).unref())
    },
    onChange (fn) { listeners.push(fn) },
    announce () {
      if (!init.announcer) return
      publish()
      timer ??= setInterval(publish, ANNOUNCE_EVERY_MS).unref()
    },
    start () {
      // The committee's own traffic runs on its stream protocol; nothing travels on the committee
      // gossip topic, so anything offered there is refused before its signature is checked.
      undo.push(net.gossip.addPrecheck(Topic.COMMITTEE, () => 'nothing travels on the committee topic: validators talk on /souk/committee/1.0.0'))
      undo.push(net.gossip.onMessage(Topic.LEASES, (m: SignedMessage) => {
        if (m.tag !== MessageTag.COMMITTEE_CHAIN) return
        // gossip validation checked the body against the message's tag
        const body = m.body as CommitteeChainBody
        try {
          consider(parseCommitteeFiles(Buffer.from(body.chain).toString('utf8'), 'announced committee chain'), toHex(m.signer))
        } catch {}
      }))
    },
    stop () {
      for (const u of undo.splice(0)) u()
      if (timer != null) clearInterval(timer)
      for (const t of again.splice(0)) clearTimeout(t)
    }
  }
}
