// Every command folder under src/cli/commands is a command of `souk`: the real bin lists each
// group in `souk --help`, each group's help lists its subcommands, and every subcommand's help
// exits 0. The folders are read from disk, so a group left out of commands/index.ts is caught.
import { execFile } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { CommandGroup } from '../../src/cli/command-group.ts'
import { cliContext } from '../../src/cli/client.ts'

const root = new URL('../..', import.meta.url).pathname
const commandsDir = join(root, 'src/cli/commands')

interface Run { code: number, out: string, err: string }
function souk (args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin/souk'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 }, (err, out, errOut) => {
      const code = err == null ? 0 : typeof err.code === 'number' ? err.code : 1
      resolve({ code, out, err: errOut })
    })
  })
}

/** each folder's group, as its index.ts exports it */
async function groupsOnDisk (): Promise<Array<{ folder: string, group: CommandGroup, subcommands: string[] }>> {
  const out = []
  for (const e of readdirSync(commandsDir, { withFileTypes: true }).filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const mod: Record<string, unknown> = await import(join(commandsDir, e.name, 'index.ts'))
    const groups = Object.values(mod).filter((v): v is CommandGroup => v != null && typeof v === 'object' && 'register' in v && 'name' in v)
    assert.is(groups.length, 1, `src/cli/commands/${e.name}/index.ts exports one command group`)
    // register the group alone to learn its subcommands
    const program = new Command()
    groups[0].register(program, cliContext(program))
    const top = program.commands.find((c) => c.name() === groups[0].name)
    assert.ok(top != null, `${e.name} registers the command ${groups[0].name}`)
    out.push({ folder: e.name, group: groups[0], subcommands: top.commands.map((c) => c.name()) })
  }
  return out
}

/** the command names in the Commands section of a help text */
function listed (help: string): string[] {
  const section = help.slice(help.indexOf('Commands:'))
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1])
}

/** runs `souk` for each argument list, two at a time (each is a whole process) */
async function all (argss: string[][]): Promise<Run[]> {
  const results: Run[] = new Array(argss.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < argss.length) { const i = next++; results[i] = await souk(argss[i]) }
  }
  await Promise.all([worker(), worker()])
  return results
}

test('souk --help lists every command folder, and each group\'s help lists its subcommands', async () => {
  const groups = await groupsOnDisk()
  assert.ok(groups.length >= 9, `found ${groups.length} command folders`)
  const top = await souk(['--help'])
  assert.is(top.code, 0, top.err)
  const names = listed(top.out)
  for (const g of groups) assert.ok(names.includes(g.group.name), `souk --help lists ${g.group.name} (src/cli/commands/${g.folder}):\n${top.out}`)
  const helps = await all(groups.filter((g) => g.subcommands.length > 0).map((g) => [g.group.name, '--help']))
  for (const [i, g] of groups.filter((x) => x.subcommands.length > 0).entries()) {
    assert.is(helps[i].code, 0, `souk ${g.group.name} --help: ${helps[i].err}`)
    const subs = listed(helps[i].out)
    for (const s of g.subcommands) assert.ok(subs.includes(s), `souk ${g.group.name} --help lists ${s}:\n${helps[i].out}`)
  }
})

test('every subcommand\'s --help exits 0 and names the command', async () => {
  const groups = await groupsOnDisk()
  const argss = groups.flatMap((g) => g.subcommands.length > 0 ? g.subcommands.map((s) => [g.group.name, s, '--help']) : [[g.group.name, '--help']])
  assert.ok(argss.length >= 30, `${argss.length} commands`)
  const runs = await all(argss)
  for (const [i, args] of argss.entries()) {
    const r = runs[i]
    const name = args.slice(0, -1).join(' ')
    assert.is(r.code, 0, `souk ${name} --help exited ${r.code}: ${r.err}`)
    assert.ok(r.out.startsWith(`Usage: souk ${name}`), `souk ${name} --help prints its usage:\n${r.out}`)
  }
})

test('a command that is not there is refused with its name', async () => {
  const r = await souk(['no-such-command'])
  assert.is.not(r.code, 0)
  assert.match(r.err, /unknown command 'no-such-command'/)
})

test.run()
