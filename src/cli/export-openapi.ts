// `npm run openapi`: writes the OpenAPI document of the running routes to openapi/openapi.json.
// `npm run openapi:check`: fails (exit 1) when the committed file differs from the routes, naming the first difference.
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { buildApp } from '../app.js'
import { loadConfig } from '../config.js'
import { isEntryPoint } from '../lib/entry-point.js'

// src/cli and dist/cli are both two levels below the project root.
export const OPENAPI_FILE = fileURLToPath(new URL('../../openapi/openapi.json', import.meta.url))

/** The document as the routes describe it, from an app on a throwaway in-memory database and the default config. */
export async function generateOpenApi (): Promise<unknown> {
  // The environment is ignored on purpose: the document must not depend on who generates it (PUBLIC_URL, limits).
  const config = loadConfig({}, { DATA_DIR: 'memory://', LOG_LEVEL: 'silent', DOCS_ENABLED: true })
  const app = await buildApp(config, { logger: false })
  try {
    await app.ready()
    return JSON.parse(JSON.stringify(app.swagger()))
  } finally {
    await app.close()
  }
}

export function serialise (document: unknown): string {
  return JSON.stringify(document, null, 2) + '\n'
}

/** The JSON path of the first difference between two documents (keys in order), or undefined when equal. */
export function firstDifference (a: unknown, b: unknown, path = '$'): string | undefined {
  if (Object.is(a, b)) return undefined
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return path
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const diff = i < a.length && i < b.length ? firstDifference(a[i], b[i], `${path}[${i}]`) : `${path}[${i}]`
      if (diff !== undefined) return diff
    }
    return undefined
  }
  const left = a as Record<string, unknown>
  const right = b as Record<string, unknown>
  const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])]
  for (const key of keys) {
    const child = /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`
    if (!Object.hasOwn(left, key) || !Object.hasOwn(right, key)) return child
    const diff = firstDifference(left[key], right[key], child)
    if (diff !== undefined) return diff
  }
  return undefined
}

async function main (): Promise<number> {
  let check: boolean
  try {
    check = parseArgs({ options: { check: { type: 'boolean' } } }).values.check === true
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\nUsage: export-openapi [--check]\n`)
    return 2
  }
  const text = serialise(await generateOpenApi())
  if (!check) {
    await mkdir(dirname(OPENAPI_FILE), { recursive: true })
    await writeFile(OPENAPI_FILE, text)
    process.stdout.write(`Wrote ${OPENAPI_FILE}\n`)
    return 0
  }
  let committed: string
  try {
    committed = await readFile(OPENAPI_FILE, 'utf8')
  } catch {
    process.stderr.write(`${OPENAPI_FILE} is missing: run \`npm run openapi\` and commit the file.\n`)
    return 1
  }
  if (committed === text) {
    process.stdout.write('openapi/openapi.json matches the routes.\n')
    return 0
  }
  let where: string
  try {
    where = firstDifference(JSON.parse(committed), JSON.parse(text)) ?? '(formatting or key order only)'
  } catch {
    where = '(the committed file is not valid JSON)'
  }
  process.stderr.write(`openapi/openapi.json is out of date with the routes; first difference at ${where}.\n` +
    'Run `npm run openapi` and commit openapi/openapi.json.\n')
  return 1
}

if (isEntryPoint(import.meta.url)) process.exitCode = await main()
