// Normalises unique-identifier values so that lookups ignore case and cosmetic differences (PRODUCT.md, Records).
export function normaliseEmail (value: string): string {
  return value.trim().toLowerCase()
}

/** Lower case, no scheme, no `www.`, no path, query, port or trailing dot: `https://WWW.Example.com/about` -> `example.com`. */
export function normaliseDomain (value: string): string {
  let v = value.trim().toLowerCase()
  v = v.replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
  v = v.replace(/[/?#].*$/, '')
  v = v.replace(/:\d+$/, '')
  v = v.replace(/^www\./, '')
  v = v.replace(/\.$/, '')
  return v
}

export function normaliseUniqueValue (property: string, value: string): string {
  if (property === 'email') return normaliseEmail(value)
  if (property === 'domain') return normaliseDomain(value)
  return value.trim()
}
