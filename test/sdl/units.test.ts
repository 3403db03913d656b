import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseCpu, parseSize, formatSize, formatCpu, formatTotals, SdlUnitError } from '../../src/sdl/index.ts'

test('cpu: numbers of cpus, strings, millicpu', () => {
  assert.is(parseCpu(1), 1000)
  assert.is(parseCpu(0.5), 500)
  assert.is(parseCpu(0.1), 100)
  assert.is(parseCpu('0.25'), 250)
  assert.is(parseCpu('2'), 2000)
  assert.is(parseCpu('100m'), 100)
  assert.is(parseCpu(' 1500m '), 1500)
  assert.is(parseCpu(64), 64000)
  assert.is(parseCpu('.5'), 500)
  assert.is(parseCpu(0), 0)
})

test('cpu: refused forms say why', () => {
  for (const bad of ['lots', '', '-1', '1.5m', '0.0005', -1, Number.NaN, Infinity, null, [], {}, true, '1e3']) {
    assert.throws(() => parseCpu(bad), (e: unknown) => e instanceof SdlUnitError && e.code === 'ERR_SDL_UNIT')
  }
  assert.throws(() => parseCpu('0.0005'), /not a whole number of millicpu/)
  assert.throws(() => parseCpu('9999999'), /more cpu than can be requested/)
})

test('sizes: Akash suffixes and plain bytes', () => {
  assert.is(parseSize('512Mi'), 512 * 1024 ** 2)
  assert.is(parseSize('1Gi'), 1024 ** 3)
  assert.is(parseSize('1.5G'), 1_500_000_000)
  assert.is(parseSize('4.75Gi'), 5_100_273_664)
  assert.is(parseSize('1k'), 1000)
  assert.is(parseSize('1Ki'), 1024)
  assert.is(parseSize('2M'), 2_000_000)
  assert.is(parseSize('1T'), 1e12)
  assert.is(parseSize('1Ti'), 1024 ** 4)
  assert.is(parseSize('1P'), 1e15)
  assert.is(parseSize(1073741824), 1073741824)
  assert.is(parseSize('1073741824'), 1073741824)
  assert.is(parseSize('0.5Ki'), 512)
  // fractions of a byte are dropped, as Akash does
  assert.is(parseSize('1.1Ki'), 1126)
  assert.is(parseSize('1.0005k'), 1000)
})

test('sizes: common misspellings are read as meant', () => {
  assert.is(parseSize('6GB'), 6e9)
  assert.is(parseSize('32gb'), 32e9)
  assert.is(parseSize('10Gb'), 10e9)
  assert.is(parseSize('16gi'), 16 * 1024 ** 3)
  assert.is(parseSize('1GiB'), 1024 ** 3)
  assert.is(parseSize('512mi'), 512 * 1024 ** 2)
  assert.is(parseSize('128Mb'), 128e6)
  assert.is(parseSize('1ti'), 1024 ** 4)
  assert.is(parseSize('4KB'), 4000)
})

test('sizes: refused forms say why', () => {
  assert.throws(() => parseSize('512m'), /unknown unit "m"/)
  assert.throws(() => parseSize('12parsecs'), /unknown unit "parsecs"/)
  assert.throws(() => parseSize('-1Gi'), /is not a size/)
  assert.throws(() => parseSize('Gi'), /is not a size/)
  assert.throws(() => parseSize('1e3'), /is not a size/)
  assert.throws(() => parseSize(null), /is not a size/)
  assert.throws(() => parseSize('100000Ei'), /too large/)
  assert.throws(() => parseSize('1.2.3G'), (e: unknown) => e instanceof SdlUnitError)
})

test('formatting', () => {
  assert.is(formatSize(512 * 1024 ** 2), '512Mi')
  assert.is(formatSize(1024 ** 3), '1Gi')
  assert.is(formatSize(1.5 * 1024 ** 3), '1.5Gi')
  assert.is(formatSize(1_500_000_000), '1.5G')
  assert.is(formatSize(5_100_273_664), '4.75Gi')
  assert.is(formatSize(1000), '1k')
  assert.is(formatSize(999), '999')
  assert.is(formatSize(1024 ** 3 + 1_500_000_000), '~2.4Gi')
  assert.is(formatSize(20_000 * 1024 ** 2), '~19.5Gi')
  assert.is(formatSize(1025), '~1Ki')
  assert.is(formatSize(0), '0')
  assert.is(formatCpu(500), '0.5')
  assert.is(formatCpu(2000), '2')
  assert.is(formatCpu(1234), '1.234')
  assert.is(formatTotals({ cpu: 500, memory: 512 * 1024 ** 2, storage: { ephemeral: 1024 ** 3 }, gpu: { 'nvidia/h100': 1 }, count: 1 }),
    'cpu 0.5, memory 512Mi, storage 1Gi, gpu 1×nvidia/h100, 1 replica')
  assert.is(formatTotals({ cpu: 3000, memory: 3 * 1024 ** 3, storage: { beta3: 100 * 1024 ** 3, ephemeral: 1024 ** 3, ram: 1024 ** 3 }, gpu: {}, count: 3 }),
    'cpu 3, memory 3Gi, storage 1Gi + 100Gi beta3 + 1Gi ram, 3 replicas')
})

test.run()
