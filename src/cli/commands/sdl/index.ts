import type { CommandGroup } from '../../command-group.ts'
import type { ValidateOptions } from './options.ts'

export const sdl: CommandGroup = {
  name: 'sdl',
  register (program) {
    const sdl = program.command('sdl').description('Akash SDL deployment files')
    sdl.command('validate')
      .description('load and validate deployment files; print what each asks for, or every error with its path')
      .argument('<file...>', 'SDL files (YAML)')
      .option('--json', 'print a JSON array of {file, ok, totals, groups, manifestHash, notices, errors}')
      .action(async (files: string[], opts: ValidateOptions) => { await (await import('./handler.ts')).sdlValidate(files, opts) })
  }
}
