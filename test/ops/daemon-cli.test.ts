// `souk node start` as an operator runs it: a wrong bootstrap address is named in the log at
// the default level, node status fails by check, a second daemon on the home is told who holds
// it, logs go to the rotating file, souk.yaml reloads (souk node reload and SIGHUP).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { genesisCommitteeFile } from '../../src/committee/index.ts'
import { committeeJson } from '../../src/node/genesis.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { createNode } from '../../src/node/create-node.ts'
import { HOME_LOCK_FILE } from '../../src/node/home-guard.ts'
import { HomeInUseError } from '../../src/node/errors.ts'

const root = new URL('../..', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'souk-ops-cli-'))
const home = join(dir, 'node')
let daemon: ChildProcess | undefined
let stderr = ''

test.after(async () => {
  if (daemon != null && daemon.exitCode == null) { daemon.kill('SIGKILL'); await new Promise((resolve) => daemon!.once('exit', resolve)) }
  rmSync(dir, { recursive: true, force: true })
})

function souk (args: string[]): { code: number | null, out: string, err: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin/souk'), '--home', home, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

async function until (cond: () => boolean, ms = 30_000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) { if (cond()) return true; await new Promise((resolve) => setTimeout(resolve, 100)) }
  return false
}

const closedPort = async (): Promise<number> => await new Promise((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as any).port; s.close(() => resolve(p)) }) })

let badBootstrap = ''
const yaml = (level: string): string => `roles: [tenant]\nnetwork:\n  listen: [/ip4/127.0.0.1/tcp/0]\n  bootstrap: [${badBootstrap}]\n  testNetwork: true\nlog:\n  level: ${level}\n  file: node.log\n  maxBytes: 64Ki\n  keep: 2\n`

test('a wrong bootstrap port is named at the default log level, and node status fails by check', async () => {
  mkdirSync(home, { recursive: true, mode: 0o700 })
  writeFileSync(join(home, 'committee.json'), committeeJson([genesisCommitteeFile([generateIdentity()])]))
  badBootstrap = `/ip4/127.0.0.1/tcp/${await closedPort()}/p2p/${generateIdentity().peerId.toString()}`
  writeFileSync(join(home, 'souk.yaml'), yaml('info'))
  daemon = spawn(process.execPath, [join(root, 'bin/souk'), '--home', home, 'node', 'start'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
  daemon.stderr!.on('data', (d) => { stderr += String(d) })
  assert.ok(await until(() => stderr.includes('connection refused')), stderr)
  const line = stderr.split('\n').find((l) => l.includes('connection refused'))!
  assert.is(JSON.parse(line).level, 40, 'a warning')
  assert.ok(line.includes(badBootstrap), line)
  assert.match(line, /nothing listens at 127\.0\.0\.1 port \d+; check the port/)
  // the same lines in the home's log file
  assert.match(readFileSync(join(home, 'node.log'), 'utf8'), /connection refused/)

  const st = souk(['node', 'status'])
  assert.is(st.code, 1, st.out + st.err)
  assert.match(st.out, /^FAIL  peers {6}no peers connected/m)
  assert.match(st.out, /^FAIL  bootstrap  bootstrap \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+: connection refused/m)
  assert.match(st.out, /fix: correct network\.bootstrap/)
  assert.match(st.err, /failing checks: peers, bootstrap/)
})

test('a second daemon on the same home is told which process holds it', () => {
  const second = souk(['node', 'start'])
  assert.is(second.code, 1)
  assert.match(second.err, new RegExp(`^error: another souk node \\(pid ${daemon!.pid}\\) holds ${home}; stop it with \`souk --home ${home} node stop\``))
  assert.not.match(second.err, /Database failed to open|at .*\.ts:\d+/)
})

test('the daemon runs in the process that was started, with a small young generation', () => {
  // bin/souk replaces its own image for `node start`: the pid a supervisor holds stays the daemon's
  assert.is(JSON.parse(readFileSync(join(home, 'node.json'), 'utf8')).pid, daemon!.pid)
  if (!existsSync(`/proc/${daemon!.pid}/cmdline`)) return
  const argv = readFileSync(`/proc/${daemon!.pid}/cmdline`, 'utf8').split('\0')
  assert.ok(argv.includes('--max-semi-space-size=4'), argv.join(' '))
  assert.equal(argv.slice(-5, -1), ['--home', home, 'node', 'start'], argv.join(' '))
})

test('a program embedding a node is refused the home a daemon holds, by the same lock', async () => {
  try {
    const n = await createNode({ home, config: { roles: ['tenant'] } })
    await n.stop()
    assert.unreachable('a library node opened a home a daemon holds')
  } catch (err: any) {
    assert.instance(err, HomeInUseError)
    assert.is(err.pid, daemon!.pid)
    assert.match(err.message, `souk --home ${home} node stop`)
  }
})

test('souk node reload applies the log level and refuses what needs a restart, by name', async () => {
  writeFileSync(join(home, 'souk.yaml'), yaml('warn'))
  const r = souk(['node', 'reload'])
  assert.is(r.code, 0, r.out + r.err)
  assert.match(r.out, /^applied {5}log\.level$/m)
  writeFileSync(join(home, 'souk.yaml'), yaml('warn').replace('tcp/0]', 'tcp/0, /ip4/127.0.0.1/tcp/0/ws]'))
  const refused = souk(['node', 'reload'])
  assert.is(refused.code, 1)
  assert.match(refused.out, /^not applied network\.listen: takes effect after a restart$/m)
})

test('SIGHUP reloads souk.yaml too', async () => {
  writeFileSync(join(home, 'souk.yaml'), yaml('info'))
  daemon!.kill('SIGHUP')
  assert.ok(await until(() => stderr.includes('souk.yaml reloaded')), stderr.slice(-2000))
})

test('node stop ends the daemon and frees the home', async () => {
  assert.is(souk(['node', 'stop']).code, 0)
  assert.ok(await until(() => daemon!.exitCode != null))
  assert.is(daemon!.exitCode, 0)
  assert.not.ok(existsSync(join(home, HOME_LOCK_FILE)))
})

test.run()
