// A webhook receiver that verifies signatures: run it, subscribe its URL, and watch association changes arrive.
//
//   WEBHOOK_SECRET=whsec_... PORT=4000 npx tsx examples/webhook-receiver.ts
//   curl -X POST http://localhost:3000/webhooks/v3/subscriptions -H "authorization: Bearer $KEY" \
//     -H 'content-type: application/json' -d '{"targetUrl":"http://127.0.0.1:4000/hooks"}'
//
// (Create the subscription first to get the secret, then start the receiver with it.) Node's standard library only.
import { createServer } from 'node:http'
import { createHmac, timingSafeEqual } from 'node:crypto'

const secret = process.env.WEBHOOK_SECRET ?? ''
const port = Number(process.env.PORT ?? 4000)
const TOLERANCE_S = 300
const seen = new Set<string>()

/** X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, `${t}.${rawBody}`)>. */
export function verify (header: string | undefined, rawBody: string, now = Math.floor(Date.now() / 1000)): boolean {
  const fields = new Map((header ?? '').split(',').map((kv) => kv.split('=', 2) as [string, string]))
  const t = Number(fields.get('t'))
  const v1 = fields.get('v1') ?? ''
  if (!Number.isInteger(t) || Math.abs(now - t) > TOLERANCE_S || !/^[0-9a-f]{64}$/.test(v1)) return false
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest()
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'))
}

createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8') // verify the raw bytes, before any JSON parsing
    const header = req.headers['x-signature']
    if (!verify(Array.isArray(header) ? header[0] : header, raw)) {
      res.writeHead(401).end('bad signature')
      return
    }
    const body = JSON.parse(raw) as { subscriptionId: string, events: Array<{ id: string, kind: string, fromObjectTypeId: string, fromObjectId: number, toObjectTypeId: string, toObjectId: number, label: string | null }> }
    for (const e of body.events) {
      // At least once: a redelivery repeats event ids; skip the ones already handled (keep this in your database).
      if (seen.has(e.id)) continue
      seen.add(e.id)
      console.log(`${e.id} ${e.kind} ${e.fromObjectTypeId}/${e.fromObjectId} -> ${e.toObjectTypeId}/${e.toObjectId}${e.label !== null ? ` [${e.label}]` : ''}`)
    }
    // Answer 2xx quickly; anything else (or no answer within DELIVERY_TIMEOUT_MS) is retried with backoff.
    res.writeHead(204).end()
  })
}).listen(port, () => { console.log(`listening on http://127.0.0.1:${port}/hooks`) })
