import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { scriptPricing, parseScriptOutput, PricingError } from '../../src/market/index.ts'
import type { PricingRequest } from '../../src/market/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'souk-pricing-'))

function script (name: string, body: string): string {
  const p = join(dir, name)
  writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 })
  return p
}

function req (groups = 1, tenant = '12D3KooWtenant'): PricingRequest {
  return {
    order: 'ab'.repeat(32),
    tenant,
    bidDeadline: 1_700_000_000_000,
    provider: { attributes: { region: 'eu-west' } },
    groups: Array.from({ length: groups }, (_, i) => ({
      name: `g${i}`,
      attributes: { region: 'eu-west' },
      signedBy: { allOf: [], anyOf: [] },
      maxPrice: { denom: 'uakt', amount: '100' },
      resources: [{
        service: 'web',
        cpu: 500,
        memory: 2 ** 29,
        storage: [{ name: 'default', size: 2 ** 30, persistent: false }],
        gpu: { units: 1, models: [{ vendor: 'nvidia', model: 'h100' }] },
        count: 2,
        price: { denom: 'uakt', amount: '50' }
      }]
    }))
  }
}

async function rejects (p: Promise<unknown>, reason = 'ERR_PRICING_SCRIPT'): Promise<PricingError> {
  try {
    await p
  } catch (err: any) {
    assert.instance(err, PricingError)
    assert.is(err.reason, reason)
    return err
  }
  assert.unreachable('expected the pricing script to fail')
  throw new Error('unreachable')
}

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

test('the order goes in on stdin as JSON; a bare decimal comes out', async () => {
  const s = scriptPricing({ command: script('echo.sh', 'cat > "$OUT_DIR/input.json"\necho "12.50"'), denom: 'uakt', env: { OUT_DIR: dir } })
  assert.equal(await s.price(req()), [{ denom: 'uakt', amount: '12.5' }])
  const input = JSON.parse(readFileSync(join(dir, 'input.json'), 'utf8'))
  assert.is(input.version, 1)
  assert.is(input.order, 'ab'.repeat(32))
  assert.is(input.denom, 'uakt')
  assert.equal(input.provider, { attributes: { region: 'eu-west' } })
  assert.equal(input.groups[0].maxPrice, { denom: 'uakt', amount: '100' })
  assert.equal(input.groups[0].resources[0], {
    service: 'web',
    cpu: 500,
    memory: 2 ** 29,
    storage: [{ name: 'default', size: 2 ** 30, persistent: false }],
    gpu: { units: 1, models: [{ vendor: 'nvidia', model: 'h100' }] },
    endpoints: 0,
    count: 2,
    price: { denom: 'uakt', amount: '50' }
  })
})

test('JSON output gives one price per group', async () => {
  const s = scriptPricing({ command: script('json.sh', 'cat >/dev/null\necho \'{ "prices": ["1.5", "0.000000000000000001"] }\''), denom: 'uakt' })
  assert.equal(await s.price(req(2)), [{ denom: 'uakt', amount: '1.5' }, { denom: 'uakt', amount: '0.000000000000000001' }])
  // a bare decimal is ambiguous for two groups
  const bare = scriptPricing({ command: script('bare.sh', 'echo 3'), denom: 'uakt' })
  assert.match((await rejects(bare.price(req(2)))).message, 'only accepted for one-group orders')
})

test('a failing program gives ERR_PRICING_SCRIPT with its exit code and stderr', async () => {
  const s = scriptPricing({ command: script('fail.sh', 'echo "no GPUs priced today" >&2\nexit 3'), denom: 'uakt' })
  const err = await rejects(s.price(req()))
  assert.match(err.message, 'exited with code 3: no GPUs priced today')
  const missing = scriptPricing({ command: join(dir, 'does-not-exist'), denom: 'uakt' })
  assert.match((await rejects(missing.price(req()))).message, 'could not run')
})

test('unusable output is refused: words, floats, wrong count, too much', async () => {
  const words = scriptPricing({ command: script('words.sh', 'echo hello'), denom: 'uakt' })
  assert.match((await rejects(words.price(req()))).message, 'neither a decimal nor JSON')
  const float = scriptPricing({ command: script('float.sh', 'echo \'{"prices":[12.5]}\''), denom: 'uakt' })
  assert.match((await rejects(float.price(req()))).message, 'prices[0] must be a decimal string')
  const count = scriptPricing({ command: script('count.sh', 'echo \'{"prices":["1","2"]}\''), denom: 'uakt' })
  assert.match((await rejects(count.price(req()))).message, '2 prices for 1 groups')
  const neg = scriptPricing({ command: script('neg.sh', 'printf "%s\\n" -5'), denom: 'uakt' })
  await rejects(neg.price(req()))
  const big = scriptPricing({ command: script('big.sh', 'head -c 200000 /dev/zero | tr "\\000" "1"'), denom: 'uakt', maxOutputBytes: 1000 })
  assert.match((await rejects(big.price(req()))).message, 'printed more than 1000 bytes and was killed')
})

test('a program that overruns its timeout is killed, with everything it started', async () => {
  const pidFile = join(dir, 'sleep.pid')
  const s = scriptPricing({
    command: script('slow.sh', 'sleep 30 &\necho $! > "$OUT_DIR/sleep.pid"\nwait'),
    denom: 'uakt',
    timeoutMs: 300,
    env: { OUT_DIR: dir }
  })
  const err = await rejects(s.price(req()))
  assert.match(err.message, 'did not answer within 300 ms and was killed')
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  assert.ok(pid > 0)
  // SIGKILL went to the whole process group; give the kernel a moment to reap (bounded)
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  assert.not.ok(alive(pid), 'the sleep the script started is still running')
  assert.equal(s.stats(), { running: 0, queued: 0 })
})

test('at most maxConcurrent programs run at once; the rest queue and all finish', async () => {
  rmSync(join(dir, 'seen'), { force: true })
  const s = scriptPricing({
    command: script('conc.sh', [
      'cat > /dev/null',
      'd="$OUT_DIR/running"',
      'mkdir -p "$d"',
      'touch "$d/$$"',
      'ls "$d" | wc -l >> "$OUT_DIR/seen"',
      'sleep 0.2',
      'rm "$d/$$"',
      'echo 7'
    ].join('\n')),
    denom: 'uakt',
    maxConcurrent: 2,
    env: { OUT_DIR: dir }
  })
  const runs = Array.from({ length: 6 }, async (_, i) => await s.price(req(1, `12D3KooWtenant${i}`)))
  assert.equal(s.stats(), { running: 2, queued: 4 })
  const results = await Promise.all(runs)
  assert.is(results.length, 6)
  for (const r of results) assert.equal(r, [{ denom: 'uakt', amount: '7' }])
  const seen = readFileSync(join(dir, 'seen'), 'utf8').trim().split('\n').map((l) => Number(l.trim()))
  assert.is(seen.length, 6)
  assert.ok(Math.max(...seen) <= 2, `saw ${Math.max(...seen)} programs running at once`)
  assert.equal(s.stats(), { running: 0, queued: 0 })
})

test('a full queue and an abort while queued both refuse without running the program', async () => {
  const s = scriptPricing({ command: script('wait.sh', 'sleep 0.3\necho 1'), denom: 'uakt', maxConcurrent: 1, maxQueue: 1 })
  const first = s.price(req(1, 'a'))
  const ac = new AbortController()
  const second = s.price(req(1, 'b'), { signal: ac.signal })
  assert.match((await rejects(s.price(req(1, 'c')))).message, 'queue is full (1 orders waiting)')
  ac.abort()
  assert.match((await rejects(second)).message, 'aborted while waiting')
  assert.equal(await first, [{ denom: 'uakt', amount: '1' }])
})

test('one tenant\'s orders hold at most maxPerTenant places; another tenant still gets priced', async () => {
  const s = scriptPricing({ command: script('slow.sh', 'sleep 0.3\necho 2'), denom: 'uakt', maxConcurrent: 1, maxQueue: 8, maxPerTenant: 2 })
  const flood = [s.price(req(1, 'flooder')), s.price(req(1, 'flooder'))]
  const refused = await rejects(s.price(req(1, 'flooder')), 'ERR_TENANT_PRICING_LIMIT')
  assert.match(refused.message, 'limit 2 per tenant')
  const honest = s.price(req(1, 'honest'))
  assert.equal(s.stats(), { running: 1, queued: 2 })
  assert.equal(await honest, [{ denom: 'uakt', amount: '2' }])
  await Promise.all(flood)
  // places are given back: the tenant may price again
  assert.equal(await s.price(req(1, 'flooder')), [{ denom: 'uakt', amount: '2' }])
})

test('arguments reach the program as they are, never through a shell', async () => {
  const s = scriptPricing({
    command: script('args.sh', 'printf "%s|%s" "$1" "$2" > "$OUT_DIR/args"\necho 1'),
    args: ['$(touch pwned)', '; echo x'],
    denom: 'uakt',
    cwd: dir,
    env: { OUT_DIR: dir }
  })
  await s.price(req())
  assert.is(readFileSync(join(dir, 'args'), 'utf8'), '$(touch pwned)|; echo x')
  assert.not.ok(existsSync(join(dir, 'pwned')))
})

test('parseScriptOutput canonicalises decimals', () => {
  assert.equal(parseScriptOutput(' 010.500\n', 1), ['10.5'])
  assert.throws(() => parseScriptOutput('1e5', 1), /not a non-negative decimal/)
  assert.throws(() => parseScriptOutput('', 1), /no price/)
})

test.after(() => { rmSync(dir, { recursive: true, force: true }) })

test.run()
