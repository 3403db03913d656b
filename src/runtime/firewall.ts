// The lease firewall on a Docker host: a lease's containers reach each other and the internet,
// and nothing else. Two chains per lease network, installed in one iptables-restore transaction
// before any container of the lease starts, removed when the lease ends:
//
//   DOCKER-USER -i <bridge> → SOUK-F-<h>   traffic the host forwards for the lease (to other
//                                          networks): within the lease, replies, allowed ranges
//                                          pass; private, link-local, special and the host's own
//                                          networks are rejected; the rest (the internet) passes
//   INPUT       -i <bridge> → SOUK-I-<h>   traffic to any address of the host itself (the bridge
//                                          gateway included): only replies to connections the
//                                          host opened (published ports) pass
//
// Every jump carries the comment `souk:<instance>:<lease ID>`, so a restarted provider finds its
// rules, repairs those of active leases and removes the rest, and never touches another
// provider's. Docker's own rules (DOCKER-ISOLATION) keep lease networks apart as well.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { PRIVATE_IPV4, hostNetworks, parseCidr } from './address-ranges.ts'
import { SandboxUnavailableError } from './errors.ts'
import { errorMessage } from '../util/index.ts'

export interface LeaseFirewallInit {
  /** owner of the rules: a firewall lists and removes only rules carrying its own instance */
  instance: string
  /** IPv4 ranges leases may reach although they are private (a provider's service it sells access to) */
  allow?: string[]
  /** more IPv4 ranges leases must not reach */
  block?: string[]
  /** also block the networks the host's interfaces are on (its LAN); default true */
  blockHostNetworks?: boolean
  /** path of the iptables binary; iptables-restore is looked up beside it */
  iptables?: string
}

export interface LeaseFirewall {
  /** throws SandboxUnavailableError when rules cannot be read or written here */
  check: () => Promise<void>
  /** installs, or repairs, the rules of one lease network; idempotent */
  install: (leaseId: string, bridge: string) => Promise<void>
  /** removes the rules of a lease; idempotent */
  remove: (leaseId: string) => Promise<void>
  /** lease IDs this instance has rules for */
  leases: () => Promise<string[]>
  /** the ranges as they are applied now */
  describe: () => { allow: string[], block: string[] }
}

const IPTABLES_TIMEOUT_MS = 20_000

interface Run { code: number, stdout: string, stderr: string }

function run (file: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: IPTABLES_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err == null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err != null && code === -1 ? errorMessage(err) : '') })
    })
    if (input != null) child.stdin?.end(input)
  })
}

/** per-lease chain names: short (iptables allows 28 characters) and owned by instance and lease */
export function chainNames (instance: string, leaseId: string): { forward: string, input: string } {
  const h = createHash('sha256').update(`${instance}\u0000${leaseId}`).digest('hex').slice(0, 12)
  return { forward: `SOUK-F-${h}`, input: `SOUK-I-${h}` }
}

export function leaseFirewall (init: LeaseFirewallInit): LeaseFirewall {
  const iptables = init.iptables ?? 'iptables'
  const restore = iptables.endsWith('iptables') ? `${iptables}-restore` : 'iptables-restore'
  const instance = init.instance.replace(/[^A-Za-z0-9_.-]/g, '-')
  const allow = (init.allow ?? []).map((c) => parseCidr(c)).filter((c) => c.family === 4).map((c) => c.text)
  const extraBlock = (init.block ?? []).map((c) => parseCidr(c)).filter((c) => c.family === 4).map((c) => c.text)
  const comment = (leaseId: string): string => `souk:${instance}:${leaseId}`

  function blocked (): string[] {
    const list = [...PRIVATE_IPV4, ...extraBlock, ...(init.blockHostNetworks === false ? [] : hostNetworks())]
    return [...new Set(list)]
  }

  async function ipt (args: string[], what: string): Promise<Run> {
    const r = await run(iptables, ['-w', '10', ...args])
    if (r.code !== 0) throw new SandboxUnavailableError('firewall', `${what} failed (iptables ${args.join(' ')}): ${r.stderr.trim() || `exit ${r.code}`}`)
    return r
  }

  /** rules of a chain as argument lists, from `iptables -S <chain>` */
  async function rules (chain: string): Promise<string[][]> {
    const r = await ipt(['-S', chain], `reading chain ${chain}`)
    return r.stdout.split('\n').filter((l) => l.startsWith('-A ')).map(splitRule)
  }

  /** our jump rules in a built-in or Docker chain: lease ID → the rules (as `-A …` argument lists) */
  async function jumps (chain: string): Promise<Map<string, string[][]>> {
    const out = new Map<string, string[][]>()
    const prefix = `souk:${instance}:`
    for (const r of await rules(chain)) {
      const i = r.indexOf('--comment')
      const c = i >= 0 ? r[i + 1] : undefined
      if (c == null || !c.startsWith(prefix)) continue
      const id = c.slice(prefix.length)
      out.set(id, [...(out.get(id) ?? []), r])
    }
    return out
  }

  async function check (): Promise<void> {
    const r = await run(iptables, ['-w', '10', '-S', 'DOCKER-USER'])
    if (r.code === 0) return
    const why = /Permission denied|must be root/i.test(r.stderr)
      ? 'the provider must run as root (or with CAP_NET_ADMIN) on the Docker host'
      : /No chain|does not exist/i.test(r.stderr)
        ? 'the Docker engine does not manage iptables here (no DOCKER-USER chain)'
        : r.stderr.trim() || `iptables exited ${r.code}`
    throw new SandboxUnavailableError('firewall', `lease network rules cannot be installed: ${why}`)
  }

  async function install (leaseId: string, bridge: string): Promise<void> {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) throw new SandboxUnavailableError('firewall', `bridge name ${JSON.stringify(bridge)} is not an interface name`)
    // an engine in another network namespace (or on another machine) would get no protection from rules made here
    if (!existsSync(`/sys/class/net/${bridge}`)) throw new SandboxUnavailableError('firewall', `the lease network's bridge ${bridge} is not in this host's network namespace: the Docker engine must run on this host for souk to isolate its leases`)
    const { forward, input } = chainNames(instance, leaseId)
    const c = comment(leaseId)
    const lines = ['*filter', `:${forward} - [0:0]`, `:${input} - [0:0]`]
    // forwarded: out of the lease's bridge to anywhere else
    lines.push(`-A ${forward} -o ${bridge} -j RETURN`)
    lines.push(`-A ${forward} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`)
    for (const a of allow) lines.push(`-A ${forward} -d ${a} -j RETURN`)
    for (const b of blocked()) lines.push(`-A ${forward} -d ${b} -j REJECT --reject-with icmp-admin-prohibited`)
    lines.push(`-A ${forward} -j RETURN`)
    // addressed to the host itself
    lines.push(`-A ${input} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`)
    lines.push(`-A ${input} -j REJECT --reject-with icmp-admin-prohibited`)
    // the jumps: added when missing; a jump for another bridge (a recreated network) is replaced
    for (const [chain, target] of [['DOCKER-USER', forward], ['INPUT', input]] as const) {
      const mine = (await jumps(chain)).get(leaseId) ?? []
      const want = ['-A', chain, '-i', bridge, '-m', 'comment', '--comment', c, '-j', target]
      let present = false
      for (const r of mine) {
        if (!present && r.join(' ') === want.join(' ')) { present = true; continue }
        lines.push(['-D', ...r.slice(1)].map(quote).join(' '))
      }
      if (!present) lines.push(['-I', chain, '1', ...want.slice(2)].map(quote).join(' '))
    }
    lines.push('COMMIT', '')
    const r = await run(restore, ['--noflush', '-w', '10'], lines.join('\n'))
    if (r.code !== 0) throw new SandboxUnavailableError('firewall', `installing the rules of lease ${leaseId.slice(0, 16)}… failed: ${r.stderr.trim() || `exit ${r.code}`}`)
  }

  async function remove (leaseId: string): Promise<void> {
    for (const chain of ['DOCKER-USER', 'INPUT']) {
      for (const r of (await jumps(chain)).get(leaseId) ?? []) await ipt(['-D', ...r.slice(1)], 'removing a lease rule')
    }
    const { forward, input } = chainNames(instance, leaseId)
    for (const chain of [forward, input]) {
      const exists = await run(iptables, ['-w', '10', '-S', chain])
      if (exists.code !== 0) continue
      await ipt(['-F', chain], 'flushing a lease chain')
      await ipt(['-X', chain], 'deleting a lease chain')
    }
  }

  async function leases (): Promise<string[]> {
    const ids = new Set<string>()
    for (const chain of ['DOCKER-USER', 'INPUT']) for (const id of (await jumps(chain)).keys()) ids.add(id)
    return [...ids]
  }

  return { check, install, remove, leases, describe: () => ({ allow: [...allow], block: blocked() }) }
}

/** `-A X -m comment --comment "a b" -j Y` → its arguments, quotes removed */
function splitRule (line: string): string[] {
  const out: string[] = []
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g
  for (let m = re.exec(line); m != null; m = re.exec(line)) out.push(m[1] != null ? m[1].replace(/\\(.)/g, '$1') : m[2])
  return out
}

function quote (arg: string): string {
  return /^[A-Za-z0-9_.:/,=+-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\])/g, '\\$1')}"`
}
