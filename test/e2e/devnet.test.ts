// The README's main job, as a person would run it: devnet up, deploy the web example, fetch the
// page through the printed URL, read logs, close the lease, devnet down; nothing left behind.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'
import { runSouk } from '../helpers/cli.ts'
import type { CliResult } from '../helpers/cli.ts'

const root = new URL('../..', import.meta.url).pathname
const docker = dockerFromEnv()

const souk = (args: string[], timeoutMs = 120_000): CliResult => runSouk(args, timeoutMs)

/** like souk(), but the event loop keeps running (so this process reaps its own children meanwhile) */
async function soukAsync (args: string[]): Promise<{ code: number | null, out: string, err: string }> {
  const c = spawn(process.execPath, [join(root, 'bin/souk'), ...args], { cwd: root, env: process.env })
  let out = ''; let err = ''
  c.stdout.on('data', (d) => { out += String(d) })
  c.stderr.on('data', (d) => { err += String(d) })
  const code = await new Promise<number | null>((resolve) => c.on('close', resolve))
  return { code, out, err }
}

if (docker == null) {
  skipNotice('test/e2e/devnet.test.ts')
} else {
  const dir = mkdtempSync(join(tmpdir(), 'souk-devnet-'))
  let pids: number[] = []

  test.after(() => {
    if (pids.some((p) => { try { process.kill(p, 0); return true } catch { return false } })) souk(['devnet', 'down', '--dir', dir])
    rmSync(dir, { recursive: true, force: true })
  })

  test('devnet up, deploy the web example, fetch it, read logs, close, devnet down', async () => {
    const up = souk(['devnet', 'up', '--dir', dir])
    assert.is(up.code, 0, up.out + up.err)
    assert.match(up.out, new RegExp(`souk --home ${dir}/tenant deploy examples/web.yaml`))
    pids = JSON.parse(readFileSync(join(dir, 'devnet.json'), 'utf8')).nodes.map((n: any) => n.pid)
    assert.is(pids.length, 7)

    const dep = souk(['--home', join(dir, 'tenant'), 'deploy', 'examples/web.yaml'])
    assert.is(dep.code, 0, dep.out + dep.err)
    for (const step of ['deployment file valid', 'published', 'lease final', 'manifest accepted', 'services running']) assert.match(dep.out, new RegExp(step))
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(dep.out)?.[0]
    const lease = /^lease ([0-9a-f]{64})$/m.exec(dep.out)?.[1]
    assert.ok(url != null && lease != null, dep.out)
    const page = await fetch(url!).then(async (r) => await r.text())
    assert.match(page, /hello from souk/)

    const logs = souk(['--home', join(dir, 'tenant'), 'lease', 'logs', lease!, '--tail', '20'])
    assert.is(logs.code, 0, logs.err)
    assert.match(logs.out, /web \| .*response:200/)

    // a command in the container, through the provider, for the tenant only
    const sh = souk(['--home', join(dir, 'tenant'), 'lease', 'shell', lease!, '--', 'sh', '-c', 'cat /www/index.html; exit 3'])
    assert.is(sh.code, 3, sh.err)
    assert.match(sh.out, /hello from souk/)

    // the winning provider's process stops and starts again: the lease and its container are adopted
    const state = JSON.parse(readFileSync(join(dir, 'devnet.json'), 'utf8'))
    const status = JSON.parse(souk(['--home', join(dir, 'tenant'), 'lease', 'status', lease!, '--json']).out)
    const winner = state.nodes.find((n: any) => n.peerId === status.deployment.provider)
    assert.ok(winner != null, 'the winning provider is a devnet node')
    assert.is(souk(['--home', winner.home, 'node', 'stop']).code, 0)
    for (let i = 0; i < 100; i++) { try { process.kill(winner.pid, 0) } catch { break } await new Promise((resolve) => setTimeout(resolve, 100)) }
    const restarted = spawn(process.execPath, [join(root, 'bin/souk'), '--home', winner.home, 'node', 'start'], { detached: true, stdio: 'ignore', env: process.env })
    // this test is its parent: it learns of the exit through the event, not through kill(pid, 0),
    // which a not-yet-reaped child would pass
    const restartedExit = new Promise<void>((resolve) => restarted.once('exit', () => resolve()))
    restarted.unref()
    let after: any
    for (let i = 0; i < 100 && after?.provider?.state !== 'running'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      const r = souk(['--home', join(dir, 'tenant'), 'lease', 'status', lease!, '--json'])
      if (r.code === 0) after = JSON.parse(r.out)
    }
    assert.is(after?.provider?.state, 'running', 'the restarted provider adopted the lease')
    assert.match(await fetch(url!).then(async (r) => await r.text()), /hello from souk/)

    // a crash from the command line, and a start from the node's home: the tenant knows its lease again
    const listed = (): unknown => JSON.parse(souk(['--home', join(dir, 'tenant'), 'lease', 'list', '--json']).out).tenant.map((d: any) => [d.order, d.state])
    const before = listed()
    const kill = souk(['devnet', 'kill', 'tenant', '--dir', dir])
    assert.is(kill.code, 0, kill.err)
    assert.match(kill.out, /killed tenant/)
    const down = souk(['devnet', 'status', '--dir', dir])
    assert.is(down.code, 1)
    assert.match(down.out, /tenant\s+stopped/)
    const start = souk(['devnet', 'start', 'tenant', '--dir', dir])
    assert.is(start.code, 0, start.err)
    assert.equal(listed(), before)

    const close = souk(['--home', join(dir, 'tenant'), 'lease', 'close', lease!])
    assert.is(close.code, 0, close.err)
    const stopped = await soukAsync(['devnet', 'down', '--dir', dir])
    assert.is(stopped.code, 0, stopped.err)

    await Promise.race([restartedExit, new Promise((resolve) => setTimeout(resolve, 20_000))])
    assert.is(restarted.exitCode != null || restarted.signalCode != null, true, 'the restarted provider stopped')
    for (const p of pids) assert.throws(() => process.kill(p, 0), undefined, `process ${p} still running`)
    const left = await docker.listContainers({ all: true, filters: { label: [`souk.lease=${lease}`] } })
    assert.is(left.length, 0)
  })

  test('a bad deployment file is refused before anything is published, with the path of each error', () => {
    const r = souk(['--home', join(dir, 'none'), 'deploy', 'test/fixtures/sdl/invalid/expose.yaml'])
    assert.is(r.code, 1)
    assert.match(r.err, /services\.web\.expose\[0\]\.port: must be an integer 1-65535/)
    assert.not.match(r.err, /at .*\.ts:\d+/)
  })

  test('a command against a node that is not running says how to start it', () => {
    const r = souk(['--home', join(dir, 'nobody'), 'lease', 'list'])
    assert.is(r.code, 1)
    assert.match(r.err, /daemon is not running.*node start/)
  })

  test.run()
}
