import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { MetricsRegistry } from './metrics.ts'
import { MAX_METRICS_CONNECTIONS, METRICS_HEADERS_TIMEOUT_MS } from './constants.ts'

export interface MetricsServer { start: () => Promise<{ port: number }>, stop: () => Promise<void> }

/** Serves GET /metrics in Prometheus text format, on loopback unless told otherwise. */
export function metricsServer (init: { host?: string, port: number }, components: { registry: MetricsRegistry }): MetricsServer {
  let server: Server | undefined
  const dropped = components.registry.counter('souk_metrics_connections_dropped_total', `connections to the metrics listener dropped because ${MAX_METRICS_CONNECTIONS} were open`)
  return {
    async start () {
      server = createServer((req, res) => {
        if (req.url !== '/metrics' || req.method !== 'GET') { res.writeHead(404).end('not found\n'); return }
        const text = components.registry.render()
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text)
      })
      server.maxConnections = MAX_METRICS_CONNECTIONS
      server.headersTimeout = METRICS_HEADERS_TIMEOUT_MS
      server.requestTimeout = METRICS_HEADERS_TIMEOUT_MS
      server.on('drop', () => { dropped.inc() })
      await new Promise<void>((resolve, reject) => { server!.once('error', reject); server!.listen(init.port, init.host ?? '127.0.0.1', resolve) })
      const addr = server.address()
      return { port: typeof addr === 'object' && addr != null ? addr.port : init.port }
    },
    async stop () {
      const s = server
      server = undefined
      if (s != null) { s.closeAllConnections?.(); await new Promise<void>((resolve) => s.close(() => resolve())) }
    }
  }
}
