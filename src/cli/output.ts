import { toJsonText } from '../api/json.ts'

// Output helpers shared by commands: --json prints data, otherwise lines for a person.
export function printJson (value: unknown): void {
  process.stdout.write(toJsonText(value, 2) + '\n')
}

export function print (line = ''): void {
  process.stdout.write(line + '\n')
}

/** An expected failure: printed as one line, no stack trace, exit code set. */
export class CliError extends Error {
  readonly exitCode: number
  constructor (message: string, exitCode = 1) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}
