// Prices from an external program. The order goes to the program's stdin as one JSON document;
// the program prints a price on stdout. The program runs without a shell, in its own process
// group (so a timeout kills it and anything it started), at most `maxConcurrent` at a time with
// the rest queued (at most `maxPerTenant` of one tenant's orders running or queued, so one tenant's
// flood cannot fill the queue), and its output is capped. Anything but a clean, well-formed answer is a
// PricingError with reason ERR_PRICING_SCRIPT, and the order gets no bid.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { MarketError, MarketErrorCode, PricingError } from '../errors.ts'
import {
  DEFAULT_SCRIPT_CONCURRENCY, DEFAULT_SCRIPT_MAX_OUTPUT_BYTES, DEFAULT_SCRIPT_MAX_PER_TENANT, DEFAULT_SCRIPT_MAX_QUEUE, DEFAULT_SCRIPT_TIMEOUT_MS,
  ReasonCode, SCRIPT_STDERR_EXCERPT_BYTES
} from '../constants.ts'
import { formatAmount, parseAmount } from '../../wire/amount.ts'
import { globalEndpoints } from './strategy.ts'
import type { PriceOptions, PricingRequest, PricingStrategy } from './strategy.ts'
import type { Price } from '../../wire/index.ts'
import { errorMessage } from '../../util/index.ts'

export interface ScriptPricingInit {
  /** path of the program; run directly, never through a shell */
  command: string
  args?: string[]
  /** the denom the program's prices are in */
  denom: string
  /** the program is killed after this long, ms */
  timeoutMs?: number
  /** programs running at once; further orders wait in a queue */
  maxConcurrent?: number
  /** orders waiting for a slot; beyond this they get no bid */
  maxQueue?: number
  /** one tenant's orders running or waiting at once; beyond this they get no bid */
  maxPerTenant?: number
  /** stdout beyond this many bytes kills the program */
  maxOutputBytes?: number
  /** added to the provider's environment */
  env?: Record<string, string>
  cwd?: string
}

/** What the program reads on stdin (see docs/provider.md, "Pricing script protocol"). */
export interface ScriptInput {
  version: 1
  order: string
  tenant: string
  bidDeadline: number
  denom: string
  provider: { attributes: Record<string, string> }
  groups: Array<{
    name: string
    attributes: Record<string, string>
    signedBy: { allOf: string[], anyOf: string[] }
    maxPrice: Price
    resources: Array<{
      service: string
      cpu: number
      memory: number
      storage: Array<{ name: string, size: number, persistent: boolean, class?: string }>
      gpu: { units: number, models: Array<{ vendor: string, model?: string, ram?: number, interface?: string }> }
      endpoints: number
      count: number
      price: Price
    }>
  }>
}

export interface ScriptPricing extends PricingStrategy {
  /** programs running now and orders queued */
  stats: () => { running: number, queued: number }
  stop: () => void
}

interface Waiter { start: () => void, fail: (err: Error) => void }

export function scriptPricing (init: ScriptPricingInit): ScriptPricing {
  const cfg = readInit(init)
  let running = 0
  let stopped = false
  const queue: Waiter[] = []
  const children = new Set<ChildProcess>()
  // orders of each tenant running or queued
  const byTenant = new Map<string, number>()

  function acquire (signal?: AbortSignal): Promise<void> {
    if (stopped) return Promise.reject(new PricingError(ReasonCode.PRICING_SCRIPT, 'pricing is stopped'))
    if (running < cfg.maxConcurrent) { running++; return Promise.resolve() }
    if (queue.length >= cfg.maxQueue) {
      return Promise.reject(new PricingError(ReasonCode.PRICING_SCRIPT, `pricing script queue is full (${cfg.maxQueue} orders waiting)`))
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = queue.indexOf(w)
        if (i >= 0) queue.splice(i, 1)
        reject(new PricingError(ReasonCode.PRICING_SCRIPT, 'aborted while waiting for a pricing script slot'))
      }
      const w: Waiter = {
        start: () => { signal?.removeEventListener('abort', onAbort); running++; resolve() },
        fail: (err) => { signal?.removeEventListener('abort', onAbort); reject(err) }
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      queue.push(w)
    })
  }

  function leave (tenant: string): void {
    const n = (byTenant.get(tenant) ?? 1) - 1
    if (n > 0) byTenant.set(tenant, n)
    else byTenant.delete(tenant)
  }

  function release (): void {
    running--
    const next = queue.shift()
    if (next != null) next.start()
  }

  function run (input: string, signal?: AbortSignal): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let settled = false
      let child: ChildProcess
      try {
        child = spawn(cfg.command, cfg.args, {
          stdio: ['pipe', 'pipe', 'pipe'],
          shell: false,
          // its own process group, so a kill reaches whatever the program started
          detached: true,
          env: { ...process.env, ...cfg.env },
          cwd: cfg.cwd
        })
      } catch (err) {
        reject(new PricingError(ReasonCode.PRICING_SCRIPT, `pricing script ${cfg.command} could not start: ${errorMessage(err)}`))
        return
      }
      children.add(child)
      const out: Buffer[] = []
      let outBytes = 0
      const errOut: Buffer[] = []
      let errBytes = 0

      const kill = (): void => {
        if (child.pid != null) {
          try { process.kill(-child.pid, 'SIGKILL'); return } catch {}
        }
        try { child.kill('SIGKILL') } catch {}
      }
      const finish = (err: Error | null, value?: string): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        children.delete(child)
        if (err != null) { kill(); reject(err) } else resolve(value as string)
      }
      const fail = (message: string): void => { finish(new PricingError(ReasonCode.PRICING_SCRIPT, message)) }
      const onAbort = (): void => { fail(`pricing script ${cfg.command} was aborted`) }

      const timer = setTimeout(() => { fail(`pricing script ${cfg.command} did not answer within ${cfg.timeoutMs} ms and was killed`) }, cfg.timeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })

      child.on('error', (err) => { fail(`pricing script ${cfg.command} could not run: ${err.message}`) })
      child.stdout?.on('data', (chunk: Buffer) => {
        outBytes += chunk.length
        if (outBytes > cfg.maxOutputBytes) { fail(`pricing script ${cfg.command} printed more than ${cfg.maxOutputBytes} bytes and was killed`); return }
        out.push(chunk)
      })
      child.stderr?.on('data', (chunk: Buffer) => {
        if (errBytes < SCRIPT_STDERR_EXCERPT_BYTES) { errOut.push(chunk); errBytes += chunk.length }
      })
      child.on('close', (code, sig) => {
        if (settled) return
        const stderr = Buffer.concat(errOut).toString('utf8').slice(0, SCRIPT_STDERR_EXCERPT_BYTES).trim()
        const tail = stderr === '' ? '' : `: ${stderr}`
        if (sig != null) { fail(`pricing script ${cfg.command} was killed by ${sig}${tail}`); return }
        if (code !== 0) { fail(`pricing script ${cfg.command} exited with code ${String(code)}${tail}`); return }
        finish(null, Buffer.concat(out).toString('utf8'))
      })
      // a program that ignores stdin closes the pipe early; that is its business, not an error
      child.stdin?.on('error', () => {})
      child.stdin?.end(input)
    })
  }

  return {
    name: 'script',
    async price (req: PricingRequest, opts: PriceOptions = {}): Promise<Price[]> {
      const held = byTenant.get(req.tenant) ?? 0
      if (held >= cfg.maxPerTenant) {
        throw new PricingError(ReasonCode.TENANT_PRICING_LIMIT, `this tenant already has ${held} orders with the pricing script (limit ${cfg.maxPerTenant} per tenant)`)
      }
      byTenant.set(req.tenant, held + 1)
      const input = JSON.stringify(toInput(req, cfg.denom))
      opts.onProgress?.({ type: 'pricing:script:queued', detail: { order: req.order } })
      try {
        await acquire(opts.signal)
      } catch (err) {
        leave(req.tenant)
        throw err
      }
      try {
        opts.onProgress?.({ type: 'pricing:script:start', detail: { order: req.order } })
        const stdout = await run(input, opts.signal)
        const prices = parseOutput(stdout, req.groups.length, cfg.command)
        opts.onProgress?.({ type: 'pricing:script:done', detail: { order: req.order, prices } })
        return prices.map((amount) => ({ denom: cfg.denom, amount }))
      } finally {
        release()
        leave(req.tenant)
      }
    },
    stats () {
      return { running, queued: queue.length }
    },
    stop () {
      stopped = true
      for (const w of queue.splice(0)) w.fail(new PricingError(ReasonCode.PRICING_SCRIPT, 'pricing is stopped'))
      for (const c of children) {
        try { if (c.pid != null) process.kill(-c.pid, 'SIGKILL') } catch {}
      }
    }
  }
}

export function toInput (req: PricingRequest, denom: string): ScriptInput {
  return {
    version: 1,
    order: req.order,
    tenant: req.tenant,
    bidDeadline: req.bidDeadline,
    denom,
    provider: { attributes: req.provider.attributes },
    groups: req.groups.map((g) => ({
      name: g.name,
      attributes: g.attributes,
      signedBy: g.signedBy,
      maxPrice: g.maxPrice,
      resources: g.resources.map((r) => ({
        service: r.service,
        cpu: r.cpu,
        memory: r.memory,
        storage: r.storage,
        gpu: r.gpu,
        endpoints: globalEndpoints(r),
        count: r.count,
        price: r.price
      }))
    }))
  }
}

/** A bare decimal (one-group orders) or `{ "prices": ["12.5", …] }`, one string per group. */
export function parseOutput (stdout: string, groups: number, command = 'pricing script'): string[] {
  const text = stdout.trim()
  const bad = (why: string): PricingError => new PricingError(ReasonCode.PRICING_SCRIPT, `${command} printed ${JSON.stringify(text.slice(0, 80))}: ${why}`)
  if (text === '') throw bad('no price')
  if (/^[0-9]/.test(text)) {
    if (groups !== 1) throw bad(`a bare price is only accepted for one-group orders; this order has ${groups} groups, print {"prices": [...]}`)
    return [canonical(text, bad)]
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw bad('neither a decimal nor JSON')
  }
  if (doc == null || typeof doc !== 'object' || Array.isArray(doc) || !Array.isArray((doc as { prices?: unknown }).prices)) {
    throw bad('JSON output must be an object with a "prices" list')
  }
  const prices = (doc as { prices: unknown[] }).prices
  if (prices.length !== groups) throw bad(`${prices.length} prices for ${groups} groups`)
  return prices.map((p, i) => {
    // numbers would have passed through binary floating point already
    if (typeof p !== 'string') throw bad(`prices[${i}] must be a decimal string like "12.5", not a ${typeof p}`)
    return canonical(p, bad)
  })
}

function canonical (amount: string, bad: (why: string) => PricingError): string {
  try {
    return formatAmount(parseAmount(amount))
  } catch {
    throw bad(`${JSON.stringify(amount.slice(0, 64))} is not a non-negative decimal with at most 18 fraction digits`)
  }
}

function readInit (init: ScriptPricingInit): Required<Omit<ScriptPricingInit, 'cwd'>> & { cwd?: string } {
  const posInt = (v: number | undefined, d: number, path: string): number => {
    if (v === undefined) return d
    if (!Number.isSafeInteger(v) || v < 1) throw new MarketError(MarketErrorCode.CONFIG, 'must be a positive integer', path)
    return v
  }
  if (typeof init?.command !== 'string' || init.command === '') throw new MarketError(MarketErrorCode.CONFIG, 'must be the path of a program', 'pricing.script.command')
  if (typeof init.denom !== 'string' || init.denom === '' || init.denom.length > 128) throw new MarketError(MarketErrorCode.CONFIG, 'must be a denom like "uakt"', 'pricing.script.denom')
  if (init.args != null && (!Array.isArray(init.args) || init.args.some((a) => typeof a !== 'string'))) {
    throw new MarketError(MarketErrorCode.CONFIG, 'must be a list of strings', 'pricing.script.args')
  }
  return {
    command: init.command,
    args: init.args ?? [],
    denom: init.denom,
    timeoutMs: posInt(init.timeoutMs, DEFAULT_SCRIPT_TIMEOUT_MS, 'pricing.script.timeoutMs'),
    maxConcurrent: posInt(init.maxConcurrent, DEFAULT_SCRIPT_CONCURRENCY, 'pricing.script.maxConcurrent'),
    maxQueue: posInt(init.maxQueue, DEFAULT_SCRIPT_MAX_QUEUE, 'pricing.script.maxQueue'),
    maxPerTenant: posInt(init.maxPerTenant, DEFAULT_SCRIPT_MAX_PER_TENANT, 'pricing.script.maxPerTenant'),
    maxOutputBytes: posInt(init.maxOutputBytes, DEFAULT_SCRIPT_MAX_OUTPUT_BYTES, 'pricing.script.maxOutputBytes'),
    env: init.env ?? {},
    cwd: init.cwd
  }
}
