export const DEVNET_FILE = 'devnet.json'
/** in a node home: the crash point the node arms itself with when the devnet runs with crash points */
export const CRASH_POINT_FILE = 'crash-point'
/** the nodes' subnet inside a devnet's hub namespace (private to that namespace) */
export const NETNS_SUBNET = '10.77.0'
/** the port every node listens on in its own namespace */
export const NETNS_PORT = 4001
/** the private subnet behind the devnet's NAT router (the router is .1, the node behind it .2) */
export const NAT_SUBNET = '10.78.0'
/** the NAT router's address on the hub's bridge */
export const NAT_ROUTER_HOST = 254
