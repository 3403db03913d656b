// Reloading souk.yaml into a running daemon (`souk node reload` or SIGHUP): the file is read and
// checked as at start; what may change safely is applied, and the rest is refused by name
// (it needs a restart), so an operator never believes a change took effect when it did not.
import { join } from 'node:path'
import { loadConfig, ConfigError, CONFIG_FILE } from '../config/index.ts'
import type { SoukConfig } from '../config/index.ts'
import { MarketError } from '../market/index.ts'
import type { Souk } from './create-node.ts'

/** settings a running node can take: prices and attributes reach new bids; the log level applies at once */
export const RELOADABLE = ['provider.prices', 'provider.denom', 'provider.pricingScript', 'provider.attributes', 'log.level'] as const

export interface ReloadPlan {
  /** every setting whose value differs */
  changed: string[]
  /** changed and reloadable */
  apply: string[]
  /** changed but needing a restart */
  refused: string[]
}

export interface ReloadResult extends ReloadPlan {
  applied: string[]
  /** refused settings, each with why */
  reasons: Record<string, string>
}

function leaves (o: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>()
  if (o != null && typeof o === 'object' && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) {
      const p = prefix === '' ? k : `${prefix}.${k}`
      // maps of free keys compare whole: a price table or attribute set is one setting
      if (p === 'provider.prices' || p === 'provider.attributes') out.set(p, JSON.stringify(Object.entries(v as object).sort()))
      else for (const [lk, lv] of leaves(v, p)) out.set(lk, lv)
    }
    return out
  }
  out.set(prefix, JSON.stringify(o))
  return out
}

export function planReload (current: SoukConfig, next: SoukConfig): ReloadPlan {
  const a = leaves(current)
  const b = leaves(next)
  const changed = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort()
  const reloadable = (k: string): boolean => (RELOADABLE as readonly string[]).includes(k)
  return { changed, apply: changed.filter(reloadable), refused: changed.filter((k) => !reloadable(k)) }
}

/** the souk.yaml setting behind a bid engine field (pricingFromConfig's mapping, backwards) */
export function configPathOf (enginePath: string | undefined): string {
  if (enginePath == null) return 'provider.prices'
  if (enginePath.startsWith('attributes')) return `provider.${enginePath}`
  if (enginePath === 'pricing.denom' || enginePath === 'pricing.script.denom') return 'provider.denom'
  if (enginePath.startsWith('pricing.script')) return 'provider.pricingScript'
  const m = /^pricing\.(cpu|memory|storage|gpu|endpoint)\b/.exec(enginePath)
  return m != null ? `provider.prices.${m[1]}` : 'provider.prices'
}

/**
 * Reads souk.yaml (with the same --set overrides the daemon started with), applies what can
 * change safely, and names what cannot. A file that does not check out changes nothing.
 */
export async function reloadNode (node: Souk, opts: { set?: string[], env?: Record<string, string | undefined> } = {}): Promise<ReloadResult> {
  const next = await loadConfig({ home: node.home, set: opts.set, env: opts.env })
  const plan = planReload(node.config, next)
  const applied: string[] = []
  const reasons: Record<string, string> = {}
  for (const k of plan.refused) reasons[k] = 'takes effect after a restart'
  const market = plan.apply.filter((k) => k.startsWith('provider.'))
  const settings = (): void => { Object.assign(node.config.provider, { prices: next.provider.prices, denom: next.provider.denom, pricingScript: next.provider.pricingScript, attributes: next.provider.attributes }) }
  if (market.length > 0) {
    if (node.provider == null) {
      // nothing uses them on this node: keep the new values for a provider role started later
      settings()
      applied.push(...market)
    } else {
      // first, so that a price table the bid engine refuses leaves everything as it was (the log level too)
      try {
        node.provider.reconfigure(next.provider)
      } catch (err) {
        if (!(err instanceof MarketError)) throw err
        const message = err.path != null && err.message.startsWith(`${err.path}: `) ? err.message.slice(err.path.length + 2) : err.message
        throw new ConfigError(join(node.home, CONFIG_FILE), [{ path: configPathOf(err.path), message: `${message}; nothing was reloaded` }])
      }
      settings()
      applied.push(...market)
    }
  }
  if (plan.apply.includes('log.level')) {
    // the node's own logger; role loggers made with child() keep the level they started with
    const l = node.logger as { level?: string }
    if (typeof l.level === 'string') { l.level = next.log.level; node.config.log.level = next.log.level; applied.push('log.level') } else reasons['log.level'] = 'this logger has no level to set; restart the node'
  }
  const refused = plan.changed.filter((k) => !applied.includes(k))
  return { ...plan, refused, applied, reasons }
}
