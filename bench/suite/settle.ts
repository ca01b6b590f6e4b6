// Waits until no other session runs a query on the bench database, so that every figure starts on an idle server.
import { sqlOn } from '../lib.js'

export function settler (url: string, maxSeconds = 60): () => Promise<void> {
  return async () => {
    const deadline = Date.now() + maxSeconds * 1000
    while (Date.now() < deadline) {
      const { rows } = await sqlOn(url, `select count(*)::int as n from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and state not in ('idle') and backend_type = 'client backend'`)
      if ((rows[0] as { n: number }).n === 0) return
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}
