import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { errorCode, errorField, errorMessage, errorName } from '../../src/util/index.ts'

test('a caught value is read without trusting its type', () => {
  const e = Object.assign(new Error('gone'), { code: 'ENOENT', syscall: 'open' })
  assert.is(errorMessage(e), 'gone')
  assert.is(errorCode(e), 'ENOENT')
  assert.is(errorName(new DOMException('x', 'AbortError')), 'AbortError')
  assert.is(errorField(e, 'syscall'), 'open')
  for (const odd of [undefined, null, 42, 'text', { code: 7 }, Object.create(null)]) {
    assert.type(errorMessage(odd), 'string')
    assert.is(errorCode(odd), undefined)
  }
  assert.is(errorMessage({ message: 'plain object' }), 'plain object')
})

test.run()
