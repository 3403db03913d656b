// npm run sandbox [-- --runtime=runc|runsc|all] [--firewall=off] [--no-volume-store] [--only=text,…]
// Hostile deployments against the real Docker engine, under each OCI runtime asked for (by
// default runc, and runsc where the engine has it). Each is refused (nothing runs) or runs and is
// contained; the run fails if one escapes, if a check could not decide, or if anything is left
// behind. The last line counts them over all runtimes.
import { dockerClient } from '../src/runtime/index.ts'
import { runSandbox, summary } from './sandbox/cases.ts'
import type { CaseResult } from './sandbox/cases.ts'
import { worldAvailable } from './sandbox/world.ts'

const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=').slice(1).join('=')
if (process.env.DOCKER_HOST == null) {
  process.stderr.write('sandbox needs a Docker engine: set DOCKER_HOST (see .ci/run)\n')
  process.exit(1)
}
const missing = await worldAvailable()
if (missing != null) {
  process.stderr.write(`sandbox: ${missing}\n`)
  process.exit(1)
}
const info = await dockerClient(process.env.DOCKER_HOST).info() as { Runtimes?: Record<string, unknown> }
const registered = Object.keys(info.Runtimes ?? {})
const asked = arg('runtime') ?? 'all'
const runtimes = asked === 'all' ? ['runc', ...(registered.includes('runsc') ? ['runsc'] : [])] : asked.split(',')
if (asked === 'all' && !registered.includes('runsc')) process.stdout.write('note: the engine has no runsc runtime; running under runc only\n')

const all: CaseResult[] = []
let leftovers = 0
for (const oci of runtimes) {
  const t0 = Date.now()
  const { results, sandbox, leftovers: left } = await runSandbox({
    ociRuntime: oci,
    firewall: arg('firewall') === 'off' ? 'off' : 'iptables',
    volumeStore: !process.argv.includes('--no-volume-store'),
    only: arg('only')?.split(','),
    onResult: (r) => { process.stdout.write(`[${oci}] ${r.outcome.padEnd(9)} ${r.name}: ${r.detail} (${(r.ms / 1000).toFixed(1)} s)\n`) }
  })
  for (const l of left) process.stdout.write(`[${oci}] LEFT BEHIND ${l}\n`)
  leftovers += left.length
  all.push(...results)
  const s = summary(results)
  process.stdout.write(`[${oci}] sandbox: ${sandbox.ociRuntime}, network ${sandbox.network.isolation}, storage ephemeral ${sandbox.storage.ephemeral} / persistent ${sandbox.storage.persistent} / ram ${sandbox.storage.ram}; ${s.cases} cases in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
  process.stdout.write(`sandbox runtime=${oci} cases=${s.cases} refused=${s.refused} contained=${s.contained} escaped=${s.escaped} failed=${s.failed}\n`)
}
const s = summary(all)
process.stdout.write(`sandbox cases=${s.cases} refused=${s.refused} contained=${s.contained} escaped=${s.escaped} failed=${s.failed} leftovers=${leftovers} runtimes=${runtimes.join(',')}\n`)
process.exitCode = s.escaped > 0 || s.failed > 0 || leftovers > 0 ? 1 : 0
