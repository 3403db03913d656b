// Which hostnames a lease's manifest gets on this provider's ingress: per service, a generated
// name for its HTTP port (the one exposed `as: 80` if there is one, else the first HTTP port), and
// every `accept` name on the port that names it. Other ports keep their host ports.
import type { Manifest } from '../../sdl/types.ts'
import type { RuntimeNotice } from '../interface.ts'
import { isGlobal, urlScheme } from '../manifest-plan.ts'
import { MAX_ACCEPT_HOSTS_PER_LEASE } from './constants.ts'
import { IngressError } from './errors.ts'
import { checkAcceptHost, leaseHostname } from './hostnames.ts'
import type { IngressRoute } from './routes.ts'

export function planRoutes (manifest: Manifest, leaseId: string, domain: string): { routes: IngressRoute[], notices: RuntimeNotice[] } {
  const routes: IngressRoute[] = []
  const notices: RuntimeNotice[] = []
  let accepted = 0
  for (const group of manifest.groups) {
    for (const service of group.services) {
      const http = service.expose.map((e, i) => ({ e, i })).filter(({ e }) => isGlobal(e) && e.proto === 'tcp' && urlScheme(e) === 'http')
      if (http.length === 0) continue
      const main = http.find(({ e }) => e.as === 80) ?? http[0]
      routes.push({ host: leaseHostname(service.name, leaseId, domain), leaseId, service: service.name, port: main.e.port, generated: true })
      for (const { e, i } of http) {
        e.accept.forEach((name, j) => {
          const path = `services.${service.name}.expose[${i}].accept[${j}]`
          if (accepted >= MAX_ACCEPT_HOSTS_PER_LEASE) {
            notices.push({ path, code: 'accept-hostnames', message: `not routed: at most ${MAX_ACCEPT_HOSTS_PER_LEASE} accept hostnames per lease` })
            return
          }
          try {
            routes.push({ host: checkAcceptHost(name, domain, path), leaseId, service: service.name, port: e.port, generated: false })
            accepted++
          } catch (err) {
            if (!(err instanceof IngressError)) throw err
            notices.push({ path, code: 'accept-hostnames', message: `not routed: ${err.message.slice(path.length + 2)}` })
          }
        })
      }
    }
  }
  return { routes, notices }
}
