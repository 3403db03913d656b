// souk.yaml capacity in the SDL's units: `cpu: 2` is two CPUs, not 2 millicpu; a bare number
// that looks like a unit left out is refused with both readings.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parse } from 'yaml'
import { resolveConfig, ConfigError } from '../../src/config/index.ts'

const resolve = (provider: Record<string, unknown>, opts: { set?: string[], env?: Record<string, string> } = {}): any =>
  resolveConfig({ roles: ['provider'], provider }, { env: opts.env ?? {}, set: opts.set })

function problem (provider: Record<string, unknown>): { path: string, message: string } {
  try {
    resolve(provider)
  } catch (err: any) {
    assert.instance(err, ConfigError)
    assert.is(err.problems.length, 1, err.message)
    return err.problems[0]
  }
  assert.unreachable('accepted')
  throw new Error('unreachable')
}

test('cpu: 2 is two CPUs (2000 millicpu), as in the SDL', () => {
  const c = resolve(parse('cpu: 2\nmemory: 16Gi\nstorage: 500G\n'))
  assert.is(c.provider.cpu, 2000)
  assert.is(c.provider.memory, 16 * 1024 ** 3)
  assert.is(c.provider.storage, 500 * 1000 ** 3)
})

test('millicpu and fractions of a CPU', () => {
  assert.is(resolve({ cpu: '2000m' }).provider.cpu, 2000)
  assert.is(resolve({ cpu: 0.5 }).provider.cpu, 500)
  assert.is(resolve({ cpu: '1.5' }).provider.cpu, 1500)
})

test('0 still reads the capacity from the host', () => {
  const c = resolve({ cpu: 0, memory: 0, storage: '0' })
  assert.is(c.provider.cpu, 0)
  assert.is(c.provider.memory, 0)
  assert.is(c.provider.storage, 0)
})

test('environment and --set take the same units', () => {
  assert.is(resolve({}, { env: { SOUK_PROVIDER_CPU: '4', SOUK_PROVIDER_MEMORY: '8Gi' } }).provider.cpu, 4000)
  assert.is(resolve({}, { set: ['provider.memory=512Mi', 'provider.cpu=250m'] }).provider.memory, 512 * 1024 ** 2)
})

test('large plain byte counts are still bytes', () => {
  assert.is(resolve({ memory: 17179869184 }).provider.memory, 16 * 1024 ** 3)
})

test('cpu: 2000 is refused with both readings', () => {
  const p = problem({ cpu: 2000 })
  assert.is(p.path, 'provider.cpu')
  assert.match(p.message, /2000 would be 2000 CPUs/)
  assert.match(p.message, /2000m or 2\b/)
})

test('memory: 16 is refused with both readings', () => {
  const p = problem({ memory: 16 })
  assert.is(p.path, 'provider.memory')
  assert.match(p.message, /16 would be 16 bytes/)
  assert.match(p.message, /16Gi/)
})

test('nonsense is refused with the accepted forms', () => {
  assert.match(problem({ cpu: 'lots' }).message, /2000m/)
  assert.match(problem({ storage: '5 bananas' }).message, /not a size|unknown unit/)
  assert.is(problem({ cpu: -1 }).path, 'provider.cpu')
})

test.run()
