// Counts the statements Kysely sends, for "a constant number of SQL statements" tests. BEGIN/COMMIT are connection
// calls and are not counted.
import type { KyselyPlugin } from 'kysely'

export function statementCounter (): KyselyPlugin & { count: number } {
  const plugin = {
    count: 0,
    transformQuery (args: Parameters<KyselyPlugin['transformQuery']>[0]) { plugin.count++; return args.node },
    async transformResult (args: Parameters<KyselyPlugin['transformResult']>[0]) { return args.result }
  }
  return plugin
}
