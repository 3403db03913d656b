import type { CommandGroup } from '../../command-group.ts'
import type { JsonOptions } from './options.ts'

export const order: CommandGroup = {
  name: 'order',
  register (program, { client }) {
    const order = program.command('order').description('orders')
    order.command('list').description('this node\'s orders and the open orders it sees').option('--json', 'print as JSON')
      .action(async (opts: JsonOptions) => { await (await import('./handler.ts')).orderList(await client(), opts) })
  }
}
