// provider.ingress on Kubernetes: with a domain the cluster's ingress controller serves HTTP (the
// runtime makes Ingress objects) and the node's own listener stays off; the class name is checked.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parse } from 'yaml'
import { resolveConfig, configTemplate, kubernetesIngressInit } from '../../src/config/index.ts'
import { ingressInit } from '../../src/config/ingress.ts'

test('on Kubernetes with a domain the runtime gets the domain and class, and the node listener is off', () => {
  const c = resolveConfig({ provider: { runtime: 'kubernetes', ingress: { domain: 'Ingress.Example.com', className: 'nginx' } } }, {})
  assert.equal(kubernetesIngressInit(c), { ingressDomain: 'ingress.example.com', ingressClassName: 'nginx' })
  const plan = ingressInit(c, '/nonexistent')
  assert.ok('off' in plan && plan.off.includes('ingress controller'), JSON.stringify(plan))
  // no class: the cluster's default IngressClass
  assert.equal(kubernetesIngressInit(resolveConfig({ provider: { runtime: 'kubernetes', ingress: { domain: 'ingress.example.com' } } }, {})), { ingressDomain: 'ingress.example.com' })
})

test('without a domain, switched off, or on Docker, the runtime makes no Ingress', () => {
  assert.equal(kubernetesIngressInit(resolveConfig({ provider: { runtime: 'kubernetes' } }, {})), {})
  assert.equal(kubernetesIngressInit(resolveConfig({ provider: { runtime: 'kubernetes', ingress: { enabled: false, domain: 'ingress.example.com' } } }, {})), {})
  const docker = resolveConfig({ provider: { ingress: { domain: 'ingress.example.com' } } }, {})
  assert.equal(kubernetesIngressInit(docker), {})
  assert.ok('init' in ingressInit(docker, '/nonexistent'), 'Docker keeps the node listener')
})

test('a class name that cannot name an IngressClass is refused with its path; the template carries the setting', () => {
  for (const bad of ['Nginx', 'nginx_public', '-x']) {
    try {
      resolveConfig({ provider: { ingress: { className: bad } } }, {})
      assert.unreachable(`${bad} accepted`)
    } catch (err: any) {
      assert.ok(String(err.message).includes('provider.ingress.className'), String(err.message))
    }
  }
  assert.is(resolveConfig(undefined, { env: { SOUK_PROVIDER_INGRESS_CLASS_NAME: 'public' } }).provider.ingress.className, 'public')
  assert.is(parse(configTemplate(['provider'])).provider.ingress.className, '')
})

test.run()
