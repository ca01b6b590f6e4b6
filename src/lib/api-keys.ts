// API key format and hashing. Keys are 192-bit random secrets, so a plain SHA-256 is a safe, fast lookup hash.
import { createHash, randomBytes } from 'node:crypto'

export const SCOPES = [
  'crm.objects.read',
  'crm.objects.write',
  'crm.schemas.read',
  'crm.schemas.write',
  'crm.import',
  'admin'
] as const

export type Scope = typeof SCOPES[number]

const KEY_PREFIX = 'aak_'

export function generateApiKey (): string {
  return KEY_PREFIX + randomBytes(24).toString('base64url')
}

export function hashApiKey (key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex')
}

/** The first characters of a key, stored to let people recognise a key in listings. */
export function displayPrefix (key: string): string {
  return key.slice(0, 12)
}

/** Largest per-key rate limit: the api_keys columns are int4. */
export const KEY_LIMIT_MAX = 2_147_483_647
