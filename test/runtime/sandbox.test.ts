// The hostile deployments of `npm run sandbox`, in CI: on the real Docker engine, under runc and,
// where the engine has it, under runsc (gVisor). Every case is refused or contained, nothing is
// left behind, and without souk's firewall the network cases do escape (so the check can fail).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'
import { runSandbox, summary } from '../../bench/sandbox/cases.ts'
import type { CaseResult } from '../../bench/sandbox/cases.ts'
import { worldAvailable } from '../../bench/sandbox/world.ts'

const docker = dockerFromEnv()
const missing = await worldAvailable()
if (missing != null && process.env.CI === 'true') throw new Error(`CI=true but ${missing}`)

/** every kind of case the sandbox must cover, by a word of its name */
const KINDS = [
  /manifest: memory 0, a 5 TB ram volume/, /manifest: a service larger/, /manifest: a field/, /image from a registry on a private address \(10\./,
  /image from a registry on a private address \(localhost/, /private image of another tenant/, /memory hog/, /fork bomb/, /writing past a volume/,
  /writing past a ram volume/, /writing past the writable layer/, /bridge gateway/, /host's own address/, /cloud metadata/, /a private server/,
  /another lease's container/, /the internet/, /its own lease's other service/
]

function report (oci: string, results: CaseResult[]): void {
  for (const r of results) process.stdout.write(`  [${oci}] ${r.outcome.padEnd(9)} ${r.name}: ${r.detail}\n`)
}

if (docker == null) {
  skipNotice('test/runtime/sandbox.test.ts')
} else if (missing != null) {
  process.stdout.write(`skipped test/runtime/sandbox.test.ts: ${missing}\n  Total:     1\n  Passed:    0\n  Skipped:   1\n`)
} else {
  const info = await docker.info() as { Runtimes?: Record<string, unknown> }
  const runtimes = ['runc', ...(Object.keys(info.Runtimes ?? {}).includes('runsc') ? ['runsc'] : [])]
  if (!runtimes.includes('runsc')) process.stdout.write('note: the engine has no runsc runtime; the sandbox cases run under runc only\n')

  test(`every hostile deployment is refused or contained under ${runtimes.join(' and ')}, and nothing is left behind`, async () => {
    // the runtimes side by side: most of the time is spent waiting for the engine
    const runs = await Promise.all(runtimes.map(async (oci) => ({ oci, ...await runSandbox({ ociRuntime: oci }) })))
    for (const { oci, results, leftovers } of runs) {
      report(oci, results)
      const s = summary(results)
      assert.is(s.escaped, 0, `${oci} escaped: ${results.filter((r) => r.outcome === 'escaped').map((r) => `${r.name}: ${r.detail}`).join('; ')}`)
      assert.is(s.failed, 0, `${oci} undecided: ${results.filter((r) => r.outcome === 'failed').map((r) => `${r.name}: ${r.detail}`).join('; ')}`)
      for (const k of KINDS) assert.ok(results.some((r) => k.test(r.name)), `${oci}: a case for ${String(k)}`)
      assert.equal(leftovers, [], `${oci} left things behind`)
    }
  })

  test('without souk\'s firewall the same probes reach the host, metadata and private networks', async () => {
    const { results, leftovers } = await runSandbox({ ociRuntime: 'runc', firewall: 'off', only: ['connect to the host', 'connect to cloud', 'connect to a private', 'connect to the internet'] })
    report('runc, firewall off', results)
    const escaped = results.filter((r) => r.outcome === 'escaped').map((r) => r.name)
    for (const k of [/bridge gateway/, /host's own address/, /cloud metadata/, /a private server/]) assert.ok(escaped.some((n) => k.test(n)), `${String(k)} escapes without the firewall`)
    assert.equal(leftovers, [])
  })

  test.run()
}
