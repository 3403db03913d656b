// A complete souk network on this machine, as separate processes: a fresh committee of
// validators, providers on the local Docker engine, and a tenant, each a node home under DIR.
// By default they talk over loopback. With `netns` each node runs in a network namespace of its
// own, wired by a veth pair to a bridge in a hub namespace, so links between nodes can be cut and
// healed (`devnetCut`, `devnetHeal`) the way a real network fails: packets silently dropped.
// The parts are in devnet/; this file is the entry the CLI, the benchmarks and the tests import.
export { DEVNET_FILE, CRASH_POINT_FILE } from './devnet/constants.ts'
export type { DevnetNode, DevnetNetns, DevnetState, DevnetProgress, DevnetOptions, DevnetNodeStatus } from './devnet/types.ts'
export { readDevnet, saveDevnet } from './devnet/state.ts'
export { netnsUnavailable, devnetCut, devnetPartition, devnetHeal } from './devnet/netns.ts'
export { devnetUp } from './devnet/up.ts'
export { devnetKill, devnetRunning, devnetStart, devnetStatus, devnetDown } from './devnet/control.ts'
