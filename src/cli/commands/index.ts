// Every top-level command of `souk`, in the order `souk --help` lists them. A new command is a
// folder beside these (options.ts, handler.ts, index.ts exporting a CommandGroup) and a line here.
import type { CommandGroup } from '../command-group.ts'
import { keys } from './keys/index.ts'
import { sdl } from './sdl/index.ts'
import { committee } from './committee/index.ts'
import { node } from './node/index.ts'
import { deploy } from './deploy/index.ts'
import { lease } from './lease/index.ts'
import { order } from './order/index.ts'
import { provider } from './provider/index.ts'
import { devnet } from './devnet/index.ts'

export const commands: readonly CommandGroup[] = [
  keys,
  sdl,
  committee,
  node,
  deploy,
  lease,
  order,
  provider,
  devnet
]
