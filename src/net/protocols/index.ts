// Every stream protocol of a souk node, listed by hand: a new protocol is one file in this folder
// (defined with defineProtocol) and one line here. See docs/protocols-howto.md.
export * from './define-protocol.ts'
export { ExchangeOutcome, EXCHANGES_METRIC } from './constants.ts'
export * from './time.ts'
export * from './sync.ts'
export * from './manifest.ts'
export * from './manifest-reading.ts'
export * from './lease.ts'
export * from './usage.ts'
export * from './record.ts'
export * from './explain.ts'
export * from './exec.ts'
export { ExecRefusedError } from './errors.ts'
