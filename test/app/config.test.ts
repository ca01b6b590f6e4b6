import t from 'tap'
import { ConfigSchema, loadConfig } from '../../src/config.js'

t.test('defaults: embedded PGlite in ./data, port 3000, the product limits', async (t) => {
  const config = loadConfig({})
  t.match(config, {
    HOST: '0.0.0.0',
    PORT: 3000,
    LOG_LEVEL: 'info',
    DATA_DIR: './data',
    DOCS_ENABLED: true,
    MAX_ASSOCIATIONS_PER_TYPE: 10000,
    MAX_LABELS_PER_PAIR: 10,
    BATCH_READ_MAX: 1000,
    BATCH_CREATE_MAX: 2000,
    PAGE_LIMIT_MAX: 500
  })
  t.equal(config.DATABASE_URL, undefined, 'no DATABASE_URL means PGlite')
  t.equal(config.BOOTSTRAP_API_KEY, undefined)
  t.ok(Object.isFrozen(config), 'the config cannot be changed after start')
})

t.test('every variable of the schema has a default or is optional', async (t) => {
  const config = loadConfig({}) as Record<string, unknown>
  const required = (ConfigSchema as { required?: string[] }).required ?? []
  for (const key of required) t.not(config[key], undefined, `${key} has a default`)
})

t.test('environment values are coerced; overrides win over the environment', async (t) => {
  const config = loadConfig({
    PORT: '8080',
    DOCS_ENABLED: 'false',
    DATABASE_URL: 'postgresql://app@db.internal:5432/assoc',
    MAX_LABELS_PER_PAIR: '3',
    LOG_LEVEL: 'warn'
  }, { PORT: 9090 })
  t.equal(config.PORT, 9090)
  t.equal(config.DOCS_ENABLED, false)
  t.equal(config.DATABASE_URL, 'postgresql://app@db.internal:5432/assoc')
  t.equal(config.MAX_LABELS_PER_PAIR, 3)
  t.equal(config.LOG_LEVEL, 'warn')
})

t.test('an empty variable counts as unset; unknown variables are ignored', async (t) => {
  const config = loadConfig({ PORT: '', DATABASE_URL: '', SOMETHING_ELSE: 'x' })
  t.equal(config.PORT, 3000)
  t.equal(config.DATABASE_URL, undefined)
  t.notOk('SOMETHING_ELSE' in config)
})

t.test('a bad value is rejected with an error naming the variable', async (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ MAX_LABELS_PER_PAIR: '0' }, 'MAX_LABELS_PER_PAIR'],
    [{ MAX_ASSOCIATIONS_PER_TYPE: '-1' }, 'MAX_ASSOCIATIONS_PER_TYPE'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ DATABASE_URL: 'mysql://db/assoc' }, 'DATABASE_URL'],
    [{ DOCS_ENABLED: 'maybe' }, 'DOCS_ENABLED'],
    [{ BOOTSTRAP_API_KEY: 'too-short' }, 'BOOTSTRAP_API_KEY']
  ]
  for (const [env, name] of cases) {
    t.throws(() => loadConfig(env), { message: new RegExp(`\\b${name}\\b`) }, `${JSON.stringify(env)} is rejected`)
  }
  t.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), { message: 'env/LOG_LEVEL must be equal to one of the allowed values' }, 'one clear error, not one per allowed value')
})

t.test('READ_DATABASE_URL needs DATABASE_URL: the embedded engine has no replicas', async (t) => {
  t.throws(() => loadConfig({ READ_DATABASE_URL: 'postgres://replica/assoc' }), { message: /READ_DATABASE_URL needs DATABASE_URL.*PGlite/ })
  const config = loadConfig({ DATABASE_URL: 'postgres://primary/assoc', READ_DATABASE_URL: 'postgres://replica/assoc' })
  t.equal(config.READ_DATABASE_URL, 'postgres://replica/assoc')
  t.equal(config.READ_REPLICA_CHECK_MS, 1000)
  t.equal(config.READ_REPLICA_MAX_LAG_MS, 5000)
})
