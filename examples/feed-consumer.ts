// Reads the association change feed in a cursor loop: every event once, in order; the cursor is the only state.
//
//   API_KEY=aak_... BASE_URL=http://localhost:3000 npx tsx examples/feed-consumer.ts
//
// Keep `after` somewhere durable (next to what you did with the events) to resume after a restart.
const base = process.env.BASE_URL ?? 'http://localhost:3000'
const key = process.env.API_KEY ?? ''
let after: string | undefined = process.env.AFTER

for (;;) {
  const url = new URL('/crm/v4/associations/events', base)
  url.searchParams.set('limit', '500')
  if (after !== undefined) url.searchParams.set('after', after)
  const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } })
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`)
  const page = await res.json() as { results: Array<{ id: string, kind: string, fromObjectId: number, toObjectId: number, label: string | null }>, paging: { next: { after: string } } }
  for (const e of page.results) console.log(`${e.id} ${e.kind} ${e.fromObjectId} -> ${e.toObjectId}${e.label !== null ? ` [${e.label}]` : ''}`)
  after = page.paging.next.after
  // An empty page keeps the cursor: nothing new is visible yet. Wait a little and ask again.
  if (page.results.length === 0) await new Promise((resolve) => setTimeout(resolve, 1000))
}
