// Where the generated data is: ids of contacts and companies, which companies each contact holds, the hub records.
// Everything is a pure function of the row count, so the generator, the baselines and the service runs agree on it.

/** Companies of a hub record: the HubSpot cap (10,000 per record and object type). */
export const HUB_SIZE = 10_000
/** Companies of each regular contact: a page of 100 is always full. */
export const PER_CONTACT = 100
/** Step between a contact's companies; PER_CONTACT + import rounds steps stay below the company count, so they are distinct. */
const STEP = 101
export const CONTACT0 = 1_000_000
export const COMPANY0 = 5_000_000
/** Record ids the service hands out (imports creating records) start above the generated ones. */
export const NEXT_RECORD_ID = 10_000_000

export interface Layout {
  rows: number
  /** Regular contacts (index 0..regular-1), each with PER_CONTACT companies. */
  regular: number
  companies: number
  /** Hub contacts holding HUB_SIZE companies each (companies 0..HUB_SIZE-1). */
  hubs: number[]
  /** A contact holding `nearCapCount` companies (the O(1) cap check run), and one holding PER_CONTACT. */
  nearCap: number
  nearCapCount: number
  light: number
}

export function layoutFor (rows: number, connections: number): Layout {
  const pairs = Math.floor(rows / 2)
  const hubCount = pairs >= 1_000_000 ? 10 : 2
  // Each connection has at most one pair in flight on the near-cap record, so it stays at or under the cap.
  const nearCapCount = HUB_SIZE - connections
  const regular = Math.floor((pairs - hubCount * HUB_SIZE - nearCapCount - PER_CONTACT) / PER_CONTACT)
  // Batch reads take 1,000 consecutive contacts.
  if (regular < 1000) throw new Error(`--rows ${rows} is too small: at least ${2 * (hubCount * HUB_SIZE + nearCapCount + 1001 * PER_CONTACT)}`)
  const contact = (i: number): number => CONTACT0 + i
  return {
    rows,
    regular,
    companies: Math.max(20_000, regular),
    hubs: Array.from({ length: hubCount }, (_, h) => contact(regular + h)),
    nearCap: contact(regular + hubCount),
    nearCapCount,
    light: contact(regular + hubCount + 1)
  }
}

export const contactId = (i: number): number => CONTACT0 + i
export const companyId = (k: number): number => COMPANY0 + k

/** The j-th company (index) of regular contact i; j < PER_CONTACT are loaded, higher rounds are free for imports. */
export function companyOf (layout: Layout, i: number, j: number): number {
  return (i * 37 + j * STEP) % layout.companies
}

export const random = (n: number): number => Math.floor(Math.random() * n)
