// A real webhook receiver for tests: node:http on 127.0.0.1 (ephemeral port). It checks every request's signature
// the way a consumer would (README, "Verifying a webhook"), records it, and answers what the test's `respond` says.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { Teardown } from './app.js'

export interface Received {
  body: string
  events: Array<{ id: string, kind: string }>
  headers: IncomingHttpHeaders
  /** The X-Signature header matched HMAC-SHA256(secret, t + "." + body), with t within 5 minutes. */
  verified: boolean
  at: number
}

export interface Receiver {
  url: string
  received: Received[]
  /** The subscription's secret, once the test has created it. */
  secret: string
  /** Resolves when `predicate` holds for the requests so far (polling), or fails after `ms`. */
  until: (predicate: (received: Received[]) => boolean, ms?: number) => Promise<void>
  close: () => Promise<void>
}

export function verifySignature (secret: string, header: string | undefined, body: string, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  const parts = new Map((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]))
  const t = Number(parts.get('t'))
  const v1 = parts.get('v1') ?? ''
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > 300 || !/^[0-9a-f]{64}$/.test(v1)) return false
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest()
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'))
}

/** `respond(request, index)` gives the status to answer (it may wait first). */
export async function startReceiver (t: Teardown, respond: (r: Received, index: number) => Promise<number> | number): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    received: [],
    secret: '',
    async until (predicate, ms = 20_000) {
      const deadline = Date.now() + ms
      while (!predicate(receiver.received)) {
        if (Date.now() > deadline) throw new Error(`receiver: condition not met after ${ms} ms; got ${receiver.received.length} requests`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    close: async () => {}
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const headers = req.headers
      const signature = Array.isArray(headers['x-signature']) ? headers['x-signature'][0] : headers['x-signature']
      const r: Received = { body, events: (JSON.parse(body) as { events: Received['events'] }).events, headers, verified: verifySignature(receiver.secret, signature, body), at: Date.now() }
      receiver.received.push(r)
      Promise.resolve(respond(r, receiver.received.length - 1))
        .then((status) => { res.writeHead(status, { 'content-type': 'text/plain' }).end('ok') })
        .catch(() => { res.destroy() })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`
  receiver.close = async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => { resolve() }))
  }
  t.teardown(receiver.close)
  return receiver
}
