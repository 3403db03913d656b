import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeKeyFile } from '../../src/identity/index.ts'
import { peerIdOfPublicKey } from '../../src/identity/index.ts'
import { leaseCertificateToJson, committeeFileToJson, ChangeAction } from '../../src/committee/index.ts'
import { toJsonText } from '../../src/api/json.ts'
import { committeeStatusLines } from '../../src/cli/commands/committee/running.ts'
import { cluster, key, order, bid } from './harness.ts'

const root = new URL('../..', import.meta.url).pathname
function souk (args: string[]): { out: string, code: number } {
  try {
    return { out: execFileSync(process.execPath, [join(root, 'bin/souk'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }), code: 0 }
  } catch (err: any) {
    return { out: String(err.stdout) + String(err.stderr), code: err.status }
  }
}

test('committee init writes a signed genesis; sign adds the missing signatures; verify checks it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'souk-cli-committee-'))
  try {
    const keys = [0, 1, 2, 3].map((i) => key(1, i))
    keys.forEach((k, i) => writeFileSync(join(dir, `k${i}.json`), encodeKeyFile(k), { mode: 0o600 }))
    const file = join(dir, 'committee.json')
    const init = souk(['committee', 'init', '--key', join(dir, 'k0.json'), join(dir, 'k1.json'), '--pubkey', Buffer.from(keys[2].publicKey).toString('hex'), Buffer.from(keys[3].publicKey).toString('hex'), '-o', file, '--genesis-time', '1700000000000'])
    assert.is(init.code, 0, init.out)
    assert.match(init.out, /4 validators, threshold 3, 2 signatures/)
    assert.match(init.out, /1 more signature/)
    const before = souk(['committee', 'verify', file])
    assert.is(before.code, 1)
    assert.match(before.out, /INVALID committee: genesis has 2 valid signatures/)
    assert.is(souk(['committee', 'sign', file, '--key', join(dir, 'k2.json')]).code, 0)
    const after = souk(['committee', 'verify', file, '--json'])
    assert.is(after.code, 0, after.out)
    assert.equal(JSON.parse(after.out).ok, true)
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).threshold, 3)
    const bad = souk(['committee', 'init', '--pubkey', 'abc', '-o', join(dir, 'x.json')])
    assert.is(bad.code, 1)
    assert.match(bad.out, /--pubkey\[0\]: must be 64 hex digits/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('committee verify checks a lease certificate against the committee file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'souk-cli-cert-'))
  const c = cluster(4, { seed: 21 })
  try {
    for (const m of c.members) c.boot(m)
    const o = order(key(2, 0), c.now(), c.now() + 200)
    c.submit(o)
    c.submit(bid(key(3, 0), o, c.now(), [{ denom: 'uakt', amount: '5' }]))
    c.run(1000)
    const cert = c.members[0].leases[0].certificate
    writeFileSync(join(dir, 'committee.json'), JSON.stringify(committeeFileToJson(c.genesis)))
    writeFileSync(join(dir, 'lease.json'), JSON.stringify(leaseCertificateToJson(cert)))
    const ok = souk(['committee', 'verify', join(dir, 'lease.json'), '--committee', join(dir, 'committee.json')])
    assert.is(ok.code, 0, ok.out)
    assert.match(ok.out, /ok: lease certificate with \d signatures \(threshold 3\)/)
    const forged = leaseCertificateToJson({ ...cert, provider: key(3, 1).publicKey })
    writeFileSync(join(dir, 'forged.json'), JSON.stringify(forged))
    const no = souk(['committee', 'verify', join(dir, 'forged.json'), '--committee', join(dir, 'committee.json')])
    assert.is(no.code, 1)
    assert.match(no.out, /INVALID lease-certificate: the lease is not included/)
    assert.match(souk(['committee', 'verify', join(dir, 'lease.json')]).out, /pass --committee/)
  } finally {
    c.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('committee status names the peer of a pending membership change', () => {
  const c = cluster(4, { seed: 22 })
  try {
    const j = c.add('v4', key(1, 4))
    for (const m of c.members) c.boot(m)
    c.run(300)
    j.node?.requestChange(ChangeAction.JOIN)
    c.run(300)
    const node = c.members[0].node!
    // what GET /v1/committee answers, through the control API's JSON
    const body = JSON.parse(toJsonText({ status: node.status(), files: node.committeeFiles().map(committeeFileToJson) }))
    assert.is(body.status.changes.length, 1, 'the join is ordered and pending')
    const lines = committeeStatusLines(body)
    assert.ok(lines.includes(`change      join ${peerIdOfPublicKey(j.id.publicKey)}  0 approvals`), lines.join('\n'))
  } finally {
    c.close()
  }
})

test.run()
