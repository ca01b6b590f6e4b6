// The OpenAPI explorer in a real browser (issue 7, §6): Debian's Chromium driven by playwright-core opens /docs,
// authorises with an API key, runs "associate" (PUT default) and "list associations" from the page, and reads both
// answers off the page; a screenshot is saved under test/artifacts/. CI installs chromium (.ci/run); elsewhere the
// test is skipped when no Chromium is found.
import { existsSync, mkdirSync } from 'node:fs'
import t from 'tap'
import { chromium, type Page } from 'playwright-core'
import { build, TEST_ADMIN_KEY } from '../helpers/app.js'
import { postgresReachable } from '../helpers/engine.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const artifacts = new URL('../artifacts/', import.meta.url).pathname

// No Chromium: skipped on a workstation, a failure in CI. The page is the same on both engines; one run keeps CI short.
const skip = !existsSync(CHROMIUM) && process.env.CI !== 'true'
  ? `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`
  : !await postgresReachable() ? 'the explorer runs once, on PostgreSQL' : false

t.test('explorer: authorise, associate, list associations', { skip }, async (t) => {
  const { app, request } = await build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  const contact = (await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: 'explorer@example.com' } } })).json().id as string
  const company = (await request({ method: 'POST', url: '/crm/v3/objects/companies', payload: { properties: { domain: 'explorer.example' } } })).json().id as string

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } })
  page.setDefaultTimeout(30_000)
  await page.goto(`${base}/docs`)
  await page.locator('.information-container .title', { hasText: 'Associations API' }).waitFor()

  // Authorise: the bearer scheme's dialog, as a user would.
  await page.locator('.auth-wrapper button.authorize').click()
  await page.locator('.modal-ux input').fill(TEST_ADMIN_KEY)
  await page.locator('.modal-ux .auth-btn-wrapper button.authorize').click()
  await page.locator('.modal-ux button.btn-done').click()

  const associate = await runOperation(page, 'operations-Associations-associations-create-default', { objectType: 'contacts', objectId: contact, toObjectType: 'companies', toObjectId: company })
  t.equal(associate.status, '200', 'associate answered 200 on the page')
  t.match(JSON.parse(associate.body), { status: 'COMPLETE', results: [{ from: { id: contact }, to: { id: company } }] }, 'the page shows the created association')

  const list = await runOperation(page, 'operations-Associations-associations-list', { objectType: 'contacts', objectId: contact, toObjectType: 'companies' })
  t.equal(list.status, '200', 'list answered 200 on the page')
  t.match(JSON.parse(list.body), { results: [{ toObjectId: Number(company), associationTypes: [{ typeId: 1, label: 'Primary' }, { typeId: 279 }] }] }, 'the page lists the association (the first company is the primary)')

  mkdirSync(artifacts, { recursive: true })
  // The listed association as the page shows it (a full-page shot of the whole explorer is 25,000 px tall).
  await page.locator('#operations-Associations-associations-list').screenshot({ path: `${artifacts}explorer.png` })
  t.ok(existsSync(`${artifacts}explorer.png`), 'screenshot saved under test/artifacts/')
})

/** Expands an operation, fills its path parameters, executes it, and returns the status and body the page shows. */
async function runOperation (page: Page, id: string, params: Record<string, string>): Promise<{ status: string, body: string }> {
  const operation = page.locator(`#${id}`)
  await operation.locator('.opblock-summary').first().click()
  const tryOut = operation.locator('button.try-out__btn')
  if (await tryOut.textContent() !== 'Cancel') await tryOut.click()
  for (const [name, value] of Object.entries(params)) {
    await operation.locator(`tr[data-param-name="${name}"] input`).fill(value)
  }
  await operation.locator('button.execute').click()
  const response = operation.locator('.live-responses-table .response').first()
  const status = (await response.locator('.response-col_status').textContent() ?? '').trim()
  const body = await response.locator('.response-col_description pre.microlight').first().textContent() ?? ''
  return { status, body }
}
