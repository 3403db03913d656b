// Commands of a running validator node, through its control API.
import type { CommitteeView, ControlClient } from '../../../api/index.ts'
import { peerIdOfPublicKey } from '../../../identity/index.ts'
import { print, printJson } from '../../output.ts'
import type { JsonOptions } from './options.ts'

const peerOfHex = (k: string): string => peerIdOfPublicKey(Buffer.from(k, 'hex'))

/** What `committee status` prints, from the answer of GET /v1/committee (bytes arrive as hex). */
export function committeeStatusLines (r: CommitteeView): string[] {
  const st = r.status
  const out: string[] = []
  const last = r.files[r.files.length - 1]
  if (st == null) {
    return [`this node is not a validator; committee epoch ${last.epoch}, ${last.validators.length} validators, threshold ${last.threshold}`]
  }
  out.push(`epoch       ${st.epoch}${st.validator ? '' : ' (this node is not a member)'}`)
  out.push(`height      ${st.height}  ${st.idle ? 'idle: nothing to order; the next batch starts when work arrives' : `round ${st.round}  step ${st.step}`}`)
  out.push(`leader      ${peerOfHex(st.leader)}`)
  out.push(`pool        ${st.pool} items, ${st.openOrders} open orders`)
  out.push(`signatures  ${st.verified} checked, ${st.verifyAdopted ?? 0} taken from gossip, ${st.verifyCacheHits} seen before, ${st.rejected} refused, ${st.shed ?? 0} late bids not checked`)
  out.push(`evidence    ${st.evidence}`)
  for (const m of st.members) {
    const p = st.peers.find((x) => x.peer === peerOfHex(m))
    const state = p == null ? '' : p.behind > 0 ? `behind by ${p.behind} heights` : 'in step'
    out.push(`member      ${peerOfHex(m)}  ${state}`)
  }
  for (const c of st.changes) out.push(`change      ${c.action} ${peerOfHex(c.validator)}  ${c.approvals} approvals${c.approved ? ', approved' : ''}`)
  return out
}

export async function committeeStatus (client: ControlClient, opts: JsonOptions): Promise<void> {
  const r = await client.call('GET /v1/committee', {})
  if (opts.json === true) { printJson(r); return }
  for (const l of committeeStatusLines(r)) print(l)
}

export async function committeeEvidence (client: ControlClient, opts: JsonOptions): Promise<void> {
  const ev = await client.call('GET /v1/committee/evidence', {})
  if (opts.json === true) { printJson(ev); return }
  if (ev.length === 0) { print('no evidence'); return }
  for (const e of ev) print(`${e.kind}  validator ${e.validator != null ? peerOfHex(e.validator) : '?'}  height ${e.height ?? '?'}`)
}

export async function committeeJoin (client: ControlClient): Promise<void> {
  const r = await client.call('POST /v1/committee/join', {})
  print(`asked to join: change ${r.change}`)
  print('each current member approves with: souk committee approve <this node\'s peer ID>')
}

export async function committeeLeave (client: ControlClient): Promise<void> {
  const r = await client.call('POST /v1/committee/leave', {})
  print(`asked to leave: change ${r.change}`)
}

export async function committeeApprove (client: ControlClient, peer: string): Promise<void> {
  const r = await client.call('POST /v1/committee/approve', { body: { target: peer } })
  print(`approved change ${r.change}`)
}
