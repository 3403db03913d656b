// GPU discovery from `nvidia-smi`, mapped to SDL naming: vendor `nvidia`, model a lowercase
// short name (`h100`, `a100`, `rtx4090`), ram as the marketed size (`80Gi`), interface `pcie`
// or `sxm`. Parsing is pure so it can be tested on real output from machines with GPUs.
import { execFile } from 'node:child_process'
import { InvalidInventoryError } from './errors.ts'

export interface GpuDevice {
  /** nvidia-smi index */
  index: number
  vendor: 'nvidia'
  /** SDL model name, e.g. `h100` */
  model: string
  /** product name as reported, e.g. `NVIDIA H100 80GB HBM3` */
  name: string
  uuid: string
  /** marketed memory size in bytes (80 GiB for an H100 that reports 81559 MiB) */
  ram: number
  /** `80Gi` */
  ramLabel: string
  /** memory as reported, MiB */
  memoryMiB: number
  interface?: 'pcie' | 'sxm'
  busId: string
  driverVersion?: string
  computeCap?: string
}

/** the query to run for `parseNvidiaSmiCsv`; pci.device_id and power.max_limit help tell SXM from PCIe */
export const NVIDIA_SMI_QUERY = ['--query-gpu=index,name,uuid,memory.total,pci.bus_id,pci.device_id,power.max_limit,driver_version,compute_cap', '--format=csv']

const MAX_OUTPUT = 16 * 1024 * 1024
const MAX_GPUS = 256
const GiB = 1024 ** 3

/** PCI device IDs (upper 16 bits of `pci.device_id`) whose form factor the name does not tell */
const DEVICE_INTERFACE: Record<string, 'pcie' | 'sxm'> = {
  2330: 'sxm', // H100 SXM5 80GB
  2324: 'sxm', // H800 SXM5
  2335: 'sxm', // H200 SXM 141GB
  '20b0': 'sxm', // A100 SXM4 40GB
  '20b2': 'sxm', // A100 SXM4 80GB
  '20b3': 'sxm', // A100 SXM4 64GB
  '1db1': 'sxm', // V100 SXM2 16GB
  '1db5': 'sxm', // V100 SXM2 32GB
  2331: 'pcie', // H100 PCIe
  2321: 'pcie', // H100 NVL
  2322: 'pcie', // H800 PCIe
  '20b5': 'pcie', // A100 PCIe 80GB
  '20f1': 'pcie', // A100 PCIe 40GB
  '1db4': 'pcie', // V100 PCIe 16GB
  '1db6': 'pcie' // V100 PCIe 32GB
}

const FORM_TOKENS = /^(pcie|sxm\d*|hbm\d*e?|nvl|\d+gb|mig.*)$/i

/** `NVIDIA H100 80GB HBM3` → `h100`; `NVIDIA A100-SXM4-80GB` → `a100`; `NVIDIA GeForce RTX 4090` → `rtx4090` */
export function gpuModelName (productName: string): string {
  const tokens = productName.trim().split(/[\s-]+/).filter((t) => t.length > 0)
  while (tokens.length > 0 && /^(nvidia|tesla|geforce|quadro)$/i.test(tokens[0])) tokens.shift()
  const kept: string[] = []
  for (const t of tokens) {
    if (FORM_TOKENS.test(t)) break
    kept.push(t)
  }
  return kept.join('').toLowerCase().replace(/[^a-z0-9]/g, '')
}

/** SXM or PCIe, from the name, then the PCI device ID, then the power limit (PCIe boards stay at or below ~400 W) */
export function gpuInterface (info: { name: string, deviceId?: string, maxPowerW?: number }): 'pcie' | 'sxm' | undefined {
  if (/\bpcie\b/i.test(info.name) || /\bnvl\b/i.test(info.name)) return 'pcie'
  if (/sxm/i.test(info.name)) return 'sxm'
  // H100 and H800 with HBM3 only ship as SXM; the PCIe boards carry HBM2e
  if (/\bH[18]00\b.*\bHBM3\b/i.test(info.name) || /\bH200\b/i.test(info.name)) return 'sxm'
  if (info.deviceId != null) {
    const id = info.deviceId.toLowerCase().replace(/^0x/, '').slice(0, 4)
    const known = DEVICE_INTERFACE[id]
    if (known != null) return known
  }
  if (info.maxPowerW != null && Number.isFinite(info.maxPowerW)) return info.maxPowerW > 450 ? 'sxm' : 'pcie'
  return undefined
}

/** the marketed size: `80GB` in the name wins; otherwise the reported MiB rounded up to whole GiB (ECC and firmware take a little) */
export function gpuRam (name: string, memoryMiB: number): { bytes: number, label: string } {
  const m = /(\d+)\s*GB\b/i.exec(name)
  const gib = m != null ? Number(m[1]) : Math.ceil(memoryMiB / 1024)
  return { bytes: gib * GiB, label: `${gib}Gi` }
}

function mib (value: string | undefined): number {
  const m = /([\d.]+)\s*(MiB|GiB)?/i.exec(value ?? '')
  if (m == null) return 0
  return Number(m[1]) * (m[2]?.toLowerCase() === 'gib' ? 1024 : 1)
}

function watts (value: string | undefined): number | undefined {
  const m = /([\d.]+)\s*W/i.exec(value ?? '')
  return m != null ? Number(m[1]) : undefined
}

function device (f: { index: number, name: string, uuid: string, memoryMiB: number, busId: string, deviceId?: string, maxPowerW?: number, driverVersion?: string, computeCap?: string }): GpuDevice {
  const ram = gpuRam(f.name, f.memoryMiB)
  const d: GpuDevice = { index: f.index, vendor: 'nvidia', model: gpuModelName(f.name), name: f.name, uuid: f.uuid, ram: ram.bytes, ramLabel: ram.label, memoryMiB: f.memoryMiB, busId: f.busId }
  const iface = gpuInterface(f)
  if (iface != null) d.interface = iface
  if (f.driverVersion != null && f.driverVersion !== '') d.driverVersion = f.driverVersion
  if (f.computeCap != null && f.computeCap !== '') d.computeCap = f.computeCap
  return d
}

/** `nvidia-smi --query-gpu=… --format=csv` (with its header line) */
export function parseNvidiaSmiCsv (text: string): GpuDevice[] {
  if (text.length > MAX_OUTPUT) throw new InvalidInventoryError('nvidia-smi output is too large')
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '')
  if (lines.length === 0) return []
  const header = lines[0].split(',').map((h) => h.trim().replace(/\s*\[.*\]$/, '').toLowerCase())
  const col = (name: string): number => header.indexOf(name)
  for (const need of ['name', 'uuid', 'memory.total']) {
    if (col(need) < 0) throw new InvalidInventoryError(`nvidia-smi CSV has no ${need} column (run with ${NVIDIA_SMI_QUERY.join(' ')})`)
  }
  if (lines.length - 1 > MAX_GPUS) throw new InvalidInventoryError(`more than ${MAX_GPUS} GPUs listed`)
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',').map((c) => c.trim())
    if (cells.length !== header.length) throw new InvalidInventoryError(`nvidia-smi CSV line ${i + 2} has ${cells.length} fields, the header ${header.length}`)
    const get = (name: string): string | undefined => { const c = col(name); return c < 0 ? undefined : cells[c] }
    return device({
      index: get('index') != null ? Number(get('index')) : i,
      name: get('name') ?? '',
      uuid: get('uuid') ?? '',
      memoryMiB: mib(get('memory.total')),
      busId: get('pci.bus_id') ?? '',
      deviceId: get('pci.device_id'),
      maxPowerW: watts(get('power.max_limit')),
      driverVersion: get('driver_version'),
      computeCap: get('compute_cap')
    })
  })
}

function block (xml: string, tag: string): string | undefined {
  const start = xml.indexOf(`<${tag}>`)
  if (start < 0) return undefined
  const end = xml.indexOf(`</${tag}>`, start)
  return end < 0 ? undefined : xml.slice(start + tag.length + 2, end)
}

function value (xml: string | undefined, tag: string): string | undefined {
  if (xml == null) return undefined
  const v = block(xml, tag)?.trim()
  return v == null || v === 'N/A' ? undefined : v.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>')
}

/** `nvidia-smi -q -x` */
export function parseNvidiaSmiXml (xml: string): GpuDevice[] {
  if (xml.length > MAX_OUTPUT) throw new InvalidInventoryError('nvidia-smi output is too large')
  if (!xml.includes('<nvidia_smi_log>')) throw new InvalidInventoryError('not nvidia-smi -q -x output (no <nvidia_smi_log>)')
  const driverVersion = value(xml, 'driver_version')
  const out: GpuDevice[] = []
  const re = /<gpu id="([^"]*)">([\s\S]*?)<\/gpu>/g
  for (let m = re.exec(xml); m != null; m = re.exec(xml)) {
    if (out.length >= MAX_GPUS) throw new InvalidInventoryError(`more than ${MAX_GPUS} GPUs listed`)
    const g = m[2]
    const pci = block(g, 'pci')
    const power = block(g, 'gpu_power_readings') ?? block(g, 'power_readings')
    out.push(device({
      index: out.length,
      name: value(g, 'product_name') ?? '',
      uuid: value(g, 'uuid') ?? '',
      memoryMiB: mib(value(block(g, 'fb_memory_usage'), 'total')),
      busId: value(pci, 'pci_bus_id') ?? m[1],
      deviceId: value(pci, 'pci_device_id'),
      maxPowerW: watts(value(power, 'max_power_limit') ?? value(power, 'max_limit')),
      driverVersion
    }))
  }
  return out
}

/** Run `nvidia-smi -q -x`; a host without it (or without GPUs) has none. */
export async function detectNvidiaGpus (opts: { binary?: string, timeoutMs?: number } = {}): Promise<GpuDevice[]> {
  const xml = await new Promise<string | undefined>((resolve) => {
    execFile(opts.binary ?? 'nvidia-smi', ['-q', '-x'], { timeout: opts.timeoutMs ?? 10_000, maxBuffer: MAX_OUTPUT }, (err, stdout) => {
      resolve(err != null ? undefined : stdout)
    })
  })
  return xml == null ? [] : parseNvidiaSmiXml(xml)
}
