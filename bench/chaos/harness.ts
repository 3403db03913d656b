// The chaos harness: a devnet of real processes (each node its own home, SQLite store and, with
// `netns`, network namespace), a real Docker engine, a steady stream of deploys, updates and
// closes, and trials that each SIGKILL one node at a chosen point of the lease flow (or cut links
// between nodes), start it again from its home, and check every invariant once things settle.
import { join } from 'node:path'
import { writeFile, rm, readFile, cp } from 'node:fs/promises'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import type Docker from 'dockerode'
import { devnetUp, devnetDown, devnetKill, devnetStart, devnetRunning, devnetCut, devnetHeal, CRASH_POINT_FILE } from '../../src/node/devnet.ts'
import type { DevnetState, DevnetNode } from '../../src/node/devnet.ts'
import { dockerClient, LABEL_INSTANCE, LABEL_GENERATION, LABEL_LEASE } from '../../src/runtime/index.ts'
import { controlClient } from '../../src/api/index.ts'
import { controlSocketPath } from '../../src/node/daemon.ts'
import { CommitteeWatch, readWorld, keyOf } from './world.ts'
import { checkLeases } from './invariants.ts'
import type { Violation, Counter } from './invariants.ts'
import { workload } from './workload.ts'
import type { Workload } from './workload.ts'
import { rng } from './rng.ts'
import type { Rng } from './rng.ts'

/** how a trial hurts its victim */
export type Fault =
  /** the node kills itself right after committing a matching write (src/store/crash-points.ts) */
  | { type: 'point', point: string }
  /** the harness kills the node when the Docker engine reports a lease's container doing this (the victim's own, or those of provider `of`) */
  | { type: 'docker', event: 'rollout' | 'close', delayMs: number, of?: string }
  /** the harness kills the node this long into the trial */
  | { type: 'timed', afterMs: number }

export type PartitionShape = 'validator-alone' | 'two-against-two' | 'provider-from-tenant'

export type TrialPlan =
  | { kind: 'kill', victim: string, fault: Fault, downMs: number }
  | { kind: 'partition', shape: PartitionShape, holdMs: number }

export interface TrialResult {
  trial: number
  plan: TrialPlan
  /** how the victim went down: its crash point, the harness's kill, or the fallback kill when the point never came */
  died?: 'point' | 'harness' | 'fallback'
  restartMs?: number
  /** violations first seen in this trial */
  violations: Violation[]
  /** the service came back after the fault: a deploy went through end to end */
  resumed?: boolean
  /** for a partition: how far the committee's height moved while it held, per validator */
  progress?: Record<string, number>
  notes: string[]
}

export interface ChaosInit {
  dir: string
  seed: number
  providers?: number
  netns?: boolean
  dockerHost?: string
  log?: (line: string) => void
  /** how long a point may take to be reached before the harness kills the victim itself */
  armMs?: number
  /** how long to wait for the nodes to settle before checking */
  settleMs?: number
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

export const CRASH_POINTS: Record<DevnetNode['role'], string[]> = {
  validator: ['committee_signed/prevote', 'committee_signed/precommit', 'committee_signed/proposal', 'committee_signed/finalize', 'committee_batches'],
  // awaiting-manifest: the lease is won and the tenant is sending the manifest; deploying: the
  // containers are being made; running, closed: just after
  provider: ['node_records/provider-lease/awaiting-manifest', 'node_records/provider-lease/deploying', 'node_records/provider-lease/running', 'node_records/provider-lease/closed'],
  // ordering: saved, not yet published; leased: the manifest is on its way; deploying: accepted
  tenant: ['node_records/tenant-deployment/ordering', 'node_records/tenant-deployment/leased', 'node_records/tenant-deployment/deploying', 'node_records/tenant-deployment/running']
}

/** a seeded trial plan: which node, which fault */
export function choosePlan (R: Rng, state: DevnetState, opts: { partitions: boolean, roles?: Array<DevnetNode['role']> }): TrialPlan {
  const pick = R.next()
  if (opts.partitions && pick < 0.15) return { kind: 'partition', shape: R.pick(['validator-alone', 'two-against-two', 'provider-from-tenant'] as const), holdMs: R.int(3_000, 10_000) }
  let role: DevnetNode['role'] = pick < 0.5 ? 'validator' : pick < 0.78 ? 'provider' : 'tenant'
  if (opts.roles != null && !opts.roles.includes(role)) role = R.pick(opts.roles)
  const victim = R.pick(state.nodes.filter((n) => n.role === role)).name
  const downMs = R.int(0, 3_000)
  const f = R.next()
  let fault: Fault
  if (f < 0.12) fault = { type: 'timed', afterMs: R.int(500, 8_000) }
  else if (role === 'provider' && f < 0.3) fault = { type: 'docker', event: R.pick(['rollout', 'close'] as const), delayMs: R.int(0, 400) }
  else {
    const point = R.pick(CRASH_POINTS[role])
    const n = point.startsWith('committee') ? R.int(1, 4) : 1
    // a delay after the write: in the middle of what follows it (the manifest transfer, the containers starting)
    const delay = point.endsWith('/deploying') && role === 'provider'
      ? R.int(0, 1_500)
      : point.endsWith('/awaiting-manifest') || point.endsWith('/leased') ? R.int(0, 200) : 0
    fault = { type: 'point', point: `${point}:${n}${delay > 0 ? `:+${delay}` : ''}` }
  }
  return { kind: 'kill', victim, fault, downMs }
}

export function describePlan (p: TrialPlan): string {
  if (p.kind === 'partition') return `partition ${p.shape} for ${p.holdMs} ms`
  const f = p.fault
  const how = f.type === 'point' ? `at ${f.point}` : f.type === 'docker' ? `on docker ${f.event}${f.of != null ? ` of ${f.of}` : ''} +${f.delayMs} ms` : `after ${f.afterMs} ms`
  return `kill ${p.victim} ${how}, down ${p.downMs} ms`
}

export class Chaos {
  readonly state: DevnetState
  readonly docker: Docker
  readonly watch: CommitteeWatch
  readonly wl: Workload
  readonly R: Rng
  readonly seen = new Set<string>()
  readonly totals: Record<Counter, number> = { leases_lost: 0, orphans: 0, conflicting_votes: 0, diverged_views: 0 }
  readonly results: TrialResult[] = []
  restartFailures = 0
  private readonly init: ChaosInit
  private readonly log: (line: string) => void
  private sampler: NodeJS.Timeout | undefined
  private trials = 0
  /** starts what the trial runs during its fault: the workload, or the trial's own requests */
  private start: () => void = () => { this.wl.resume() }

  private constructor (init: ChaosInit, state: DevnetState, docker: Docker) {
    this.init = init
    this.state = state
    this.docker = docker
    this.log = init.log ?? (() => {})
    this.R = rng(init.seed)
    this.watch = new CommitteeWatch(state)
    this.wl = workload({ tenant: this.node('tenant'), rng: this.R.fork(), onOutcome: (o) => this.log(`  op ${o.kind} ${o.ok ? 'ok' : `failed: ${(o.error ?? '').slice(0, 160)}`}${o.order != null ? ` ${o.order.slice(0, 12)}` : ''} (${o.ms} ms)`) })
  }

  static async start (init: ChaosInit): Promise<Chaos> {
    const dockerHost = init.dockerHost ?? process.env.DOCKER_HOST
    const state = await devnetUp(init.dir, {
      validators: 4,
      providers: init.providers ?? 1,
      netns: init.netns === true,
      crashPoints: true,
      dockerHost,
      bidWindowMs: 500,
      settings: {
        // a lease whose tenant never sends the manifest is closed soon, so trials settle quickly
        // room for 128 of the example's leases: leases a fault leaves behind must not starve the trials after it
        // the provider runs in a network namespace of its own, away from the engine's bridge and its
        // DOCKER-USER chain: the lease firewall cannot be installed from there (tested on its own)
        provider: { manifestTimeoutMs: 8_000, cpu: 32, sandbox: '{ firewall: off }' }, // cpu in souk.yaml's unit: CPUs
        tenant: { decisionTimeoutMs: 15_000 }
      }
    })
    const c = new Chaos(init, state, dockerClient(dockerHost))
    c.sampler = setInterval(() => { c.watch.sample().catch((err: any) => c.log(`  sample failed: ${String(err?.message ?? err)}`)) }, 400)
    return c
  }

  node (name: string): DevnetNode { return this.state.nodes.find((n) => n.name === name)! }
  get dir (): string { return this.state.dir }

  async stop (): Promise<void> {
    clearInterval(this.sampler)
    await this.wl.pause()
    await devnetDown(this.dir).catch(() => {})
  }

  /**
   * One trial: the fault while the workload runs (or while `drive` does its own requests: a
   * reproducer that needs one exact sequence), the restart, then the check.
   */
  async trial (plan: TrialPlan, drive?: () => Promise<unknown>): Promise<TrialResult> {
    const trial = ++this.trials
    const r: TrialResult = { trial, plan, violations: [], notes: [] }
    this.log(`trial ${trial}: ${describePlan(plan)}`)
    let driven: Promise<unknown> | undefined
    if (drive != null) this.start = () => { driven ??= drive().catch((err: any) => { r.notes.push(`drive: ${String(err?.message ?? err)}`) }) }
    else this.start = () => { this.wl.resume() }
    if (plan.kind === 'kill') await this.kill(plan, r)
    else await this.partition(plan, r)
    await this.wl.pause()
    await driven
    r.violations = await this.check(trial)
    this.results.push(r)
    return r
  }

  private async kill (plan: Extract<TrialPlan, { kind: 'kill' }>, r: TrialResult): Promise<void> {
    const victim = this.node(plan.victim)
    const f = plan.fault
    const crashFile = join(victim.home, CRASH_POINT_FILE)
    let harnessKill: Promise<boolean> | undefined
    let stopEvents: (() => void) | undefined
    if (f.type === 'point') await writeFile(crashFile, f.point)
    else if (f.type === 'timed') {
      const t = setTimeout(() => { harnessKill = devnetKill(this.dir, victim.name) }, f.afterMs)
      stopEvents = () => clearTimeout(t)
    } else {
      stopEvents = await this.onDockerEvent(f.of != null ? this.node(f.of) : victim, f.event, () => {
        setTimeout(() => { harnessKill ??= devnetKill(this.dir, victim.name) }, f.delayMs)
      })
    }
    this.start()
    const until = Date.now() + (this.init.armMs ?? 30_000)
    while (Date.now() < until && await devnetRunning(this.dir, victim.name)) await sleep(100)
    stopEvents?.()
    await rm(crashFile, { force: true })
    if (await devnetRunning(this.dir, victim.name)) {
      // the point never came within the window: a crash at a random moment instead
      await devnetKill(this.dir, victim.name)
      r.died = 'fallback'
    } else {
      r.died = harnessKill != null ? 'harness' : 'point'
      await harnessKill
    }
    if (r.died === 'point') {
      const log = await readFile(join(victim.home, 'node.log'), 'utf8').catch(() => '')
      const line = log.split('\n').reverse().find((l) => l.startsWith('crash point reached'))
      if (line != null) r.notes.push(line)
    }
    // the store as the crash left it, before the node reads it again
    if (victim.role === 'validator') await this.watch.sample()
    await sleep(plan.downMs)
    const t0 = Date.now()
    try {
      await devnetStart(this.dir, victim.name, { timeoutMs: 90_000 })
      r.restartMs = Date.now() - t0
    } catch (err: any) {
      this.restartFailures++
      r.notes.push(`restart failed: ${String(err?.message ?? err).slice(0, 2000)}`)
    }
  }

  /** calls fn when the engine reports a container of a provider being replaced or removed */
  private async onDockerEvent (provider: DevnetNode, event: 'rollout' | 'close', fn: () => void): Promise<() => void> {
    const stream = await this.docker.getEvents({ filters: { type: ['container'], label: [`${LABEL_INSTANCE}=${provider.owner!}`] } }) as unknown as NodeJS.ReadableStream & { destroy: () => void }
    let fired = false
    let buf = ''
    stream.on('data', (d: Buffer) => {
      buf += d.toString('utf8')
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        let e: any
        try { e = JSON.parse(line) } catch { continue }
        const gen = Number(e.Actor?.Attributes?.[LABEL_GENERATION] ?? 0)
        const hit = event === 'rollout' ? e.Action === 'create' && gen >= 2 : e.Action === 'kill' || e.Action === 'destroy'
        if (hit && !fired && e.Actor?.Attributes?.[LABEL_LEASE] != null) { fired = true; fn() }
      }
    })
    stream.on('error', () => {})
    return () => { stream.destroy() }
  }

  private async partition (plan: Extract<TrialPlan, { kind: 'partition' }>, r: TrialResult): Promise<void> {
    const names = (role: string): string[] => this.state.nodes.filter((n) => n.role === role).map((n) => n.name)
    const validators = this.R.shuffle(names('validator'))
    this.start()
    await sleep(this.R.int(0, 2_000))
    if (plan.shape === 'validator-alone') {
      const v = validators[0]
      await devnetCut(this.dir, [v], this.state.nodes.map((n) => n.name).filter((n) => n !== v))
      r.notes.push(`${v} alone`)
    } else if (plan.shape === 'two-against-two') {
      await devnetCut(this.dir, validators.slice(0, 2), validators.slice(2))
      r.notes.push(`${validators.slice(0, 2).join('+')} | ${validators.slice(2).join('+')}`)
    } else {
      const p = this.R.pick(names('provider'))
      await devnetCut(this.dir, [p], ['tenant'])
      r.notes.push(`${p} | tenant`)
    }
    const before = await this.heights()
    await sleep(plan.holdMs)
    let after = await this.heights()
    if (plan.shape === 'validator-alone') {
      // the three keep a quorum: held on (bounded) until they decide a batch, however slow the machine is
      const alone = r.notes[0].split(' ')[0]
      const went = (): boolean => Object.entries(after).some(([k, h]) => k !== alone && h > (before[k] ?? h))
      for (let until = Date.now() + 60_000; !went() && Date.now() < until;) {
        await sleep(1_000)
        after = await this.heights()
      }
    }
    r.progress = Object.fromEntries(Object.entries(after).map(([k, h]) => [k, h - (before[k] ?? h)]))
    await devnetHeal(this.dir)
    await this.wl.pause()
    // the service resumes without a hand: a deploy goes through after the heal
    r.resumed = await this.deployOnce(60_000)
    if (!r.resumed) r.notes.push('no deploy went through within 60 s of the heal')
  }

  /** the height each running validator is deciding */
  async heights (): Promise<Record<string, number>> {
    const out: Record<string, number> = {}
    for (const v of this.state.nodes.filter((n) => n.role === 'validator')) {
      try {
        const s = await controlClient({ socketPath: controlSocketPath(v.home) }).get<any>('/v1/committee', { signal: AbortSignal.timeout(5_000) })
        out[v.name] = s.status.height
      } catch {}
    }
    return out
  }

  /** one deploy to a running service, end to end */
  async deployOnce (timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs
    const tenant = controlClient({ socketPath: controlSocketPath(this.node('tenant').home) })
    const { webSdl } = await import('./workload.ts')
    while (Date.now() < until) {
      try {
        let ok = false
        for await (const line of tenant.stream<any>('POST', '/v1/deploy', { sdl: webSdl(`resume-${Date.now()}`), bidWindowMs: 500 }, { signal: AbortSignal.timeout(Math.max(1_000, until - Date.now())) })) {
          if (line.result != null) ok = true
          if (line.error != null) throw new Error(line.error.message)
        }
        if (ok) return true
      } catch (err: any) {
        this.log(`  resume deploy failed: ${String(err?.message ?? err).slice(0, 200)}`)
        await sleep(1_000)
      }
    }
    return false
  }

  /** waits for the providers' leases to leave their passing states, then checks until the world holds or time is up */
  async check (trial: number): Promise<Violation[]> {
    const settleUntil = Date.now() + (this.init.settleMs ?? 30_000)
    // every node up: one that died without being the victim is a finding of its own
    for (const n of this.state.nodes) {
      if (!await devnetRunning(this.dir, n.name)) {
        const log = await readFile(join(n.home, 'node.log'), 'utf8').catch(() => '')
        this.log(`  ${n.name} is not running; its log ends:\n${log.split('\n').slice(-8).join('\n')}`)
        await devnetStart(this.dir, n.name, { timeoutMs: 90_000 }).catch((err: any) => { this.restartFailures++; this.log(`  restart of ${n.name} failed: ${String(err?.message ?? err)}`) })
      }
    }
    while (Date.now() < settleUntil) {
      try {
        const w = await readWorld(this.state, this.docker, this.watch)
        const passing = w.providers.some((p) => p.leases.some((l) => l.state === 'awaiting-manifest' || l.state === 'deploying'))
        if (!passing) break
      } catch {}
      await sleep(1_000)
    }
    let vs: Violation[] = []
    // what a moment of propagation explains goes away; what stays is a violation
    const checkUntil = Date.now() + 15_000
    for (;;) {
      await this.watch.sample()
      try {
        const w = await readWorld(this.state, this.docker, this.watch)
        vs = checkLeases(w)
      } catch (err: any) {
        vs = [{ counter: 'diverged_views', rule: 'unreadable', subject: '-', detail: `a node's view could not be read: ${String(err?.message ?? err)}` }]
      }
      if (vs.length === 0 || Date.now() > checkUntil) break
      await sleep(2_000)
    }
    const fresh = [...vs, ...this.watch.ledger.violations].filter((v) => {
      const k = `${v.rule} ${v.subject} ${v.detail.slice(0, 40)}`
      const key = v.counter === 'conflicting_votes' ? k : `${v.rule} ${v.subject}`
      if (this.seen.has(key)) return false
      this.seen.add(key)
      return true
    })
    for (const v of fresh) {
      this.totals[v.counter]++
      this.log(`  VIOLATION trial ${trial} ${v.counter} ${v.rule} ${v.subject}: ${v.detail}`)
      if (/^[0-9a-f]{12}$/.test(v.subject)) await this.evidenceOf(v.subject)
    }
    return fresh
  }

  /** what every node logged about a lease: the reproducer's first page */
  private async evidenceOf (lease: string): Promise<void> {
    for (const n of this.state.nodes) {
      const text = await readFile(join(n.home, 'node.log'), 'utf8').catch(() => '')
      const lines = text.split('\n').filter((l) => l.includes(lease))
      for (const l of lines.slice(-25)) this.log(`    ${n.name}: ${l.slice(0, 400)}`)
    }
  }

  /** copies every node's log next to the run's log (the devnet directory goes at the end) */
  async keepLogs (to: string): Promise<void> {
    for (const n of this.state.nodes) await cp(join(n.home, 'node.log'), join(to, `${n.name}.log`)).catch(() => {})
  }

  /** sabotage: a second process signing with validator-0's key, from a copy of its home (the checks must see it) */
  async twin (ms: number): Promise<void> {
    const v = this.node('validator-0')
    const home = join(this.dir, 'twin-of-validator-0')
    await cp(v.home, home, { recursive: true, filter: (src) => !/(control\.sock|node\.json|crash-point|node\.log)$/.test(src) })
    const yaml = await readFile(join(home, 'souk.yaml'), 'utf8')
    await writeFile(join(home, 'souk.yaml'), yaml.replace(/(listen: \[\/ip4\/[0-9.]+\/tcp\/)(\d+)/, (_m, a: string, p: string) => `${a}${Number(p) + 1}`))
    const bin = new URL('../../bin/souk', import.meta.url).pathname
    const args = [bin, '--home', home, 'node', 'start']
    const child: ChildProcess = v.netns != null
      ? spawn('ip', ['netns', 'exec', v.netns, process.execPath, ...args], { stdio: 'ignore' })
      : spawn(process.execPath, args, { stdio: 'ignore' })
    const alive = (): boolean => child.exitCode == null && child.signalCode == null
    this.watch.addSource('twin-of-validator-0', home, keyOf(v), alive)
    this.wl.resume()
    await sleep(ms)
    await this.wl.pause()
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
    await this.watch.sample()
  }

  summary (): string {
    const c = this.totals
    return `chaos trials=${this.results.length} leases_lost=${c.leases_lost} orphans=${c.orphans} conflicting_votes=${c.conflicting_votes} diverged_views=${c.diverged_views}`
  }
}
