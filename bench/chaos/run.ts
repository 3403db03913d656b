// npm run chaos [-- --trials 50 --seed S --providers 2 --no-netns --roles validator,provider,tenant
//                  --sabotage orphan|lost|diverged|twin --keep --verbose]
//
// A devnet of real processes (4 validators, providers on the Docker engine, a tenant) under a
// steady stream of deploys, updates and closes; each trial SIGKILLs one node at a seeded point of
// the lease flow (or cuts links between nodes, when the devnet runs in network namespaces), starts
// it again from its home, and checks the invariants (bench/chaos/invariants.ts). The last line:
//   chaos trials=N leases_lost=0 orphans=0 conflicting_votes=0 diverged_views=0
// Every violation is printed with its trial; the full log goes to the run directory's chaos.log.
import { mkdtempSync, appendFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Chaos, choosePlan, describePlan } from './harness.ts'
import { netnsUnavailable, devnetKill, devnetStart } from '../../src/node/devnet.ts'
import { readStore, nodeRecords } from './stores.ts'
import { DatabaseSync } from 'node:sqlite'

const argv = process.argv.slice(2)
const opt = (name: string): string | undefined => {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  if (i < 0) return undefined
  return argv[i].includes('=') ? argv[i].split('=').slice(1).join('=') : argv[i + 1]
}
const flag = (name: string): boolean => argv.includes(`--${name}`)
const trials = Number(opt('trials') ?? 50)
const seed = Number(opt('seed') ?? Math.floor(Math.random() * 2 ** 31))
const providers = Number(opt('providers') ?? 2)
const sabotage = opt('sabotage')
const roles = opt('roles')?.split(',').map((r) => r.trim()) as Array<'validator' | 'provider' | 'tenant'> | undefined
const verbose = flag('verbose')
if (process.env.DOCKER_HOST == null) { process.stderr.write('chaos needs a Docker engine: set DOCKER_HOST\n'); process.exit(1) }
const why = await netnsUnavailable()
const netns = !flag('no-netns') && why == null
if (!flag('no-netns') && why != null) process.stdout.write(`partitions left out: ${why}\n`)

const dir = mkdtempSync(join(tmpdir(), 'souk-chaos-'))
const logFile = join(dir, 'chaos.log')
const log = (line: string): void => {
  appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`)
  if (verbose || line.includes('VIOLATION')) process.stdout.write(`${line}\n`)
}
process.stdout.write(`chaos seed=${seed} trials=${trials} providers=${providers} netns=${netns} dir=${dir}\n`)

const chaos = await Chaos.start({ dir: join(dir, 'devnet'), seed, providers, netns, log })
let stopping = false
const stop = async (): Promise<void> => { if (stopping) return; stopping = true; await chaos.stop() }
process.once('SIGINT', () => { void stop().then(() => process.exit(130)) })
// a fault in the harness itself still takes the devnet down with it
process.on('uncaughtException', (err) => {
  process.stderr.write(`chaos harness failed: ${String(err?.stack ?? err)}\n`)
  void stop().finally(() => process.exit(2))
})

try {
  for (let t = 1; t <= trials; t++) {
    if (sabotage != null && t === 1) await sabotageOnce(sabotage)
    const plan = choosePlan(chaos.R, chaos.state, { partitions: netns && (roles == null), roles })
    const t0 = Date.now()
    const r = await chaos.trial(plan)
    const s = chaos.summary()
    process.stdout.write(`trial ${t}/${trials} ${describePlan(plan)}: ${r.died ?? (r.resumed === true ? 'healed, resumed' : r.resumed === false ? 'healed, NOT resumed' : '')}${r.restartMs != null ? `, restarted in ${r.restartMs} ms` : ''}, ${r.violations.length} new violation(s) (${Math.round((Date.now() - t0) / 1000)} s) | ${s.slice(6)}\n`)
    for (const n of r.notes) log(`  note: ${n}`)
  }
} finally {
  const ops = chaos.wl.counts
  process.stdout.write(`workload deploys=${ops.deploy.ok}/${ops.deploy.ok + ops.deploy.failed} updates=${ops.update.ok}/${ops.update.ok + ops.update.failed} closes=${ops.close.ok}/${ops.close.ok + ops.close.failed} restart_failures=${chaos.restartFailures} not_resumed=${chaos.results.filter((r) => r.resumed === false).length}\n`)
  const byRule = new Map<string, number>()
  for (const v of chaos.results.flatMap((r) => r.violations)) byRule.set(`${v.counter}/${v.rule}`, (byRule.get(`${v.counter}/${v.rule}`) ?? 0) + 1)
  if (byRule.size > 0) process.stdout.write(`violations by rule: ${[...byRule].map(([k, n]) => `${k}=${n}`).join(' ')} (log: ${logFile})\n`)
  await stop()
  await chaos.keepLogs(join(dir, 'logs'))
  if (!flag('keep')) rmSync(join(dir, 'devnet'), { recursive: true, force: true })
  process.stdout.write(`${chaos.summary()}\n`)
}
const c = chaos.summary()
process.exitCode = /leases_lost=0 orphans=0 conflicting_votes=0 diverged_views=0$/.test(c) && chaos.restartFailures === 0 ? 0 : 1

/** breaks one thing on purpose, so the run shows that the check guarding it fails */
async function sabotageOnce (kind: string): Promise<void> {
  process.stdout.write(`sabotage: ${kind}\n`)
  const provider = chaos.state.nodes.find((n) => n.role === 'provider')!
  const tenant = chaos.node('tenant')
  // a lease running at the provider, to break
  chaos.wl.resume()
  for (let i = 0; i < 120; i++) {
    const h = readStore(join(tenant.home, 'store.db'))
    const running = h == null ? [] : nodeRecords(h.db, 'tenant-deployment').filter((d) => d.state === 'running')
    h?.close()
    if (running.length > 0) break
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  await chaos.wl.pause()
  if (kind === 'orphan') {
    // a container labelled as one of the provider's leases that it does not hold
    const c = await chaos.docker.createContainer({ Image: 'souk/busybox:latest', Cmd: ['sleep', '3600'], Labels: { 'souk.lease': 'f'.repeat(64), 'souk.instance': provider.owner! } })
    await c.start()
  } else if (kind === 'lost') {
    // the provider forgets a running lease while down: on restart its reconcile removes the containers
    await devnetKill(chaos.dir, provider.name)
    const db = new DatabaseSync(join(provider.home, 'store.db'))
    const rows = db.prepare('SELECT id, data FROM node_records WHERE kind = \'provider-lease\'').all() as any[]
    const victim = rows.find((r) => JSON.parse(r.data).state === 'running')
    if (victim != null) db.prepare('DELETE FROM node_records WHERE kind = \'provider-lease\' AND id = ?').run(victim.id)
    db.close()
    process.stdout.write(`sabotage: ${provider.name} forgot lease ${String(victim?.id ?? 'none (no running lease)').slice(0, 12)}\n`)
    await devnetStart(chaos.dir, provider.name)
  } else if (kind === 'diverged') {
    // the tenant's record of a running lease says closed, while the provider runs it
    await devnetKill(chaos.dir, tenant.name)
    const db = new DatabaseSync(join(tenant.home, 'store.db'))
    const rows = db.prepare('SELECT id, data FROM node_records WHERE kind = \'tenant-deployment\'').all() as any[]
    const victim = rows.find((r) => JSON.parse(r.data).state === 'running')
    if (victim != null) {
      const d = JSON.parse(victim.data)
      d.state = 'closed'
      db.prepare('UPDATE node_records SET data = ? WHERE kind = \'tenant-deployment\' AND id = ?').run(JSON.stringify(d), victim.id)
    }
    db.close()
    process.stdout.write(`sabotage: the tenant's record of ${String(victim?.id ?? 'none (no running lease)').slice(0, 12)} says closed\n`)
    await devnetStart(chaos.dir, tenant.name)
  } else if (kind === 'twin') {
    await chaos.twin(20_000)
  } else {
    throw new Error(`unknown sabotage ${kind} (orphan, lost, diverged, twin)`)
  }
  // checked before the workload can paper over it (closing the lease it broke, say)
  const vs = await chaos.check(0)
  process.stdout.write(`sabotage ${kind}: ${vs.length} violation(s) found\n`)
}
