import type { Verdict } from './verdict.ts'

export const NetErrorCode = {
  CONFIG: 'ERR_NET_CONFIG',
  NOT_STARTED: 'ERR_NET_NOT_STARTED',
  UNKNOWN_TOPIC: 'ERR_NET_UNKNOWN_TOPIC',
  FRAME_TOO_LARGE: 'ERR_NET_FRAME_TOO_LARGE',
  TOO_MANY_FRAMES: 'ERR_NET_TOO_MANY_FRAMES',
  MALFORMED_FRAME: 'ERR_NET_MALFORMED_FRAME',
  TIMEOUT: 'ERR_NET_TIMEOUT',
  ABORTED: 'ERR_NET_ABORTED',
  STREAM_ENDED: 'ERR_NET_STREAM_ENDED',
  REFUSED: 'ERR_NET_REFUSED',
  NOT_AUTHORIZED: 'ERR_NET_NOT_AUTHORIZED',
  PUBLISH: 'ERR_NET_PUBLISH'
} as const
export type NetErrorCode = typeof NetErrorCode[keyof typeof NetErrorCode]

/** Anything the network layer refuses or fails at. `path` names the config field when there is one. */
export class NetError extends Error {
  readonly code: NetErrorCode
  readonly path?: string
  constructor (code: NetErrorCode, message: string, path?: string) {
    super(path != null ? `${path}: ${message}` : message)
    this.name = 'NetError'
    this.code = code
    this.path = path
  }
}

/** Why a gossip message was not accepted; carries the verdict the validator gave. */
export class GossipValidationError extends Error {
  readonly verdict: Exclude<Verdict, 'accept'>
  /** the WireError or rate-limit code behind the verdict */
  readonly code: string
  readonly topic: string
  constructor (topic: string, verdict: Exclude<Verdict, 'accept'>, code: string, message: string) {
    super(`${topic}: ${verdict}: ${message}`)
    this.name = 'GossipValidationError'
    this.topic = topic
    this.verdict = verdict
    this.code = code
  }
}
