// `souk sdl validate` through commander, as the CLI registers it.
import { Command } from 'commander'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { sdl } from '../../src/cli/commands/sdl/index.ts'
import { cliContext } from '../../src/cli/client.ts'

const fixtures = new URL('../fixtures/sdl/', import.meta.url).pathname

async function run (args: string[]): Promise<{ out: string, code: number | undefined }> {
  const program = new Command()
  program.exitOverride()
  sdl.register(program, cliContext(program))
  let out = ''
  const write = process.stdout.write.bind(process.stdout)
  const saved = process.exitCode
  process.exitCode = undefined
  process.stdout.write = ((chunk: string | Uint8Array) => { out += String(chunk); return true }) as typeof process.stdout.write
  try {
    await program.parseAsync(['node', 'souk', 'sdl', 'validate', ...args])
  } finally {
    process.stdout.write = write
  }
  const code = process.exitCode as number | undefined
  process.exitCode = saved
  return { out, code }
}

test('valid files: ok line with totals, notices indented, exit 0', async () => {
  const { out, code } = await run([`${fixtures}valid/full.yaml`])
  assert.is(code, 0)
  assert.equal(out.split('\n'), [
    `ok   ${fixtures}valid/full.yaml  cpu 0.7, memory ~2.4Gi, storage 4Gi + 20Gi beta3 + 512Mi ram, gpu 1×nvidia/a100|h100, 3 replicas`,
    '  services.web.expose[1].to[0].ip: asks for the dedicated IP endpoint "front-ip"; only providers that lease IP addresses can honour it',
    ''
  ])
})

test('an invalid file: FAIL then every error with its path, exit 1', async () => {
  const { out, code } = await run([`${fixtures}valid/full.yaml`, `${fixtures}invalid/denoms.yaml`, `${fixtures}syntax/bad-indent.yaml`, `${fixtures}missing.yaml`])
  assert.is(code, 1)
  const lines = out.split('\n')
  assert.ok(lines[0].startsWith('ok   '))
  assert.ok(lines.includes(`FAIL ${fixtures}invalid/denoms.yaml`))
  assert.ok(lines.includes('  profiles.placement.dc.pricing: prices in one placement group must share one denom; found uact and uakt (db: uact, web: uakt)'))
  assert.ok(lines.includes(`FAIL ${fixtures}syntax/bad-indent.yaml`))
  assert.ok(lines.includes('  line 5, column 1: All mapping items must start at the same column'))
  assert.ok(lines.includes(`FAIL ${fixtures}missing.yaml`))
  assert.ok(lines.includes('  (file): cannot read: ENOENT'))
})

test('--json prints one record per file', async () => {
  const { out, code } = await run(['--json', `${fixtures}valid/full.yaml`, `${fixtures}invalid/units.yaml`])
  assert.is(code, 1)
  const records = JSON.parse(out)
  assert.is(records.length, 2)
  assert.equal(Object.keys(records[0]).sort(), ['errors', 'file', 'groups', 'manifestHash', 'notices', 'ok', 'totals'])
  assert.is(records[0].ok, true)
  assert.match(records[0].manifestHash, /^[0-9a-f]{64}$/)
  assert.is(records[0].groups[0].maxPrice.amount, '2251')
  assert.is(records[1].ok, false)
  assert.is(records[1].totals, null)
  assert.ok(records[1].errors.some((e: any) => e.path === 'deployment.web.dc.count'))
})

test.run()
