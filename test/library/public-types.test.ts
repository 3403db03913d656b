// The walker behind "no any reachable from the package root" finds an any however deep a
// declaration file hides it: a package root that leaks one must fail that test.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { publicTypeFindings } from './public-types.ts'

test('an any behind a method, a promise, a namespace and a listener is found; a clean root has none', () => {
  const dir = mkdtempSync(join(tmpdir(), 'souk-types-'))
  try {
    writeFileSync(join(dir, 'inner.d.ts'), [
      'export interface Book { on: (event: \'x\', fn: (x: any) => void) => () => void }',
      'export interface Clean { read: () => Promise<{ id: string }> }'
    ].join('\n'))
    writeFileSync(join(dir, 'index.d.ts'), [
      'import type { Book, Clean } from \'./inner.js\'',
      'export * as ns from \'./inner.js\'',
      'export declare function open (): Promise<{ book: Book }>',
      'export declare function clean (): Clean'
    ].join('\n'))
    const findings = publicTypeFindings(join(dir, 'index.d.ts'), dir)
    const anys = findings.filter((f) => f.kind === 'any').map((f) => f.path)
    assert.ok(anys.some((p) => p.startsWith('open()') && p.includes('on(fn)')), `found: ${anys.join(', ')}`)
    assert.not.ok(anys.some((p) => p.startsWith('clean()')), `a clean export is not reported: ${anys.join(', ')}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
