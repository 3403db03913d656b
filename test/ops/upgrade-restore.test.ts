// docs/operations.md's upgrade, backup and reload steps, run as an operator runs them, on a devnet
// of real processes and a real Docker engine: a provider daemon serving a lease is replaced by
// another build on the same home while the lease's URL is polled; a validator is replaced while
// the committee finalizes; prices and attributes reload into the next bid; a provider's home is
// backed up live, wiped, restored to another path and started; a validator's home is backed up
// stopped, wiped, restored and rejoins.
//
// "Another build": the daemon that is replaced runs the compiled package (dist/, what an
// installed release runs) and its replacement the TypeScript sources of the checkout (what
// `git pull` brings), or the other way round for the validator. Both come from this tree, so the
// test shows the mechanics of a swap (no container stops, the new process adopts the old one's
// state from the home), not compatibility between two releases; store migrations cover that.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, mkdirSync, readdirSync, copyFileSync, openSync, closeSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'
import { devnetUp, devnetDown } from '../../src/node/devnet.ts'
import type { DevnetState } from '../../src/node/devnet.ts'
import { controlClient } from '../../src/api/index.ts'
import { controlSocketPath, READY_FILE } from '../../src/node/daemon.ts'
import { LABEL_LEASE } from '../../src/runtime/index.ts'

const root = new URL('../..', import.meta.url).pathname
const found = dockerFromEnv()
const DIST_MAIN = join(root, 'dist/src/cli/main.js')
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

if (found == null) {
  skipNotice('test/ops/upgrade-restore.test.ts')
} else {
  const docker = found
  const dir = mkdtempSync(join(tmpdir(), 'souk-ops-upgrade-'))
  const net = join(dir, 'net')
  const launcher = join(dir, 'souk-dist.mjs')
  // the compiled build's command line, as bin/souk runs it in an installed package
  writeFileSync(launcher, `const { main } = await import(${JSON.stringify(pathToFileURL(DIST_MAIN).href)})\nawait main(process.argv)\n`)
  const hasDist = existsSync(DIST_MAIN)
  let state: DevnetState
  const mine = new Set<number>()
  const log: string[] = []
  const note = (s: string): void => { log.push(s); process.stdout.write(`  ${s}\n`) }
  const home = (name: string): string => state.nodes.find((n) => n.name === name)!.home
  const api = (h: string): ReturnType<typeof controlClient> => controlClient({ socketPath: controlSocketPath(h), home: h })
  const sdl = (region: string, greeting: string): string => readFileSync(join(root, 'examples/web.yaml'), 'utf8').replace('region: local', `region: ${region}`).replace('GREETING=hello', `GREETING=${greeting}`)

  /** a souk command; the event loop keeps running meanwhile (pollers, children) */
  const t0 = Date.now()
  const at = (what: string): void => { if (process.env.SOUK_TEST_TRACE === '1') process.stdout.write(`  [${((Date.now() - t0) / 1000).toFixed(1)} s] ${what}\n`) }
  async function souk (h: string, args: string[]): Promise<{ code: number | null, out: string, err: string }> {
    at(`souk ${args.join(' ')}`)
    const c = spawn(process.execPath, [join(root, 'bin/souk'), '--home', h, ...args], { cwd: root, env: process.env })
    let out = ''; let err = ''
    c.stdout.on('data', (d) => { out += String(d) })
    c.stderr.on('data', (d) => { err += String(d) })
    const code = await new Promise<number | null>((resolve) => c.on('close', resolve))
    return { code, out, err }
  }

  /** `souk node start` on a home, from the compiled build or the sources; resolves when it answers */
  async function start (h: string, build: 'dist' | 'source'): Promise<number> {
    at(`start ${h} (${build})`)
    const script = build === 'dist' && hasDist ? launcher : join(root, 'bin/souk')
    const fd = openSync(join(h, 'node.log'), 'a')
    const child = spawn(process.execPath, [script, '--home', h, 'node', 'start'], { cwd: root, detached: true, stdio: ['ignore', fd, fd], env: process.env })
    closeSync(fd)
    child.unref()
    const pid = child.pid!
    mine.add(pid)
    const end = Date.now() + 90_000
    while (Date.now() < end) {
      assert.ok(child.exitCode == null, `the daemon on ${h} exited: ${readFileSync(join(h, 'node.log'), 'utf8').split('\n').slice(-12).join('\n')}`)
      const ready = (() => { try { return JSON.parse(readFileSync(join(h, READY_FILE), 'utf8')) } catch { return undefined } })()
      if (ready?.pid === pid && await api(h).get('/v1/node').then(() => true, () => false)) return pid
      await sleep(200)
    }
    throw new Error(`the daemon on ${h} did not start within 90 s`)
  }

  /** SIGTERM, as `systemctl stop` sends it; resolves once the process is gone */
  async function stop (h: string): Promise<void> {
    at(`stop ${h}`)
    const pid = JSON.parse(readFileSync(join(h, READY_FILE), 'utf8')).pid as number
    process.kill(pid, 'SIGTERM')
    for (let i = 0; i < 300; i++) {
      try { process.kill(pid, 0) } catch { mine.delete(pid); return }
      await sleep(100)
    }
    throw new Error(`pid ${pid} did not stop within 30 s of SIGTERM`)
  }

  async function until<T> (what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
    at(`until ${what}`)
    const end = Date.now() + ms
    while (Date.now() < end) {
      const v = await fn().catch(() => undefined)
      if (v !== undefined) return v
      await sleep(250)
    }
    throw new Error(`timed out waiting for ${what}`)
  }

  /** GETs a URL over and over until stopped; a *.localhost URL goes to loopback with its Host header */
  function poll (url: string): { stop: () => Promise<{ ok: number, failed: number }> } {
    const u = new URL(url)
    let ok = 0; let failed = 0; let running = true
    const once = async (): Promise<boolean> => await new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port: u.port, path: u.pathname, headers: { host: u.host }, timeout: 5_000 }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode === 200))
      })
      req.on('timeout', () => req.destroy())
      req.on('error', () => resolve(false))
      req.end()
    })
    const loop = (async () => { while (running) { if (await once()) ok++; else failed++; await sleep(100) } })()
    return { stop: async () => { running = false; await loop; return { ok, failed } } }
  }

  async function container (lease: string): Promise<{ id: string, startedAt: string, running: boolean }> {
    const [c] = await docker.listContainers({ all: true, filters: { label: [`${LABEL_LEASE}=${lease}`] } })
    assert.ok(c != null, `no container for lease ${lease}`)
    const info = await docker.getContainer(c.Id).inspect()
    return { id: info.Id, startedAt: info.State.StartedAt, running: info.State.Running }
  }

  /** what `souk deploy` sends, through the tenant's control API (a CLI start costs seconds here) */
  async function deploy (region: string, greeting: string): Promise<{ lease: string, url: string, ingress?: string, prices: unknown }> {
    at(`deploy ${greeting}`)
    for await (const line of api(home('tenant')).stream<any>('POST', '/v1/deploy', { sdl: sdl(region, greeting), bidWindowMs: 1000 })) {
      if (line.error != null) throw new Error(`deploy ${greeting}: ${String(line.error.message)}`)
      if (line.result != null) {
        const urls = line.result.services[0].urls as string[]
        return { lease: line.result.order, url: urls.find((u) => new URL(u).hostname === '127.0.0.1')!, ingress: urls.find((u) => new URL(u).hostname.endsWith('.localhost')), prices: line.result.prices }
      }
    }
    throw new Error(`deploy ${greeting}: no outcome`)
  }
  const check = async (h: string, name: string): Promise<string> => ((await api(h).get<any>('/v1/health')).checks as any[]).find((c) => c.name === name)?.status

  const statements = async (lease: string): Promise<Array<{ sequence: number, periodEnd: number }>> => (await api(home('tenant')).get<any>(`/v1/leases/${lease}/usage`)).statements
  const heights = async (): Promise<Record<string, number>> => Object.fromEntries(await Promise.all(state.nodes.filter((n) => n.role === 'validator').map(async (n) => [n.name, await api(n.home).get<any>('/v1/node').then((s) => s.committee?.height as number, () => -1)])))
  let lastDryRun: unknown
  // the provider's answer (the tenant may need a moment to find a provider that just restarted)
  const dryRun = async (region: string): Promise<any> => await until('the provider\'s dry-run answer', async () => {
    const r = await api(home('tenant')).post<any>('/v1/deploy/dry-run', { sdl: sdl(region, 'dry'), bidWindowMs: 1000 })
    lastDryRun = r
    return r.answers.find((a: any) => a.provider === state.nodes.find((n) => n.role === 'provider')!.peerId && a.outcome !== 'no-answer')
  }, 30_000).catch((err) => { throw new Error(`${String(err.message)}: last answer ${JSON.stringify(lastDryRun)}`) })

  let first: { lease: string, url: string, ingress?: string }
  let second: { lease: string }
  let providerHome = ''
  const providerYaml = (): string => readFileSync(join(providerHome, 'souk.yaml'), 'utf8')

  test.before(async () => {
    state = await devnetUp(net, { validators: 4, providers: 1, bidWindowMs: 1000, settings: { provider: { usageIntervalMs: 2000 } } })
    providerHome = home('provider-0')
    if (!hasDist) note(`${DIST_MAIN} is missing (run npm run build): both sides of each swap run the sources`)
    // the provider runs the compiled build from here on: the release installed before the upgrade
    await stop(providerHome)
    await start(providerHome, 'dist')
  })

  test.after(async () => {
    // the daemons started here (one on a home the devnet no longer knows), then the devnet
    for (const pid of mine) { try { process.kill(pid, 'SIGTERM') } catch {} }
    for (let i = 0; i < 100 && [...mine].some((pid) => { try { process.kill(pid, 0); return true } catch { return false } }); i++) await sleep(100)
    for (const pid of mine) { try { process.kill(pid, 'SIGKILL') } catch {} }
    await devnetDown(net).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  })

  test('a provider daemon is replaced by another build on its home: the lease never stops and is adopted', async () => {
    first = await deploy('local', 'first')
    const before = await container(first.lease)
    assert.ok(before.running)
    await until('a usage statement', async () => (await statements(first.lease)).length >= 1 ? true : undefined)
    const direct = poll(first.url)
    const viaIngress = first.ingress != null ? poll(first.ingress) : undefined
    await sleep(1_000)

    // docs/operations.md, "Upgrading with leases running": the new build is in place; stop, start
    const swappedAt = Date.now()
    await stop(providerHome)
    await start(providerHome, 'source')
    // the tenant reaches the new process (a new connection to the same peer ID and port)
    const st = await until('souk lease status with the provider\'s answer', async () => {
      const r = await souk(home('tenant'), ['lease', 'status', first.lease])
      return r.code === 0 && /^service {3}web {2}1\/1 ready/m.test(r.out) ? r : undefined
    })
    assert.match(st.out, /^state {5}running$/m)
    await sleep(1_000)
    const d = await direct.stop()
    const i = await viaIngress?.stop()
    note(`provider swap (${hasDist ? 'dist → source' : 'source → source'}): host port ${d.ok} answered, ${d.failed} failed; ingress hostname ${i?.ok ?? 0} answered, ${i?.failed ?? 0} failed (the ingress is served by the daemon)`)
    assert.is(d.failed, 0, 'the lease\'s host port stopped answering during the swap')
    assert.ok(d.ok > 0)

    const after = await container(first.lease)
    assert.equal(after, before, 'the container was restarted or replaced')
    // the new daemon holds the lease: it bills it, lists it and holds its capacity
    const s = await until('a usage statement from the new daemon', async () => (await statements(first.lease)).find((x) => x.periodEnd > swappedAt))
    assert.ok(s.sequence > 0)
    const seqs = (await statements(first.lease)).map((x) => x.sequence)
    assert.equal(seqs, seqs.map((_, k) => k + seqs[0]), `usage sequence has a gap: ${seqs.join(',')}`)
    // the doc's checks after the restart
    // the doc's checks after the restart (souk node status, souk provider status)
    assert.is(await check(providerHome, 'runtime'), 'ok')
    const p = await api(providerHome).get<any>('/v1/provider')
    assert.ok(p.leases.some((l: any) => l.lease === first.lease && l.state === 'running'), JSON.stringify(p.leases))
    assert.ok(p.reservations.some((r: any) => r.order === first.lease && r.state === 'won'))
    if (i != null) assert.ok(await until('the ingress after the swap', async () => { const q = poll(first.ingress!); await sleep(300); const r = await q.stop(); return r.ok > 0 ? true : undefined }))
  })

  test('a validator is replaced by another build while the committee keeps finalizing', async () => {
    const v = home('validator-3')
    const h0 = await heights()
    await stop(v)
    // three of four decide: a deploy goes through while it is down
    second = await deploy('local', 'second')
    const h1 = await heights()
    assert.ok(h1['validator-0'] > h0['validator-0'], `the committee stalled: ${JSON.stringify([h0, h1])}`)
    await start(v, 'dist')
    const inStep = await until('the replaced validator in step', async () => {
      const h = await heights()
      const top = Math.max(...Object.values(h))
      return h['validator-3'] >= top - 1 && h['validator-3'] > h1['validator-0'] ? h : undefined
    })
    note(`validator swap (${hasDist ? 'source → dist' : 'source → source'}): heights before ${JSON.stringify(h0)}, after ${JSON.stringify(inStep)}`)
    assert.is(await check(v, 'committee'), 'ok')
  })

  test('souk node reload: new prices and attributes reach the next bid; a bad price table is refused and changes nothing', async () => {
    // web: 0.25 CPU × 10 + 64 MiB × 1 + 128 MiB × 0.1 per GiB
    assert.equal((await dryRun('local')).prices, [{ denom: 'uakt', amount: '2.575' }])
    const moon = await dryRun('moon')
    assert.is(moon.outcome, 'declined')
    assert.is(moon.reasons[0].code, 'ERR_MISSING_ATTRIBUTE')

    const good = providerYaml().replace('attributes: { region: local }', 'attributes: { region: moon }').replace('cpu: "10"', 'cpu: "20"')
    writeFileSync(join(providerHome, 'souk.yaml'), good)
    const r = await souk(providerHome, ['node', 'reload'])
    assert.is(r.code, 0, r.out + r.err)
    assert.match(r.out, /^applied {5}provider\.attributes$/m)
    assert.match(r.out, /^applied {5}provider\.prices$/m)
    assert.equal((await dryRun('moon')).prices, [{ denom: 'uakt', amount: '5.075' }])
    assert.is((await dryRun('local')).reasons[0].code, 'ERR_MISSING_ATTRIBUTE')
    // the next real bid: the lease is priced by the new table
    const third = await deploy('moon', 'third')
    assert.equal(third.prices, [{ denom: 'uakt', amount: '5.075' }])
    const leases = await api(home('tenant')).get<any>('/v1/leases')
    assert.equal(leases.tenant.find((x: any) => x.order === third.lease).prices, [{ denom: 'uakt', amount: '5.075' }])
    assert.equal(leases.tenant.find((x: any) => x.order === first.lease).prices, [{ denom: 'uakt', amount: '2.575' }], 'a bid already made changed')
    const attrs = (await api(providerHome).get<any>('/v1/provider')).attributes
    assert.is(attrs.region, 'moon')

    // refused, naming the setting; nothing of the file applies (not the log level either)
    const bad = (text: string): void => { writeFileSync(join(providerHome, 'souk.yaml'), good.replace('level: info', 'level: debug').replace('cpu: "20"', text)) }
    bad('cpu: "20.0000000000000000001"')
    const refused = await souk(providerHome, ['node', 'reload'])
    assert.is(refused.code, 1, refused.out + refused.err)
    assert.match(refused.err, /^error: \S+souk\.yaml: provider\.prices\.cpu: "20\.0000000000000000001" is not a non-negative decimal .* fraction digits; nothing was reloaded$/m)
    assert.not.match(refused.err, /at .*\.ts:\d+/)
    for (const [text, re] of [
      ['cpu: "2O"', /provider\.prices\.cpu: must be a decimal/],
      ['cpuu: "20"', /provider\.prices\.cpuu: is not a priced resource/]
    ] as Array<[string, RegExp]>) {
      bad(text)
      const err = await api(providerHome).post('/v1/node/reload', {}).then(() => undefined, (e: Error) => e)
      assert.match(String(err?.message), re)
    }
    assert.equal((await dryRun('moon')).prices, [{ denom: 'uakt', amount: '5.075' }])
    writeFileSync(join(providerHome, 'souk.yaml'), good)
    const same = await api(providerHome).post<any>('/v1/node/reload', {})
    assert.equal(same.changed, [], 'a refused reload changed something (the log level?)')
  })

  test('a provider\'s home backed up live, wiped, restored to another path: same peer ID, its leases adopted', async () => {
    const backup = join(dir, 'backup-provider')
    const b = await souk(providerHome, ['node', 'backup', backup])
    assert.is(b.code, 0, b.out + b.err)
    assert.match(b.out, /^taken {7}from the running node$/m)
    assert.equal(readdirSync(backup).sort(), ['backup.json', 'committee.json', 'key.json', 'souk.yaml', 'store.db', 'store.db.id'])
    const peerId = (await api(providerHome).get<any>('/v1/node')).peerId
    const containers = await Promise.all([first.lease, second.lease].map(container))

    await stop(providerHome)
    rmSync(providerHome, { recursive: true, force: true })
    // docs/operations.md, "Backups and restores": the files into an empty home, then start
    const restored = join(dir, 'elsewhere', 'provider')
    mkdirSync(restored, { recursive: true, mode: 0o700 })
    for (const f of readdirSync(backup)) if (f !== 'backup.json') copyFileSync(join(backup, f), join(restored, f))
    providerHome = restored
    await start(restored, 'source')
    assert.is((await api(restored).get<any>('/v1/node')).peerId, peerId)
    const p = await api(restored).get<any>('/v1/provider')
    for (const l of [first.lease, second.lease]) assert.ok(p.leases.some((x: any) => x.lease === l && x.state === 'running'), JSON.stringify(p.leases))
    assert.equal(await Promise.all([first.lease, second.lease].map(container)), containers)
    const st = await until('the tenant\'s status from the restored provider', async () => (await api(home('tenant')).get<any>(`/v1/leases/${second.lease}`)).provider?.deployed?.services?.[0]?.ready === 1 ? true : undefined)
    assert.ok(st)
  })

  test('a validator\'s home: refused while it runs; backed up stopped, wiped, restored, it rejoins in step', async () => {
    const v = home('validator-2')
    const backup = join(dir, 'backup-validator')
    const live = await api(v).post('/v1/node/backup', { dir: backup }).then(() => undefined, (e: any) => e)
    assert.is(live?.code, 'ERR_BACKUP_LIVE_VALIDATOR')
    assert.match(live.message, /a running validator is not backed up.*Stop it/)
    const peerId = (await api(v).get<any>('/v1/node')).peerId
    await stop(v)
    const b = await souk(v, ['node', 'backup', backup])
    assert.is(b.code, 0, b.out + b.err)
    assert.match(b.out, /^taken {7}from the stopped node$/m)
    rmSync(v, { recursive: true, force: true })
    mkdirSync(v, { recursive: true, mode: 0o700 })
    for (const f of readdirSync(backup)) if (f !== 'backup.json') copyFileSync(join(backup, f), join(v, f))
    await start(v, 'source')
    assert.is((await api(v).get<any>('/v1/node')).peerId, peerId)
    const h1 = await heights()
    await until('the restored validator in step', async () => {
      const h = await heights()
      const top = Math.max(...Object.values(h))
      return h['validator-2'] >= top - 1 && h['validator-2'] > h1['validator-2'] ? h : undefined
    })
  })

  test('closing the leases frees the provider\'s capacity', async () => {
    const before = await api(providerHome).get<any>('/v1/provider')
    for (const d of (await api(home('tenant')).get<any>('/v1/leases')).tenant.filter((x: any) => x.state === 'running')) {
      await api(home('tenant')).post(`/v1/leases/${d.order}/close`, {})
    }
    const after = await until('capacity back', async () => {
      const p = await api(providerHome).get<any>('/v1/provider')
      return p.reservations.length === 0 ? p : undefined
    })
    assert.ok(after.free.cpu > before.free.cpu)
    assert.equal(await docker.listContainers({ all: true, filters: { label: [`${LABEL_LEASE}=${first.lease}`] } }), [])
  })

  test.run()
}
