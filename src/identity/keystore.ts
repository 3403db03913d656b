import { promises as fs, constants as fsc } from 'node:fs'
import { join, dirname } from 'node:path'
import { randomBytes } from 'node:crypto'
import { identityFromSeed, generateIdentity } from './identity.ts'
import type { Identity } from './identity.ts'
import { KeystoreError, KeystoreErrorCode } from './errors.ts'
import { KEY_FILE_MAX_BYTES, KEY_FILE_MODE, KEY_FILE_NAME, KEY_FILE_VERSION } from './constants.ts'
import { errorCode } from '../util/index.ts'

/** The key file's JSON form. The seed is the secret; the rest lets a person check which key it is. */
export interface KeyFile {
  version: number
  type: 'ed25519'
  seed: string
  publicKey: string
  peerId: string
}

export function keyFilePath (home: string): string {
  return join(home, KEY_FILE_NAME)
}

export function encodeKeyFile (id: Identity): string {
  const kf: KeyFile = {
    version: KEY_FILE_VERSION,
    type: 'ed25519',
    seed: Buffer.from(id.seed).toString('base64'),
    publicKey: Buffer.from(id.publicKey).toString('base64'),
    peerId: id.peerId.toString()
  }
  return JSON.stringify(kf, null, 2) + '\n'
}

/** Parses and checks a key file's text: the public key and peer ID must match the seed. */
export function decodeKeyFile (text: string, where = 'key file'): Identity {
  if (text.length > KEY_FILE_MAX_BYTES) throw new KeystoreError(KeystoreErrorCode.MALFORMED, `${where}: larger than ${KEY_FILE_MAX_BYTES} bytes; not a souk key file`)
  let kf: Partial<KeyFile>
  try {
    kf = JSON.parse(text)
  } catch {
    throw new KeystoreError(KeystoreErrorCode.MALFORMED, `${where}: not valid JSON`)
  }
  if (kf == null || typeof kf !== 'object') throw new KeystoreError(KeystoreErrorCode.MALFORMED, `${where}: not a JSON object`)
  if (kf.version !== KEY_FILE_VERSION) throw new KeystoreError(KeystoreErrorCode.MALFORMED, `${where}: version must be ${KEY_FILE_VERSION}`)
  if (kf.type !== 'ed25519') throw new KeystoreError(KeystoreErrorCode.MALFORMED, `${where}: type must be "ed25519"`)
  if (typeof kf.seed !== 'string') throw new KeystoreError(KeystoreErrorCode.MALFORMED, `${where}: seed is missing`)
  const seed = Buffer.from(kf.seed, 'base64')
  if (seed.length !== 32 || seed.toString('base64') !== kf.seed) throw new KeystoreError(KeystoreErrorCode.MALFORMED, `${where}: seed must be 32 bytes of base64`)
  const id = identityFromSeed(new Uint8Array(seed))
  if (kf.publicKey != null && kf.publicKey !== Buffer.from(id.publicKey).toString('base64')) {
    throw new KeystoreError(KeystoreErrorCode.MALFORMED, `${where}: publicKey does not belong to the seed`)
  }
  if (kf.peerId != null && kf.peerId !== id.peerId.toString()) {
    throw new KeystoreError(KeystoreErrorCode.MALFORMED, `${where}: peerId does not belong to the seed`)
  }
  return id
}

/** Writes a file atomically with owner-only permissions: a crash leaves the old file or the new one, never half of one. */
export async function writeSecretFile (path: string, text: string, overwrite = false): Promise<void> {
  await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 })
  if (!overwrite) {
    try {
      await fs.access(path, fsc.F_OK)
      throw new KeystoreError(KeystoreErrorCode.EXISTS, `${path} already exists; refusing to overwrite a key`)
    } catch (err) {
      if (err instanceof KeystoreError) throw err
    }
  }
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const fh = await fs.open(tmp, 'wx', KEY_FILE_MODE)
  try {
    await fh.writeFile(text)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await fs.chmod(tmp, KEY_FILE_MODE)
  await fs.rename(tmp, path)
}

export async function loadKey (home: string): Promise<Identity> {
  const path = keyFilePath(home)
  let st
  try {
    st = await fs.stat(path)
  } catch {
    throw new KeystoreError(KeystoreErrorCode.NOT_FOUND, `no key at ${path}; create one with \`souk keys create\``)
  }
  if ((st.mode & 0o077) !== 0) {
    throw new KeystoreError(KeystoreErrorCode.INSECURE, `${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}); run \`chmod 600 ${path}\``)
  }
  if (st.size > KEY_FILE_MAX_BYTES) throw new KeystoreError(KeystoreErrorCode.MALFORMED, `${path}: larger than ${KEY_FILE_MAX_BYTES} bytes; not a souk key file`)
  return decodeKeyFile(await fs.readFile(path, 'utf8'), path)
}

export async function createKey (home: string, opts: { overwrite?: boolean } = {}): Promise<Identity> {
  const id = generateIdentity()
  await writeSecretFile(keyFilePath(home), encodeKeyFile(id), opts.overwrite === true)
  return id
}

export async function importKey (home: string, text: string, opts: { overwrite?: boolean } = {}): Promise<Identity> {
  const id = decodeKeyFile(text, 'imported key')
  await writeSecretFile(keyFilePath(home), encodeKeyFile(id), opts.overwrite === true)
  return id
}

/** Loads the key, creating it first when the home has none. */
export async function loadOrCreateKey (home: string): Promise<Identity> {
  try {
    return await loadKey(home)
  } catch (err) {
    if (errorCode(err) === KeystoreErrorCode.NOT_FOUND) return await createKey(home)
    throw err
  }
}
