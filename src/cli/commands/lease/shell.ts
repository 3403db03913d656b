// `souk lease shell ID [COMMAND...]`: stdin and the terminal to a container, its output back.
import { routePath } from '../../../api/index.ts'
import type { ControlClient, ExecInput, ExecOutput, ExecStart } from '../../../api/index.ts'
import { CliError } from '../../output.ts'
import type { ShellOptions } from './options.ts'

export async function leaseShell (client: ControlClient, id: string, command: string[], opts: ShellOptions): Promise<void> {
  const tty = process.stdin.isTTY === true && command.length === 0
  const s = await client.duplex<ExecStart | ExecInput, ExecOutput>(routePath('/v1/leases/:id/exec', { id }))
  s.write({ service: opts.service, command: command.length > 0 ? command : ['sh'], tty })
  if (tty) process.stdin.setRawMode(true)
  const onData = (d: Buffer): void => { s.write({ stdin: d.toString('base64') }) }
  process.stdin.on('data', onData)
  process.stdin.on('end', () => { s.write({ eof: true }); s.end() })
  try {
    for await (const m of s.read) {
      if (m.data != null) (m.stream === 'stderr' ? process.stderr : process.stdout).write(Buffer.from(m.data, 'base64'))
      if (m.exit != null) { process.exitCode = m.exit; break }
      if (m.error != null) throw new CliError(m.error.message)
    }
  } finally {
    if (tty) process.stdin.setRawMode(false)
    process.stdin.off('data', onData)
    process.stdin.pause()
    s.end()
  }
}
