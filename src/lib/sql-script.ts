// Splits a SQL script into statements, so each runs alone (PGlite's query protocol takes one statement).
// Handles -- comments, 'strings', "identifiers" and $tag$ dollar quotes.
export function splitSqlStatements (script: string): string[] {
  const statements: string[] = []
  let current = ''
  let i = 0
  while (i < script.length) {
    const ch = script[i] as string
    const rest = script.slice(i)
    if (rest.startsWith('--')) {
      const end = script.indexOf('\n', i)
      i = end === -1 ? script.length : end + 1
      current += '\n'
      continue
    }
    if (ch === "'" || ch === '"') {
      const end = findClosing(script, i + 1, ch)
      current += script.slice(i, end)
      i = end
      continue
    }
    const dollar = /^\$[A-Za-z_]*\$/.exec(rest)
    if (dollar) {
      const tag = dollar[0]
      const close = script.indexOf(tag, i + tag.length)
      const end = close === -1 ? script.length : close + tag.length
      current += script.slice(i, end)
      i = end
      continue
    }
    if (ch === ';') {
      if (current.trim() !== '') statements.push(current.trim())
      current = ''
      i++
      continue
    }
    current += ch
    i++
  }
  if (current.trim() !== '') statements.push(current.trim())
  return statements
}

function findClosing (script: string, from: number, quote: string): number {
  let i = from
  while (i < script.length) {
    if (script[i] === quote) {
      if (script[i + 1] === quote) { i += 2; continue }
      return i + 1
    }
    i++
  }
  return script.length
}
