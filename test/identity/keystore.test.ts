import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, chmodSync, writeFileSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createKey, loadKey, importKey, encodeKeyFile, loadOrCreateKey, keyFilePath, KeystoreError, peerIdOfPublicKey, publicKeyOfPeerId } from '../../src/identity/index.ts'

const homes: string[] = []
function home (): string { const d = mkdtempSync(join(tmpdir(), 'souk-keys-')); homes.push(d); return d }
test.after(() => { for (const h of homes) rmSync(h, { recursive: true, force: true }) })

test('a created key is written 0600 and loads back with the same peer ID', async () => {
  const h = home()
  const id = await createKey(h)
  assert.is(statSync(keyFilePath(h)).mode & 0o777, 0o600)
  const again = await loadKey(h)
  assert.is(again.peerId.toString(), id.peerId.toString())
  assert.ok(id.peerId.toString().startsWith('12D3KooW'))
  assert.is(peerIdOfPublicKey(id.publicKey), id.peerId.toString())
  assert.equal(publicKeyOfPeerId(id.peerId.toString()), id.publicKey)
  // no temporary files left behind
  assert.equal(readdirSync(h), ['key.json'])
})

test('refuses a key file readable by others', async () => {
  const h = home()
  await createKey(h)
  chmodSync(keyFilePath(h), 0o644)
  try {
    await loadKey(h)
    assert.unreachable('loaded an insecure key file')
  } catch (err: any) {
    assert.instance(err, KeystoreError)
    assert.is(err.code, 'ERR_KEY_FILE_INSECURE')
    assert.match(err.message, /chmod 600/)
  }
})

test('refuses to overwrite an existing key', async () => {
  const h = home()
  await createKey(h)
  try {
    await createKey(h)
    assert.unreachable()
  } catch (err: any) {
    assert.is(err.code, 'ERR_KEY_EXISTS')
  }
})

test('export then import into another home gives the same identity', async () => {
  const a = home(); const b = home()
  const id = await createKey(a)
  const imported = await importKey(b, encodeKeyFile(id))
  assert.is(imported.peerId.toString(), id.peerId.toString())
  assert.is((await loadKey(b)).peerId.toString(), id.peerId.toString())
})

test('malformed key files give clear typed errors', async () => {
  const cases: Array<[string, RegExp]> = [
    ['not json', /not valid JSON/],
    ['{"version":2,"type":"ed25519","seed":"AAAA"}', /version must be 1/],
    ['{"version":1,"type":"rsa","seed":"AAAA"}', /type must be "ed25519"/],
    ['{"version":1,"type":"ed25519","seed":"AAAA"}', /seed must be 32 bytes/],
    [JSON.stringify({ version: 1, type: 'ed25519', seed: Buffer.alloc(32, 1).toString('base64'), publicKey: Buffer.alloc(32).toString('base64') }), /publicKey does not belong/]
  ]
  for (const [text, re] of cases) {
    const h = home()
    writeFileSync(keyFilePath(h), text, { mode: 0o600 })
    try {
      await loadKey(h)
      assert.unreachable(text)
    } catch (err: any) {
      assert.is(err.code, 'ERR_KEY_FILE_MALFORMED', text)
      assert.match(err.message, re)
    }
  }
})

test('a missing key says how to create one; loadOrCreateKey creates it', async () => {
  const h = home()
  try { await loadKey(h); assert.unreachable() } catch (err: any) {
    assert.is(err.code, 'ERR_KEY_NOT_FOUND')
    assert.match(err.message, /souk keys create/)
  }
  const id = await loadOrCreateKey(h)
  assert.is((await loadOrCreateKey(h)).peerId.toString(), id.peerId.toString())
})

test.run()
