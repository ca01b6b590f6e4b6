// ESLint 9 flat config: neostandard with TypeScript (no semicolons, single quotes, space before function parens),
// plus the import direction of STYLE.md §5.1: routes -> services -> repositories -> db; schemas, errors, lib are leaves.
import neostandard from 'neostandard'

const layer = (files, forbidden, why) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [{ group: forbidden, message: why }]
    }]
  }
})

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'node_modules/**', 'openapi/**', 'data/**', 'coverage/**', '.tap/**', 'bench/results/**']
  }),
  {
    rules: {
      // Route options keep `operationId, tags, summary` on one line and the schemas below it; that reads better than
      // one property per line, which is what this rule would demand once any property wraps.
      '@stylistic/object-property-newline': 'off'
    }
  },
  layer(['src/services/**', 'src/repositories/**', 'src/db/**', 'src/lib/**', 'src/schemas/**', 'src/errors.ts', 'src/plugins/**'],
    ['**/routes/**'], 'Nothing but app.ts imports routes/.'),
  layer(['src/repositories/**', 'src/db/**'], ['**/services/**', '**/routes/**', '**/plugins/**'],
    'Repositories and db/ hold SQL only and never import services, routes or plugins.'),
  layer(['src/lib/**', 'src/schemas/**', 'src/errors.ts'], ['**/services/**', '**/repositories/**', '**/db/**', '**/plugins/**', '**/routes/**', 'fastify'],
    'lib/, schemas/ and errors.ts are leaves: no Fastify, no database.')
]
