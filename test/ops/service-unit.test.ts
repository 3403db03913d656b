// souk node install-service: the unit runs the daemon as the given user on its home, restarts
// it on failure, reloads on `systemctl reload`, logs to the journal; systemd-analyze accepts it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'

const root = new URL('../..', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'souk-unit-'))
test.after(() => rmSync(dir, { recursive: true, force: true }))

test('install-service writes the unit and prints how to enable it', () => {
  const out = join(dir, 'souk-provider.service')
  const r = spawnSync(process.execPath, [join(root, 'bin/souk'), '--home', join(dir, 'home'), 'node', 'install-service', '--name', 'souk-provider', '--output', out, '--docker-host', 'unix:///run/docker.sock'], { cwd: root, encoding: 'utf8', timeout: 60_000 })
  assert.is(r.status, 0, r.stderr)
  assert.match(r.stdout, /sudo systemctl enable --now souk-provider/)
  assert.match(r.stdout, /journalctl -u souk-provider/)
  const unit = readFileSync(out, 'utf8')
  assert.match(unit, new RegExp(`^User=${userInfo().username}$`, 'm'))
  assert.match(unit, new RegExp(`^ExecStart=${process.execPath} ${join(root, 'bin/souk')} --home ${join(dir, 'home')} node start --set log.file=$`, 'm'))
  // systemd's PATH finds the system's Node (older here): the unit's command runs souk without it
  const exec = unit.match(/^ExecStart=(.*) --home /m)![1].split(' ')
  const bare = spawnSync(exec[0], [...exec.slice(1), '--version'], { encoding: 'utf8', timeout: 60_000, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } })
  assert.is(bare.status, 0, `${bare.stdout}${bare.stderr}`)
  assert.match(unit, /^Restart=on-failure$/m)
  assert.match(unit, /^LimitNOFILE=65536$/m)
  // compiled sources survive restarts in systemd's cache directory, not the private /tmp
  assert.match(unit, /^CacheDirectory=souk$/m)
  assert.match(unit, /^Environment=NODE_COMPILE_CACHE=%C\/souk\/node-compile-cache$/m)
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m)
  assert.match(unit, /^Environment=DOCKER_HOST=unix:\/\/\/run\/docker\.sock$/m)
  const analyze = spawnSync('systemd-analyze', ['verify', out], { encoding: 'utf8' })
  if (analyze.error != null) console.log('systemd-analyze is not installed: the unit\'s syntax is not verified here')
  else assert.is(analyze.status, 0, analyze.stderr)
})

test.run()
