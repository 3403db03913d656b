// The provider's ingress against strangers: a Host header for another lease, an unknown host,
// huge headers, a client that never finishes its headers, WebSocket and other upgrades, framing
// meant to smuggle a second request, absolute-form targets, and TLS with the operator's
// certificate. Upstreams are real HTTP servers on loopback; the runtime's status says where.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ingress, planRoutes, leaseHostname, checkAcceptHost, normalizeHost, IngressError } from '../../src/runtime/ingress/index.ts'
import type { Ingress } from '../../src/runtime/ingress/index.ts'
import type { DeployedLease } from '../../src/runtime/index.ts'
import { loadSdl } from '../../src/sdl/index.ts'
import { createMetricsRegistry } from '../../src/api/metrics.ts'

const A = 'a'.repeat(64)
const B = 'b'.repeat(64)
const upstreams: http.Server[] = []
const upgraded: Array<import('node:stream').Duplex> = []
const seen: Array<{ lease: string, method: string, url: string, headers: http.IncomingHttpHeaders }> = []

/** an upstream that answers with its lease's name, and echoes WebSocket-style upgrades */
async function upstream (lease: string): Promise<number> {
  const s = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => { body += String(c) })
    req.on('end', () => {
      seen.push({ lease, method: req.method ?? '', url: req.url ?? '', headers: req.headers })
      res.end(`lease ${lease} ${req.method ?? ''} ${req.url ?? ''} ${body}`)
    })
  })
  s.on('upgrade', (req, socket, head) => {
    upgraded.push(socket)
    if (head.length > 0) setImmediate(() => socket.write(`echo ${lease}: ${String(head)}`))
    seen.push({ lease, method: 'UPGRADE', url: req.url ?? '', headers: req.headers })
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n')
    socket.on('data', (d) => socket.write(`echo ${lease}: ${String(d)}`))
  })
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  upstreams.push(s)
  return (s.address() as net.AddressInfo).port
}

function deployed (leaseId: string, port: number): DeployedLease {
  const url = { port: 8080, as: 80, proto: 'tcp' as const, url: `http://127.0.0.1:${port}`, host: '127.0.0.1', hostPort: port }
  return {
    leaseId, tenant: 't', provider: 'p', runtime: 'docker', notices: [],
    services: [{ name: 'web', group: 'g', image: 'i', count: 1, ready: 1, urls: [url], replicas: [{ name: 'r', index: 0, state: 'running', restarts: 0, urls: [url] }] }]
  }
}

/** one raw exchange: what the ingress answers to exactly these bytes, until it closes or goes quiet */
async function raw (port: number, text: string | Buffer, opts: { quietMs?: number, keepOpenMs?: number } = {}): Promise<{ text: string, closed: boolean }> {
  return await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    let out = ''
    let timer: NodeJS.Timeout | undefined
    const done = (closed: boolean): void => { clearTimeout(timer); s.destroy(); resolve({ text: out, closed }) }
    const arm = (): void => { clearTimeout(timer); timer = setTimeout(() => done(false), opts.quietMs ?? 1500) }
    s.on('data', (d) => { out += String(d); arm() })
    s.on('close', () => done(true))
    s.on('error', () => {})
    s.write(text)
    arm()
  })
}

const get = async (port: number, host: string, path = '/', headers: Record<string, string> = {}): Promise<{ status: number, body: string }> =>
  await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, headers: { host, ...headers }, agent: false }, (res) => {
      let body = ''
      res.on('data', (c) => { body += String(c) })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }).on('error', reject)
  })

const refusedCount = (m: ReturnType<typeof createMetricsRegistry>, reason: string): number => m.counter('souk_ingress_refused_total', '').get({ reason })

let ing: Ingress
const ingMetrics = createMetricsRegistry()
let portA = 0
let portB = 0
const hostA = leaseHostname('web', A, 'localhost')
const hostB = leaseHostname('web', B, 'localhost')

test.before(async () => {
  portA = await upstream('A')
  portB = await upstream('B')
  const status = new Map([[A, deployed(A, portA)], [B, deployed(B, portB)]])
  ing = ingress({ host: '127.0.0.1', port: 0, domain: 'localhost', headersTimeoutMs: 400, maxHeaderBytes: 8192 })({
    runtime: { status: async (id) => { const d = status.get(id); if (d == null) throw new Error('no such lease'); return d } },
    metrics: ingMetrics
  })
  await ing.start()
  ing.routes.set(A, [{ host: hostA, leaseId: A, service: 'web', port: 8080, generated: true }, { host: 'shop.example.com', leaseId: A, service: 'web', port: 8080, generated: false }])
  ing.routes.set(B, [{ host: hostB, leaseId: B, service: 'web', port: 8080, generated: true }])
})

test.after(async () => {
  await ing.stop()
  for (const u of upgraded) u.destroy()
  for (const s of upstreams) { s.closeAllConnections(); s.close() }
})

test('each hostname reaches its own lease; accept names too; an unknown host gets 404 and reaches nobody', async () => {
  assert.match((await get(ing.port(), hostA)).body, /^lease A GET \//)
  assert.match((await get(ing.port(), `${hostB}:${ing.port()}`)).body, /^lease B GET \//)
  assert.match((await get(ing.port(), 'SHOP.example.com.')).body, /^lease A/)
  const before = seen.length
  const r = await get(ing.port(), 'other.localhost')
  assert.is(r.status, 404)
  assert.is(seen.length, before, 'no upstream saw the request')
  // the upstream learns who asked, and for which host
  const last = (await get(ing.port(), hostA, '/x?y=1', { 'x-forwarded-for': '203.0.113.9' }), seen.at(-1)!)
  assert.is(last.url, '/x?y=1')
  assert.is(last.headers.host, hostA)
  assert.is(last.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1')
  assert.is(last.headers['x-forwarded-proto'], 'http')
  // headers that describe the client's hop stay with it: the fixed ones and those Connection names
  const hop = (await get(ing.port(), hostA, '/', { connection: 'close, x-hop', 'x-hop': '1', 'keep-alive': 'timeout=5', 'x-end': '1' }), seen.at(-1)!)
  assert.is(hop.headers['x-end'], '1')
  assert.is(hop.headers['x-hop'], undefined)
  assert.is(hop.headers['keep-alive'], undefined)
})

test('a second Host header, an absolute-form target or CONNECT cannot reach another lease', async () => {
  const before = seen.filter((x) => x.lease === 'B').length
  const dup = await raw(ing.port(), `GET / HTTP/1.1\r\nhost: ${hostA}\r\nhost: ${hostB}\r\nconnection: close\r\n\r\n`)
  assert.not.match(dup.text, /lease B/)
  const abs = await raw(ing.port(), `GET http://${hostB}/ HTTP/1.1\r\nhost: ${hostA}\r\nconnection: close\r\n\r\n`)
  assert.match(abs.text, /^HTTP\/1.1 400/)
  const conn = await raw(ing.port(), `CONNECT ${hostB}:80 HTTP/1.1\r\nhost: ${hostB}:80\r\n\r\n`)
  assert.not.match(conn.text, /lease B|200/)
  assert.is(seen.filter((x) => x.lease === 'B').length, before, 'lease B never saw any of them')
})

test('request smuggling: Content-Length with Transfer-Encoding, or two Content-Lengths, is refused before any upstream sees it', async () => {
  const before = seen.length
  const te = await raw(ing.port(), `POST / HTTP/1.1\r\nhost: ${hostA}\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nhost: ${hostB}\r\n\r\n`)
  assert.match(te.text, /^HTTP\/1.1 400/)
  const cl = await raw(ing.port(), `POST / HTTP/1.1\r\nhost: ${hostA}\r\ncontent-length: 4\r\ncontent-length: 40\r\n\r\nabcd`)
  assert.match(cl.text, /^HTTP\/1.1 400/)
  assert.is(seen.length, before)
  assert.not.ok(seen.some((x) => x.url === '/smuggled'))
})

// 12 KB: past the ingress's 8 KiB, under Node's own default, so the configured limit is the one in force
test('headers past the limit get 431; a client that never finishes its headers is cut off', async () => {
  const big = await raw(ing.port(), `GET / HTTP/1.1\r\nhost: ${hostA}\r\nx-big: ${'a'.repeat(12_000)}\r\n\r\n`)
  assert.match(big.text, /^HTTP\/1.1 431/)
  assert.is(refusedCount(ingMetrics, 'header-size'), 1)
  // slowloris: one header line, then silence; the connection must be closed by the ingress, not left open
  const slow = await raw(ing.port(), `GET / HTTP/1.1\r\nhost: ${hostA}\r\nx-a: 1\r\n`, { quietMs: 8000 })
  assert.ok(slow.closed, 'closed by the ingress')
  assert.match(slow.text, /^(HTTP\/1.1 408|$)/)
})

test('a WebSocket upgrade passes to its own lease only; other upgrades are refused', async () => {
  const ws = await raw(ing.port(), `GET /chat HTTP/1.1\r\nhost: ${hostB}\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\nping`, { quietMs: 800 })
  assert.match(ws.text, /^HTTP\/1.1 101/)
  assert.match(ws.text, /echo B: ping/)
  assert.is(seen.at(-1)?.headers['sec-websocket-key'], 'dGhlIHNhbXBsZSBub25jZQ==')
  const unknown = await raw(ing.port(), 'GET / HTTP/1.1\r\nhost: nobody.localhost\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\n')
  assert.match(unknown.text, /^HTTP\/1.1 404/)
  const h2c = await raw(ing.port(), `GET / HTTP/1.1\r\nhost: ${hostA}\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n`)
  assert.match(h2c.text, /^HTTP\/1.1 400/)
})

test('an upstream that moved (an update, a restart) is found again; one that is gone gets 502', async () => {
  const oldPort = await upstream('old')
  const old = upstreams.at(-1)!
  const ports = new Map([[A, oldPort]])
  const moving = ingress({ host: '127.0.0.1', port: 0, domain: 'localhost' })({ runtime: { status: async (id) => deployed(id, ports.get(id)!) } })
  await moving.start()
  try {
    moving.routes.set(A, [{ host: hostA, leaseId: A, service: 'web', port: 8080, generated: true }])
    assert.match((await get(moving.port(), hostA)).body, /lease old/)
    // the container is replaced: the old port refuses, the runtime reports the new one
    old.closeAllConnections()
    await new Promise((resolve) => old.close(resolve))
    ports.set(A, portB)
    assert.match((await get(moving.port(), hostA)).body, /lease B/)
    // nothing listens anywhere
    ports.set(A, oldPort)
    moving.invalidate(A)
    assert.is((await get(moving.port(), hostA)).status, 502)
  } finally {
    await moving.stop()
  }
})

test('TLS with the operator\'s certificate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'souk-ingress-tls-'))
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=*.localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
    const cert = readFileSync(join(dir, 'cert.pem'))
    const tls = ingress({ host: '127.0.0.1', port: 0, domain: 'localhost', tls: { cert, key: readFileSync(join(dir, 'key.pem')), port: 0 } })({ runtime: { status: async (id) => deployed(id, portA) } })
    await tls.start()
    try {
      tls.routes.set(A, [{ host: hostA, leaseId: A, service: 'web', port: 8080, generated: true }])
      assert.match(tls.url(hostA), new RegExp(`^https://${hostA}:\\d+$`))
      const body = await new Promise<string>((resolve, reject) => {
        https.get({ host: '127.0.0.1', port: tls.tlsPort(), servername: hostA, headers: { host: hostA }, ca: cert, checkServerIdentity: () => undefined, agent: false }, (res) => {
          let b = ''
          res.on('data', (c) => { b += String(c) })
          res.on('end', () => resolve(b))
        }).on('error', reject)
      })
      assert.match(body, /^lease A/)
      assert.is(seen.at(-1)?.headers['x-forwarded-proto'], 'https')
    } finally {
      await tls.stop()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

/** a client that sends `head` at once, then `text` a few bytes at a time, never pausing long, until the ingress closes on it */
async function dribble (port: number, head: string, text: string): Promise<{ text: string, closed: boolean }> {
  return await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    let out = ''
    let at = 0
    const send = setInterval(() => { if (at < text.length) { s.write(text.slice(at, at + 2)); at += 2 } }, 50)
    const giveUp = setTimeout(() => done(false), 20_000)
    const done = (closed: boolean): void => { clearInterval(send); clearTimeout(giveUp); s.destroy(); resolve({ text: out, closed }) }
    s.on('data', (d) => { out += String(d) })
    s.on('close', () => done(true))
    s.on('error', () => {})
    s.write(head)
  })
}

test('a client that keeps sending, slowly, is cut off at the header timeout, and at the request timeout while in its body', async () => {
  const metrics = createMetricsRegistry()
  const slow = ingress({ host: '127.0.0.1', port: 0, domain: 'localhost', headersTimeoutMs: 400, requestTimeoutMs: 1500 })({ runtime: { status: async (id) => deployed(id, portA) }, metrics })
  await slow.start()
  try {
    slow.routes.set(A, [{ host: hostA, leaseId: A, service: 'web', port: 8080, generated: true }])
    const headers = await dribble(slow.port(), '', `GET / HTTP/1.1\r\nhost: ${hostA}\r\n${'x-a: 1\r\n'.repeat(1000)}\r\n`)
    assert.ok(headers.closed, 'closed by the ingress while the headers still came')
    assert.match(headers.text, /^(HTTP\/1.1 408|$)/)
    const body = await dribble(slow.port(), `POST / HTTP/1.1\r\nhost: ${hostA}\r\ncontent-length: 100000\r\n\r\n`, 'b'.repeat(100_000))
    assert.ok(body.closed, 'closed by the ingress while the body still came')
    assert.match(body.text, /^HTTP\/1.1 408/)
    assert.is(refusedCount(metrics, 'timeout'), 2)
  } finally {
    await slow.stop()
  }
})

test('past maxConnections a new connection is closed before a byte is read, and counted; a freed slot serves again', async () => {
  const metrics = createMetricsRegistry()
  const small = ingress({ host: '127.0.0.1', port: 0, domain: 'localhost', maxConnections: 4, headersTimeoutMs: 30_000, requestTimeoutMs: 60_000 })({ runtime: { status: async (id) => deployed(id, portA) }, metrics })
  await small.start()
  const held: net.Socket[] = []
  try {
    small.routes.set(A, [{ host: hostA, leaseId: A, service: 'web', port: 8080, generated: true }])
    for (let i = 0; i < 4; i++) {
      const s = net.connect(small.port(), '127.0.0.1')
      s.on('error', () => {})
      await new Promise((resolve) => s.once('connect', resolve))
      held.push(s)
    }
    const before = seen.length
    const extra = await Promise.all(Array.from({ length: 20 }, async () => await raw(small.port(), `GET / HTTP/1.1\r\nhost: ${hostA}\r\nconnection: close\r\n\r\n`, { quietMs: 5000 })))
    for (const e of extra) assert.equal(e, { text: '', closed: true })
    assert.is(seen.length, before, 'no upstream saw them')
    assert.is(refusedCount(metrics, 'max-connections'), 20)
    held.shift()!.destroy()
    let served = ''
    for (let i = 0; i < 50 && served === ''; i++) {
      served = (await raw(small.port(), `GET / HTTP/1.1\r\nhost: ${hostA}\r\nconnection: close\r\n\r\n`, { quietMs: 5000 })).text
      if (served === '') await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.match(served, /^HTTP\/1.1 200[^]*lease A/)
  } finally {
    for (const s of held) s.destroy()
    await small.stop()
  }
})

test('one lease holds at most maxUpstreamsPerLease exchanges; more requests and upgrades get 503, other leases are still served', async () => {
  // an upstream that answers nothing until told to
  const waiting: http.ServerResponse[] = []
  const hold = http.createServer((req, res) => { req.resume(); waiting.push(res) })
  await new Promise<void>((resolve) => hold.listen(0, '127.0.0.1', resolve))
  const portH = (hold.address() as net.AddressInfo).port
  const metrics = createMetricsRegistry()
  const ports = new Map([[A, portH], [B, portB]])
  const capped = ingress({ host: '127.0.0.1', port: 0, domain: 'localhost', maxUpstreamsPerLease: 3 })({ runtime: { status: async (id) => deployed(id, ports.get(id)!) }, metrics })
  await capped.start()
  try {
    capped.routes.set(A, [{ host: hostA, leaseId: A, service: 'web', port: 8080, generated: true }])
    capped.routes.set(B, [{ host: hostB, leaseId: B, service: 'web', port: 8080, generated: true }])
    const first = Array.from({ length: 3 }, async () => await get(capped.port(), hostA))
    for (let i = 0; i < 200 && waiting.length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.is(waiting.length, 3)
    const more = await Promise.all(Array.from({ length: 20 }, async () => await get(capped.port(), hostA)))
    for (const r of more) assert.is(r.status, 503)
    const ws = await raw(capped.port(), `GET / HTTP/1.1\r\nhost: ${hostA}\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\n`)
    assert.match(ws.text, /^HTTP\/1.1 503/)
    assert.is(waiting.length, 3, 'the upstream saw none of them')
    assert.is(refusedCount(metrics, 'lease-upstreams'), 21)
    assert.match((await get(capped.port(), hostB)).body, /^lease B/)
    // the held exchanges end: their slots are free again
    for (const res of waiting.splice(0)) res.end('held')
    for (const r of await Promise.all(first)) assert.equal(r, { status: 200, body: 'held' })
    const again = get(capped.port(), hostA)
    for (let i = 0; i < 200 && waiting.length < 1; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    for (const res of waiting.splice(0)) res.end('held')
    assert.is((await again).status, 200)
  } finally {
    await capped.stop()
    hold.closeAllConnections()
    hold.close()
  }
})

test('a lease that closes takes its cached status along: routed again, it is looked up afresh', async () => {
  let lookups = 0
  const once = ingress({ host: '127.0.0.1', port: 0, domain: 'localhost' })({ runtime: { status: async (id) => { lookups++; return deployed(id, portA) } } })
  await once.start()
  try {
    const r = [{ host: hostA, leaseId: A, service: 'web', port: 8080, generated: true }]
    once.routes.set(A, r)
    await get(once.port(), hostA)
    await get(once.port(), hostA)
    assert.is(lookups, 1)
    once.routes.remove(A)
    once.routes.set(A, r)
    await get(once.port(), hostA)
    assert.is(lookups, 2)
  } finally {
    await once.stop()
  }
})

test('hostnames: generated ones fit one DNS label; accept names are checked; the provider\'s own domain is not for the taking', () => {
  const h = leaseHostname('a'.repeat(63), A, 'ingress.example.com')
  assert.ok(h.split('.')[0].length <= 63)
  assert.is(leaseHostname('web', A, 'localhost'), `web-${A.slice(0, 16)}.localhost`)
  assert.is(checkAcceptHost('Shop.Example.com.', 'localhost', 'p'), 'shop.example.com')
  assert.is(checkAcceptHost('*.example.com', 'localhost', 'p'), '*.example.com')
  assert.throws(() => checkAcceptHost(`web-${B.slice(0, 16)}.localhost`, 'localhost', 'p'), (e: any) => e instanceof IngressError && /ingress domain/.test(e.message))
  assert.throws(() => checkAcceptHost('bad_host!', 'localhost', 'p'), (e: any) => e instanceof IngressError)
  assert.is(normalizeHost('[::1]:80'), undefined)
  assert.is(normalizeHost('a.b:99999x'), undefined)
  const sdl = loadSdl(readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8').replace('as: 80', 'as: 80\n        accept:\n          - www.example.org\n          - x.localhost'))
  const plan = planRoutes(sdl.manifest, A, 'localhost')
  assert.equal(plan.routes.map((r) => r.host), [`web-${A.slice(0, 16)}.localhost`, 'www.example.org'])
  assert.equal(plan.notices.map((n) => n.path), ['services.web.expose[0].accept[1]'])
})

test('a hostname held by one lease is refused to another, and freed when the first closes', () => {
  const r = ing.routes.set('c'.repeat(64), [{ host: 'shop.example.com', leaseId: 'c'.repeat(64), service: 'web', port: 80, generated: false }])
  assert.is(r.refused.length, 1)
  ing.routes.remove(A)
  assert.is(ing.routes.lookup('shop.example.com'), undefined)
  assert.is(ing.routes.set('c'.repeat(64), [{ host: 'shop.example.com', leaseId: 'c'.repeat(64), service: 'web', port: 80, generated: false }]).refused.length, 0)
})

test.run()
