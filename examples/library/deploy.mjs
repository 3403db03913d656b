// Embedding souk in a plain JavaScript program: a tenant node joins a running network, waits
// until it can reach the market, deploys a web server, fetches its page, follows its logs for a
// moment, closes the lease and stops. Run it on a devnet (`souk devnet up --dir DIR`):
//   node deploy.mjs DIR
import http from 'node:http'
import { mkdtempSync, readFileSync, copyFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode, DeployError } from 'souk'

const devnet = process.argv[2] ?? './.souk-devnet'
const state = JSON.parse(readFileSync(join(devnet, 'devnet.json'), 'utf8'))
const validator = state.nodes.find((n) => n.role === 'validator')

// a node home of its own: key, store, and the committee file that lets it check leases offline
const home = mkdtempSync(join(tmpdir(), 'souk-embedded-'))
copyFileSync(join(devnet, 'tenant', 'committee.json'), join(home, 'committee.json'))

// any part of the configuration; the rest are the defaults
const node = await createNode({
  home,
  config: {
    roles: ['tenant'],
    network: { bootstrap: [`/ip4/127.0.0.1/tcp/${validator.port}/p2p/${validator.peerId}`], testNetwork: true },
    tenant: { bidWindowMs: 1000 }
  }
})
node.addEventListener('lease:certified', (evt) => { console.log(`event lease:certified ${evt.detail.orderId.slice(0, 12)} provider ${evt.detail.provider.slice(0, 12)}`) })
node.addEventListener('lease:closed', (evt) => { console.log(`event lease:closed ${evt.detail.orderId.slice(0, 12)}`) })

try {
  // an order published before any peer listens reaches nobody: wait (at most 30 s) for the market
  await node.ready({ signal: AbortSignal.timeout(30_000) })
  console.log(`ready ${node.peerId}`)

  const sdl = readFileSync(new URL('./web.yaml', import.meta.url), 'utf8')
  let deployment
  try {
    deployment = await node.tenant.deploy(sdl, {
      signal: AbortSignal.timeout(120_000),
      onProgress: (e) => {
        switch (e.type) {
          case 'deploy:order-published': console.log(`order ${e.detail.order.slice(0, 12)}`); break
          case 'deploy:lease-final': console.log(`lease final with ${e.detail.provider.slice(0, 12)} after ${e.detail.bids} bid(s)`); break
          case 'deploy:services-running': console.log('services running'); break
        }
      }
    })
  } catch (err) {
    if (err instanceof DeployError) console.error(`deploy failed: ${err.code}: ${err.message}`)
    throw err
  }
  // the first URL is the provider ingress's stable name; on a devnet it is under *.localhost, which
  // browsers and curl send to loopback but Node's resolver may not: there, ask loopback with that Host
  const url = new URL(deployment.services[0].urls[0])
  console.log(`running ${url}`)
  const page = await new Promise((resolve, reject) => {
    const local = url.hostname.endsWith('.localhost')
    http.get({ host: local ? '127.0.0.1' : url.hostname, port: url.port || 80, path: url.pathname, headers: { host: url.host } }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d) => { body += d }).on('end', () => resolve(body))
    }).on('error', reject)
  })
  console.log(`page ${page.trim().split('\n')[0]}`)

  // follow the logs; the abort ends the follow (the loop also stops on the first line)
  const follow = new AbortController()
  const timer = setTimeout(() => { follow.abort() }, 15_000)
  try {
    for await (const line of node.tenant.logs(deployment.order, { follow: true, tail: 10, signal: follow.signal })) {
      console.log(`log ${line.service} | ${line.line}`)
      follow.abort()
      break
    }
  } catch (err) {
    if (!follow.signal.aborted) throw err
  } finally { clearTimeout(timer) }

  const closed = await node.tenant.close(deployment.order, 'example finished')
  console.log(`closed ${closed.state}`)
} finally {
  await node.stop()
  rmSync(home, { recursive: true, force: true })
  console.log('stopped')
}
