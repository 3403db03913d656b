// Failover on a devnet of real processes and the real Docker engine: a deployment made with
// `failover` serves; its provider is killed with SIGKILL for good; without a hand, the tenant's
// node closes the lease as provider-lost, orders the deployment again without that provider and
// the page is served by the other one. `souk lease status` and `souk lease events` show the history
// across providers, and the committee's record of the killed provider counts the loss, the same
// on every validator.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'
import { devnetUp, devnetDown, readDevnet } from '../../src/node/devnet.ts'
import { controlClient } from '../../src/api/index.ts'
import { controlSocketPath } from '../../src/node/daemon.ts'
import { failoverTrial, TRIAL_FAILOVER } from '../../bench/failover-trial.ts'
import { runSouk } from '../helpers/cli.ts'
import type { CliResult } from '../helpers/cli.ts'

const docker = dockerFromEnv()
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

const souk = (args: string[]): CliResult => runSouk(args, 60_000)

if (docker == null) {
  skipNotice('test/e2e/failover.test.ts')
} else {
  const dir = mkdtempSync(join(tmpdir(), 'souk-failover-'))
  const log: string[] = []
  test.after(async () => {
    await devnetDown(dir).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  })

  test('kill -9 the winning provider for good: the deployment serves again on the other provider', async () => {
    await devnetUp(dir, { providers: 2, bidWindowMs: 1000, settings: { tenant: { failover: TRIAL_FAILOVER } } })
    const r = await failoverTrial(dir, 'failover-e2e', { log: (l) => log.push(l) }).catch((err) => { throw new Error(`${String(err?.message ?? err)}\n${log.join('\n')}`) })
    assert.is.not(r.next.provider, r.killed.peerId, 'the new lease is on the other provider')
    // silence counts from the provider's last answer, which came at most one probe period before
    // the kill: so lost no sooner than lostAfterMs − probeMs after it (3000 − 500)
    assert.ok(r.detectMs >= 2500, `declared lost only after lostAfterMs of silence (${r.detectMs} ms after the kill)`)
    const steps = (r.deployment.history ?? []).map((s: any) => s.type)
    for (const s of ['lost', 'closed']) assert.ok(steps.includes(s), `history has ${s}: ${steps.join(',')}`)
    assert.is(r.deployment.state, 'closed')
    assert.is(r.deployment.closeCode, 'provider-lost')

    // the history across providers, as the user reads it, asked by the first lease's ID
    const home = join(dir, 'tenant')
    const status = souk(['--home', home, 'lease', 'status', r.order])
    assert.is(status.code, 0, status.out + status.err)
    assert.match(status.out, /failover\s+1 time/)
    assert.match(status.out, new RegExp(r.next.order.slice(0, 16)))
    assert.match(status.out, /lost .*answered no status request/)
    const events = souk(['--home', home, 'lease', 'events', r.order])
    assert.is(events.code, 0, events.out + events.err)
    for (const t of ['failover:lost', 'failover:closed', 'failover:ordered']) assert.match(events.out, new RegExp(t))

    // the committee counts the loss against the killed provider: the same figures on every validator
    const state = await readDevnet(dir)
    let rec: any
    for (let i = 0; i < 100; i++) {
      rec = await controlClient({ socketPath: controlSocketPath(home) }).get(`/v1/providers/${r.killed.peerId}/record`).catch((err) => ({ err: String(err?.message ?? err) }))
      if (rec?.record?.lost === 1) break
      await sleep(200)
    }
    assert.equal(rec.record, { won: 1, served: 0, lost: 1, failed: 0, uncounted: 0 }, JSON.stringify(rec))
    assert.is(rec.source, 'validators')
    for (const v of state!.nodes.filter((n) => n.role === 'validator')) {
      const mine: any = await controlClient({ socketPath: controlSocketPath(v.home) }).get(`/v1/providers/${r.killed.peerId}/record`)
      assert.equal(mine.record, rec.record, v.name)
      assert.is(mine.source, 'ledger')
    }
    const cli = souk(['--home', home, 'provider', 'record', r.killed.peerId])
    assert.is(cli.code, 0, cli.err)
    assert.match(cli.out, /lost\s+1/)
  })
}

test.run()
