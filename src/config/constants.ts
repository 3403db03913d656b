/**
 * The TCP port each role listens on unless souk.yaml says otherwise: fixed, so a node's address
 * survives restarts and others can bootstrap from it (docs/operations.md, "Ports"). A node with
 * several roles takes the first in this order.
 */
export const DEFAULT_PORTS = { validator: 4701, provider: 4702, tenant: 4703 } as const

/** the listen addresses for a node with these roles: all interfaces, tcp, the role's port */
export function defaultListen (roles: ReadonlyArray<string>): string[] {
  const role = (['validator', 'provider', 'tenant'] as const).find((r) => roles.includes(r)) ?? 'tenant'
  return [`/ip4/0.0.0.0/tcp/${DEFAULT_PORTS[role]}`]
}
