// Whether a module is the script node was started with (so CLI modules can also be imported by tests).
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

export function isEntryPoint (moduleUrl: string): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return moduleUrl === pathToFileURL(realpathSync(script)).href
  } catch {
    return false
  }
}
