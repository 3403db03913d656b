// Human-readable summaries for the CLI and logs.
import type { ResourceTotals } from './types.ts'
import { formatCpu, formatSize } from './units.ts'

/** `cpu 0.5, memory 512Mi, storage 1Gi, gpu 1×nvidia/h100, 1 replica` */
export function formatTotals (totals: ResourceTotals): string {
  const parts = [`cpu ${formatCpu(totals.cpu)}`, `memory ${formatSize(totals.memory)}`]
  const classes = Object.keys(totals.storage).sort((a, b) => (a === 'ephemeral' ? -1 : b === 'ephemeral' ? 1 : a < b ? -1 : a > b ? 1 : 0))
  const storage = classes.map((c) => c === 'ephemeral' ? formatSize(totals.storage[c]) : `${formatSize(totals.storage[c])} ${c}`)
  parts.push(`storage ${storage.length === 0 ? '0' : storage.join(' + ')}`)
  const gpus = Object.keys(totals.gpu).sort().map((k) => `${totals.gpu[k]}×${k}`)
  if (gpus.length > 0) parts.push(`gpu ${gpus.join(' + ')}`)
  parts.push(`${totals.count} replica${totals.count === 1 ? '' : 's'}`)
  return parts.join(', ')
}
