export const DEVNET_FILE = 'devnet.json'
/** in a node home: the crash point the node arms itself with when the devnet runs with crash points */
export const CRASH_POINT_FILE = 'crash-point'
/** the nodes' subnet inside a devnet's hub namespace (private to that namespace) */
export const NETNS_SUBNET = '10.77.0'
/** the port every node listens on in its own namespace */
export const NETNS_PORT = 4001
