// What a hostile lease tries to reach, made by the check itself and removed afterwards:
// - "the internet": a documentation address (203.0.113.x) served from a network namespace of
//   our own, routed from the host, so a container reaches it the way it reaches any server
//   outside: through the host's forwarding and Docker's NAT;
// - "cloud metadata" (169.254.169.254) and "a private server" (10.213.0.x), served from the
//   same namespace: without isolation a container reaches them exactly as it reaches the
//   internet, so a failed connection there is the firewall's doing;
// - a TCP port the check opens on the host, on every address (the bridge gateways included).
import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { Server } from 'node:net'
import os from 'node:os'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** what the servers of the world answer, so a probe knows whom it reached */
export const WORLD_PAGE = 'souk-sandbox-world'
export const HOST_PAGE = 'souk-sandbox-host'

export interface SandboxWorld {
  /** an address standing for the internet */
  internet: string
  /** the cloud metadata address */
  metadata: string
  /** a server on a private network */
  privateServer: string
  /** a port open on every address of the host */
  hostPort: number
  /** the host's own IPv4 addresses (not loopback, not Docker's) */
  hostAddresses: string[]
  close: () => Promise<void>
}

function sh (cmd: string, args: string[]): Promise<{ code: number, out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err == null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1, out: `${String(stdout)}${String(stderr)}` })
    })
  })
}

async function must (cmd: string, args: string[]): Promise<void> {
  const r = await sh(cmd, args)
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.out.trim()}`)
}

/** whether this process can make network namespaces and routes (root, iproute2, busybox) */
export async function worldAvailable (): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'the sandbox checks need root (network namespaces, routes, iptables, loop devices)'
  for (const t of ['ip', 'iptables', 'busybox']) if ((await sh('sh', ['-c', `command -v ${t}`])).code !== 0) return `${t} is not installed`
  return undefined
}

export async function createWorld (): Promise<SandboxWorld> {
  // the addresses are picked at random: another run on the same host may hold some of them
  for (let attempt = 0; ; attempt++) {
    try {
      return await makeWorld()
    } catch (err: any) {
      if (attempt >= 4 || !/File exists/.test(String(err?.message))) throw err
    }
  }
}

async function makeWorld (): Promise<SandboxWorld> {
  const id = randomBytes(3).toString('hex')
  const ns = `souk-sbx-${id}`
  const vh = `sbxh${id}`
  const vn = `sbxn${id}`
  // addresses of this run: a clash with a concurrent run is unlikely and fails loudly
  const n = randomInt(2, 250)
  const hostSide = `198.51.100.${n}`
  const world = { internet: `203.0.113.${n}`, metadata: '169.254.169.254', privateServer: `10.213.${n}.10` }
  const dir = await mkdtemp(join(tmpdir(), 'souk-sbx-'))
  let httpd: ChildProcess | undefined
  let server: Server | undefined
  const routes: string[] = []
  const close = async (): Promise<void> => {
    httpd?.kill('SIGKILL')
    server?.close()
    for (const r of routes) await sh('ip', ['route', 'del', `${r}/32`, 'dev', vh])
    // deleting the namespace deletes its end of the veth pair, and with it ours
    await sh('ip', ['netns', 'del', ns])
    await sh('ip', ['link', 'del', vh])
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await must('ip', ['netns', 'add', ns])
    await must('ip', ['link', 'add', vh, 'type', 'veth', 'peer', 'name', vn])
    await must('ip', ['link', 'set', vn, 'netns', ns])
    await must('ip', ['addr', 'add', `${hostSide}/32`, 'dev', vh])
    await must('ip', ['link', 'set', vh, 'up'])
    const inNs = async (...args: string[]): Promise<void> => { await must('ip', ['netns', 'exec', ns, ...args]) }
    await inNs('ip', 'link', 'set', 'lo', 'up')
    await inNs('ip', 'link', 'set', vn, 'up')
    for (const a of Object.values(world)) await inNs('ip', 'addr', 'add', `${a}/32`, 'dev', vn)
    await inNs('ip', 'route', 'add', `${hostSide}/32`, 'dev', vn)
    for (const a of Object.values(world)) {
      await must('ip', ['route', 'add', `${a}/32`, 'dev', vh])
      routes.push(a)
    }
    await mkdir(join(dir, 'www'))
    await writeFile(join(dir, 'www', 'index.html'), `${WORLD_PAGE}\n`)
    httpd = spawn('ip', ['netns', 'exec', ns, 'busybox', 'httpd', '-f', '-p', '80', '-h', join(dir, 'www')], { stdio: 'ignore' })
    server = createServer((socket) => {
      socket.on('error', () => {})
      socket.end(`HTTP/1.0 200 OK\r\n\r\n${HOST_PAGE}\n`)
    })
    await new Promise<void>((resolve, reject) => { server!.once('error', reject); server!.listen(0, '0.0.0.0', resolve) })
    const hostPort = (server.address() as { port: number }).port
    const hostAddresses = Object.entries(os.networkInterfaces())
      .filter(([name]) => name !== 'lo' && name !== 'docker0' && !name.startsWith('br-') && !name.startsWith('veth') && !name.startsWith('sbx'))
      .flatMap(([, addrs]) => (addrs ?? []).filter((a) => a.family === 'IPv4' && !a.internal).map((a) => a.address))
    // the world answers before any lease asks it
    for (let i = 0; i < 50; i++) {
      const r = await sh('ip', ['netns', 'exec', ns, 'sh', '-c', `printf "GET / HTTP/1.0\\r\\n\\r\\n" | busybox nc -w 1 ${world.internet} 80`])
      if (r.out.includes(WORLD_PAGE)) break
      if (i === 49) throw new Error('the sandbox world\'s web server did not start')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return { ...world, hostPort, hostAddresses, close }
  } catch (err) {
    await close()
    throw err
  }
}
