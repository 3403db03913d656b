// The systemd unit `souk node install-service` writes: the daemon as a dedicated user, its home,
// restart on failure, limits for a node holding many connections, logs to the journal.
export interface ServiceUnitOptions {
  /** the account the daemon runs as */
  user: string
  group?: string
  /** the node home (absolute) */
  home: string
  /** the command that runs souk (absolute), e.g. /opt/souk/bin/souk */
  souk: string
  /**
   * the Node.js 24 binary (absolute) that runs it: systemd's PATH finds the system's Node, which
   * may be older than souk needs, so the unit names the one the CLI runs on
   */
  node?: string
  /** a provider with the iptables firewall needs root; otherwise a plain user */
  description?: string
  /** open files: every peer connection and container log stream is one */
  limitNofile?: number
  /** extra environment (DOCKER_HOST overrides provider.dockerHost) */
  environment?: Record<string, string>
}

const quote = (s: string): string => /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/(["\\])/g, '\\$1')}"`

export function serviceUnit (o: ServiceUnitOptions): string {
  const env = Object.entries(o.environment ?? {}).map(([k, v]) => `Environment=${quote(`${k}=${v}`)}`)
  return [
    '# written by `souk node install-service` (docs/operations.md)',
    '[Unit]',
    `Description=${o.description ?? 'souk node'} (${o.home})`,
    'Wants=network-online.target',
    'After=network-online.target docker.service',
    // Restart= gives up after 10 failed starts in 5 minutes (a broken souk.yaml), instead of looping
    'StartLimitIntervalSec=300',
    'StartLimitBurst=10',
    '',
    '[Service]',
    'Type=simple',
    `User=${o.user}`,
    ...(o.group != null ? [`Group=${o.group}`] : []),
    `WorkingDirectory=${o.home}`,
    ...env,
    // logs go to the journal (journalctl -u …); the file in the home is turned off
    `ExecStart=${o.node != null ? `${quote(o.node)} ` : ''}${quote(o.souk)} --home ${quote(o.home)} node start --set log.file=`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    // SIGTERM stops the daemon cleanly: leases keep running and are adopted at the next start
    'KillSignal=SIGTERM',
    'TimeoutStopSec=60',
    'Restart=on-failure',
    'RestartSec=5s',
    `LimitNOFILE=${o.limitNofile ?? 65536}`,
    'UMask=0077',
    // compiled sources kept across restarts (PrivateTmp empties /tmp at each): a daemon that finds
    // them cached never loads Node's TypeScript stripper, about 25 MB resident
    'CacheDirectory=souk',
    'Environment=NODE_COMPILE_CACHE=%C/souk/node-compile-cache',
    'NoNewPrivileges=true',
    'PrivateTmp=true',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    ''
  ].join('\n')
}
