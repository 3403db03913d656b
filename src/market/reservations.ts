// The one thing the bid engine needs from the provider's inventory: hold capacity for an order
// before bidding on it, and give it back. The inventory decides what fits and says why not.
import type { WireResources } from '../wire/index.ts'

/** What an order needs: every replica of every service of every group, all at once. */
export interface ReservationDemand {
  /** the order's ID, lowercase hex */
  order: string
  groups: Array<{ name: string, resources: WireResources[] }>
}

export type ReserveResult =
  | { ok: true }
  /**
   * `code` is a reason code such as ERR_INSUFFICIENT_GPU (see ReasonCode); `message` says what
   * was short, e.g. "needs 2 × nvidia/h100, have 1 free"
   */
  | { ok: false, code: string, message: string }

export interface ReservationProvider {
  /**
   * Holds the demand under `id` (the order ID) or refuses with a reason. Reserving an ID that is
   * already held answers ok without holding more.
   */
  reserve: (id: string, demand: ReservationDemand) => ReserveResult | Promise<ReserveResult>
  /**
   * Whether the demand would fit now, holding nothing: every resource that falls short, each as
   * a reason (cpu and memory both, not the first only). Without it, shortfalls show at reserve.
   */
  check?: (demand: ReservationDemand) => Array<{ code: string, message: string }> | Promise<Array<{ code: string, message: string }>>
  /** Gives back what `id` holds; releasing an unknown ID does nothing. */
  release: (id: string) => void | Promise<void>
}
