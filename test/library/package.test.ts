// souk as a consumer gets it: the build is made, a TypeScript consumer compiles under `strict`
// and `skipLibCheck: false`, no `any` is reachable from the package root, the packed tarball
// installs into a fresh project where `npx souk` works and an old Node is told what to do, and
// (with Docker) the library examples run from that install against a devnet.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, readdirSync, copyFileSync, existsSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { dockerFromEnv } from '../helpers/docker.ts'
import { publicTypeFindings } from './public-types.ts'
import { devnetUp, devnetDown } from '../../src/node/devnet.ts'

const root = new URL('../..', import.meta.url).pathname
const work = mkdtempSync(join(tmpdir(), 'souk-pkg-'))
const project = join(work, 'consumer')
const node24 = dirname(process.execPath)
const PATH24 = `${node24}:${process.env.PATH ?? ''}`
const docker = dockerFromEnv()
const devnetDir = join(work, 'devnet')
let devnet = false

test.after(async () => {
  if (devnet) await devnetDown(devnetDir).catch(() => {})
  rmSync(work, { recursive: true, force: true })
})

function run (cmd: string, args: string[], opts: { cwd?: string, env?: NodeJS.ProcessEnv, timeout?: number } = {}): { code: number | null, out: string } {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? root, env: opts.env ?? { ...process.env, PATH: PATH24 }, encoding: 'utf8', timeout: opts.timeout ?? 240_000 })
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error != null ? String(r.error) : ''}` }
}

async function runAsync (args: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null, out: string }> {
  const c = spawn(process.execPath, args, { cwd, env: { ...process.env, PATH: PATH24 } })
  let out = ''
  c.stdout.on('data', (d) => { out += String(d) })
  c.stderr.on('data', (d) => { out += String(d) })
  const timer = setTimeout(() => { out += `\n[killed after ${timeoutMs} ms]`; c.kill('SIGKILL') }, timeoutMs)
  const code = await new Promise<number | null>((resolve) => c.on('close', resolve))
  clearTimeout(timer)
  return { code, out }
}

/** the newest modification time under a folder */
function newest (dir: string): number {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

test('the build (dist/) is made from the sources, with its Node-checking entry point', () => {
  const entryFile = join(root, 'dist/src/entry.js')
  // npm ci builds it (prepare); rebuilt here only when a source is newer
  if (existsSync(entryFile) && statSync(entryFile).mtimeMs > newest(join(root, 'src')) && statSync(entryFile).mtimeMs > statSync(join(root, 'bin/build-entry.ts')).mtimeMs) return
  const tsc = run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')])
  assert.is(tsc.code, 0, tsc.out)
  const entry = run(process.execPath, [join(root, 'bin/build-entry.ts')])
  assert.is(entry.code, 0, entry.out)
  assert.match(entry.out, /dist\/src\/entry\.js: \d+ exports/)
})

test('a TypeScript consumer compiles with strict and skipLibCheck: false', () => {
  const r = run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'test/library/consumer/tsconfig.json')])
  assert.is(r.code, 0, r.out)
})

test('no any reachable from the package root', () => {
  const findings = publicTypeFindings(join(root, 'dist/src/index.d.ts'), root)
  const anys = findings.filter((f) => f.kind === 'any')
  assert.equal(anys, [], `any reachable from the package root:\n${anys.map((f) => `${f.path} (${f.file})`).join('\n')}`)
  // the walker sees what it should (one that sees nothing passes nothing): it finds the unknowns
  // left (JSON bodies and the like), and test/library/public-types.test.ts shows it finds an any
  assert.ok(findings.some((f) => f.kind === 'unknown'))
  process.stdout.write(`public types: 0 any, ${findings.filter((f) => f.kind === 'unknown').length} unknown\n`)
})

test('the packed package installs into a fresh project; npx souk works; an old Node is told what to do', () => {
  const pack = run('npm', ['pack', '--ignore-scripts', '--pack-destination', work, '--silent'])
  assert.is(pack.code, 0, pack.out)
  const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!)
  const listing = run('tar', ['tzf', tarball]).out
  assert.match(listing, /package\/dist\/src\/entry\.js/)
  assert.match(listing, /package\/dist\/src\/cli\/main\.js/)
  assert.not.match(listing, /package\/src\//)
  run('mkdir', ['-p', project])
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'souk-consumer', version: '1.0.0', private: true, type: 'module' }))
  // dependencies come from the npm cache this checkout was installed from; install scripts are
  // not needed (the native addons ship prebuilt)
  let inst = run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], { cwd: project })
  if (inst.code !== 0) inst = run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], { cwd: project })
  assert.is(inst.code, 0, inst.out)
  assert.not.ok(existsSync(join(project, 'node_modules/souk/src')))

  const help = run('npx', ['--no-install', 'souk', '--help'], { cwd: project })
  assert.is(help.code, 0, help.out)
  assert.match(help.out, /Usage: souk/)

  const imp = run(process.execPath, ['--input-type=module', '-e', "const s = await import('souk'); console.log(typeof s.createNode, typeof s.devnetUp, typeof s.committee.verifyLeaseCertificate)"], { cwd: project })
  assert.is(imp.code, 0, imp.out)
  assert.is(imp.out.trim(), 'function function function')

  // the machine's own Node, when it is older than 24
  const old = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p) && Number(run(p, ['-p', 'process.versions.node.split(".")[0]']).out.trim()) < 24)
  if (old != null) {
    const r = run(old, ['--input-type=module', '-e', "import('souk').catch((e) => { console.log(e.code + ' ' + e.message); process.exit(3) })"], { cwd: project })
    assert.is(r.code, 3, r.out)
    assert.match(r.out, /^ERR_NODE_VERSION souk needs Node\.js 24 or newer; this is Node\.js \d+/)
    const cli = run(old, [join(project, 'node_modules/souk/bin/souk'), '--help'], { cwd: project })
    assert.is(cli.code, 1, cli.out)
    assert.match(cli.out, /souk needs Node\.js 24 or newer/)
  } else {
    process.stdout.write('no Node older than 24 on this machine: the old-Node checks did not run\n')
  }
})

if (docker == null) {
  test('library examples against a devnet (skipped: DOCKER_HOST is not set)', () => {})
} else {
  test('the library examples run from the installed package against a devnet', async () => {
    await devnetUp(devnetDir, { validators: 4, providers: 1 })
    devnet = true
    for (const f of readdirSync(join(root, 'examples/library'))) copyFileSync(join(root, 'examples/library', f), join(project, f))

    const errors = await runAsync(['errors.mjs', devnetDir], project, 60_000)
    assert.is(errors.code, 0, errors.out)
    assert.match(errors.out, /ERR_CONFIG_INVALID roles\[0\]: "tennant" is not a role/)
    assert.match(errors.out, /ERR_HOME_IN_USE another node in this process \(pid \d+\) holds \S+; stop\(\) it first/)
    assert.match(errors.out, /ERR_NOT_READY missing: no peer is subscribed to the orders topic/)

    const flow = await runAsync(['deploy.mjs', devnetDir], project, 180_000)
    assert.is(flow.code, 0, flow.out)
    for (const step of [/^ready 12D3KooW/m, /^order [0-9a-f]{12}/m, /^event lease:certified/m, /^lease final with/m, /^services running/m,
      /^running http:\/\/\S+/m, /^page .*hello from souk/m, /^log web \| /m, /^closed closed/m, /^stopped/m]) {
      assert.match(flow.out, step)
    }
  })
}

test.run()
