import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { addAmounts, compareAmounts, formatAmount, multiplyAmount, parseAmount, mulDivCeil, AMOUNT_ONE, AmountError } from '../../src/market/index.ts'

test('0.1 + 0.2 is exactly 0.3', () => {
  assert.is(addAmounts('0.1', '0.2'), '0.3')
  assert.is(compareAmounts(addAmounts('0.1', '0.2'), '0.3'), 0)
})

test('sums and products keep every digit', () => {
  assert.is(addAmounts('999999999999999999999999999999', '0.000000000000000001'), '999999999999999999999999999999.000000000000000001')
  assert.is(multiplyAmount('0.000000000000000001', 3), '0.000000000000000003')
  assert.is(multiplyAmount('12.5', 4), '50')
  assert.is(multiplyAmount('1.10', 0), '0')
  assert.is(addAmounts('1.50', '2.500'), '4')
})

test('compare decides by value, not by text', () => {
  assert.is(compareAmounts('12', '10'), 1)
  assert.is(compareAmounts('9.99', '10'), -1)
  assert.is(compareAmounts('10.000', '10'), 0)
  assert.is(compareAmounts('0.000000000000000002', '0.000000000000000001'), 1)
  assert.is(compareAmounts('100000000000000000000000000001', '100000000000000000000000000000'), 1)
})

test('parse and format round-trip without trailing zeros', () => {
  assert.is(parseAmount('1'), AMOUNT_ONE)
  assert.is(parseAmount('0.5'), AMOUNT_ONE / 2n)
  assert.is(formatAmount(parseAmount('0010.2500')), '10.25')
  assert.is(formatAmount(0n), '0')
})

test('malformed amounts are typed errors naming the value', () => {
  for (const bad of ['', '-1', '1e3', '1.', '.5', ' 1', '0x10', '1.0000000000000000001', '1'.repeat(31), 'NaN']) {
    try {
      parseAmount(bad, 'pricing.cpu')
      assert.unreachable(`accepted ${JSON.stringify(bad)}`)
    } catch (err: any) {
      assert.instance(err, AmountError)
      assert.is(err.code, 'ERR_BAD_AMOUNT')
      assert.match(err.message, /^pricing\.cpu: /)
    }
  }
  assert.throws(() => formatAmount(-1n), /negative/)
})

test('parse takes exactly the strings of the amount rule, and values them digit for digit', () => {
  // the rule as a pattern, and the value as the digits say: the parser scans instead of matching
  const rule = /^([0-9]{1,30})(?:\.([0-9]{1,18}))?$/
  const expected = (a: string): bigint | 'refused' => {
    const m = rule.exec(a)
    return m == null ? 'refused' : BigInt(m[1]) * AMOUNT_ONE + BigInt((m[2] ?? '').padEnd(18, '0'))
  }
  const actual = (a: string): bigint | 'refused' => { try { return parseAmount(a) } catch (err) { assert.instance(err, AmountError); return 'refused' } }
  let x = 11
  const rand = (n: number): number => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return (x >>> 8) % n }
  const cases = ['0', '00', '007.10', '1.', '.5', '1..2', '1.2.3', '+1', '٣', '123456789012345', '1234567890123456',
    '0.123456789012345', '0.1234567890123456', '1.' + '9'.repeat(18), '1.' + '9'.repeat(19), '9'.repeat(30) + '.' + '9'.repeat(18)]
  const alphabet = '0123456789.0123456789-+e x'
  for (let k = 0; k < 20_000; k++) {
    let s = ''
    if (k % 2 === 0) {
      for (let j = rand(40); j > 0; j--) s += alphabet[rand(alphabet.length)]
    } else {
      for (let j = 1 + rand(32); j > 0; j--) s += String(rand(10))
      if (rand(2) === 1) { s += '.'; for (let j = rand(21); j > 0; j--) s += String(rand(10)) }
    }
    cases.push(s)
  }
  for (const c of cases) assert.is(actual(c), expected(c), JSON.stringify(c))
})

test('mulDivCeil rounds up only when there is a remainder', () => {
  assert.is(mulDivCeil(10n, 3n, 3n), 10n)
  assert.is(mulDivCeil(10n, 1n, 3n), 4n)
  assert.is(mulDivCeil(0n, 1n, 3n), 0n)
})

test.run()
