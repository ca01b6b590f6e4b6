import t from 'tap'
import { build } from '../helpers/app.js'
import { expectError } from '../helpers/assertions.js'

t.test('create, read, update and archive a contact', async (t) => {
  const { request, app } = await build(t)
  const created = await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: 'Luke@Lukes-Diner.com', firstname: 'Luke' } } })
  t.equal(created.statusCode, 201)
  t.equal(created.headers['content-type'], 'application/json;charset=utf-8')
  const body = created.json()
  t.match(body, { id: String, properties: { email: 'Luke@Lukes-Diner.com', firstname: 'Luke', hs_object_id: body.id }, archived: false })

  const byEmail = await request({ method: 'GET', url: '/crm/v3/objects/contact/luke@lukes-diner.com?idProperty=email' })
  t.equal(byEmail.statusCode, 200)
  t.equal(byEmail.json().id, body.id)

  const dup = await request({ method: 'POST', url: '/crm/v3/objects/0-1', payload: { properties: { email: ' LUKE@lukes-diner.com' } } })
  t.equal(dup.statusCode, 409)
  t.match(dup.json(), { status: 'error', category: 'CONFLICT', message: `Contact already exists. Existing ID: ${body.id}` })

  const patched = await request({ method: 'PATCH', url: `/crm/v3/objects/contacts/${body.id}`, payload: { properties: { firstname: null, lastname: 'Danes' } } })
  t.equal(patched.statusCode, 200)
  t.same(patched.json().properties.firstname, undefined)
  t.equal(patched.json().properties.lastname, 'Danes')

  const archived = await request({ method: 'DELETE', url: `/crm/v3/objects/contacts/${body.id}` })
  t.equal(archived.statusCode, 204)
  const gone = await request({ method: 'GET', url: `/crm/v3/objects/contacts/${body.id}` })
  t.equal(gone.statusCode, 404)
  t.equal(gone.json().category, 'OBJECT_NOT_FOUND')
  const rows = await app.db.selectFrom('record_keys').selectAll().execute()
  t.equal(rows.length, 0, 'archiving frees the email')
})

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

t.test('create answers 201 with a SimplePublicObject whose id is an integer string', async (t) => {
  const { request, app, accountId } = await build(t)
  const res = await request({ method: 'POST', url: '/crm/v3/objects/deals', payload: { properties: { dealname: 'Inn', amount: 1500, closed: false, empty: '', gone: null } } })
  t.equal(res.statusCode, 201)
  const body = res.json()
  t.type(body.id, 'string')
  t.match(body.id, /^[1-9]\d*$/)
  t.same(Object.keys(body).sort(), ['archived', 'createdAt', 'id', 'properties', 'updatedAt'])
  t.match(body, { createdAt: ISO, updatedAt: ISO, archived: false })
  t.same(body.properties, {
    dealname: 'Inn', amount: '1500', closed: 'false', hs_object_id: body.id, createdate: body.createdAt, lastmodifieddate: body.updatedAt
  }, 'numbers and booleans become text; empty and null values are not stored')
  const row = await app.db.selectFrom('records').selectAll().where('id', '=', Number(body.id)).executeTakeFirstOrThrow()
  t.equal(row.account_id, accountId)
  t.equal(row.object_type, '0-3')
  t.same(row.properties, { dealname: 'Inn', amount: '1500', closed: 'false' })
  t.equal(row.archived_at, null)

  for (const readOnly of ['hs_object_id', 'createdate', 'lastmodifieddate']) {
    const refused = await request({ method: 'POST', url: '/crm/v3/objects/deals', payload: { properties: { dealname: 'x', [readOnly]: '5' } } })
    t.same(expectError(t, refused, 400, 'VALIDATION_ERROR').context, { propertyName: [readOnly] })
    const patch = await request({ method: 'PATCH', url: `/crm/v3/objects/deals/${body.id as string}`, payload: { properties: { [readOnly]: '5' } } })
    t.same(expectError(t, patch, 400, 'VALIDATION_ERROR').context, { propertyName: [readOnly] })
  }
  t.equal((await app.db.selectFrom('records').select('id').execute()).length, 1, 'refused writes created nothing')
  t.same((await app.db.selectFrom('records').select('properties').executeTakeFirstOrThrow()).properties, row.properties, 'and changed nothing')

  const contact = await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: '   ' } } })
  expectError(t, contact, 400, 'VALIDATION_ERROR')
})

t.test('read with properties, in repeated and comma-separated form', async (t) => {
  const { request } = await build(t)
  const created = await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: 'rory@example.com', firstname: 'Rory', lastname: 'Gilmore', city: 'Stars Hollow' } } })
  const id = created.json().id as string
  const computed = ['createdate', 'hs_object_id', 'lastmodifieddate']

  const all = await request({ method: 'GET', url: `/crm/v3/objects/contacts/${id}` })
  t.equal(all.statusCode, 200)
  t.same(Object.keys(all.json().properties).sort(), ['city', 'email', 'firstname', 'lastname', ...computed].sort(), 'no properties parameter: every property')

  const forms = [
    'properties=firstname&properties=city&properties=phone',
    'properties=firstname,city,phone',
    'properties=firstname,city&properties=phone',
    `properties=${encodeURIComponent(' firstname , city ')}&properties=phone`
  ]
  for (const q of forms) {
    const res = await request({ method: 'GET', url: `/crm/v3/objects/contacts/${id}?${q}` })
    t.equal(res.statusCode, 200, q)
    t.same(res.json().properties, {
      firstname: 'Rory', city: 'Stars Hollow', phone: null, hs_object_id: id, createdate: all.json().createdAt, lastmodifieddate: all.json().updatedAt
    }, `${q}: the named properties (null when unset) plus the computed ones`)
  }
  const list = await request({ method: 'GET', url: '/crm/v3/objects/contacts?properties=lastname&properties=email,phone' })
  t.same(list.json().results[0].properties, { lastname: 'Gilmore', email: 'rory@example.com', phone: null, hs_object_id: id, createdate: all.json().createdAt, lastmodifieddate: all.json().updatedAt })
})

t.test('read by idProperty: email ignores case, domain is normalised, other properties are refused', async (t) => {
  const { request } = await build(t)
  const contact = (await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: 'Sookie.StJames@Example.com', firstname: 'Sookie' } } })).json()
  const company = (await request({ method: 'POST', url: '/crm/v3/objects/companies', payload: { properties: { domain: 'example.com', name: 'Example' } } })).json()

  for (const email of ['sookie.stjames@example.com', 'SOOKIE.STJAMES@EXAMPLE.COM', ' Sookie.StJames@Example.com ']) {
    const res = await request({ method: 'GET', url: `/crm/v3/objects/contacts/${encodeURIComponent(email)}?idProperty=email` })
    t.equal(res.statusCode, 200, email)
    t.equal(res.json().id, contact.id)
  }
  for (const domain of ['example.com', 'EXAMPLE.com', 'www.example.com', 'https://WWW.Example.com/about', 'http://example.com:8080/x?y=1', 'example.com.']) {
    const res = await request({ method: 'GET', url: `/crm/v3/objects/companies/${encodeURIComponent(domain)}?idProperty=domain` })
    t.equal(res.statusCode, 200, domain)
    t.equal(res.json().id, company.id)
  }
  const dup = await request({ method: 'POST', url: '/crm/v3/objects/companies', payload: { properties: { domain: 'https://WWW.Example.com/about' } } })
  t.match(expectError(t, dup, 409, 'CONFLICT').message, `Company already exists. Existing ID: ${company.id as string}`)

  const longEmail = `${'l'.repeat(200)}@example.com`
  const long = (await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: longEmail } } })).json()
  const byLong = await request({ method: 'GET', url: `/crm/v3/objects/contacts/${encodeURIComponent(longEmail)}?idProperty=email` })
  t.equal(byLong.statusCode, 200, 'a long email in the path still finds the record')
  t.equal(byLong.json().id, long.id)

  t.equal((await request({ method: 'GET', url: `/crm/v3/objects/contacts/${contact.id as string}?idProperty=hs_object_id` })).json().id, contact.id, 'hs_object_id is the id')
  expectError(t, await request({ method: 'GET', url: '/crm/v3/objects/contacts/nobody@example.com?idProperty=email' }), 404, 'OBJECT_NOT_FOUND')
  const notUnique = await request({ method: 'GET', url: '/crm/v3/objects/contacts/Sookie?idProperty=firstname' })
  t.same(expectError(t, notUnique, 400, 'VALIDATION_ERROR').context, { idProperty: ['firstname'] })
  expectError(t, await request({ method: 'GET', url: '/crm/v3/objects/contacts/example.com?idProperty=domain' }), 400, 'VALIDATION_ERROR')
  expectError(t, await request({ method: 'GET', url: '/crm/v3/objects/deals/x?idProperty=email' }), 400, 'VALIDATION_ERROR')
})

t.test('list pages: limit up to 100, the after cursor walks every record once', async (t) => {
  const { request, app } = await build(t)
  const ids: string[] = []
  for (let i = 0; i < 23; i++) {
    ids.push((await request({ method: 'POST', url: '/crm/v3/objects/tickets', payload: { properties: { subject: `T${i}` } } })).json().id)
  }
  await request({ method: 'POST', url: '/crm/v3/objects/deals', payload: { properties: { dealname: 'not a ticket' } } })
  const archived = ids[5] as string
  t.equal((await request({ method: 'DELETE', url: `/crm/v3/objects/tickets/${archived}` })).statusCode, 204)
  const live = ids.filter((id) => id !== archived)

  const defaultPage = await request({ method: 'GET', url: '/crm/v3/objects/tickets' })
  t.equal(defaultPage.json().results.length, 10, 'default limit is 10')
  t.type(defaultPage.json().paging.next.after, 'string')

  for (const limit of [1, 4, 7, 22, 100]) {
    const seen: string[] = []
    let after: string | undefined
    let pages = 0
    do {
      const res = await request({ method: 'GET', url: `/crm/v3/objects/tickets?limit=${limit}${after !== undefined ? `&after=${encodeURIComponent(after)}` : ''}` })
      t.equal(res.statusCode, 200)
      const body = res.json()
      t.ok(body.results.length <= limit, 'never more than limit')
      seen.push(...body.results.map((r: { id: string }) => r.id))
      after = body.paging?.next?.after
      pages++
    } while (after !== undefined && pages < 50)
    t.same(seen, live, `limit ${limit}: every live ticket exactly once, in id order`)
    t.equal(pages, Math.max(1, Math.ceil(live.length / limit)), `limit ${limit}: no empty trailing page`)
  }

  const over = await request({ method: 'GET', url: '/crm/v3/objects/tickets?limit=101' })
  t.same(expectError(t, over, 400, 'VALIDATION_ERROR').context, { 'querystring.limit': ['must be <= 100'] })
  expectError(t, await request({ method: 'GET', url: '/crm/v3/objects/tickets?limit=0' }), 400, 'VALIDATION_ERROR')

  const forged = [
    'garbage',
    Buffer.from('{"v":1,"id":-4}').toString('base64url'),
    Buffer.from('{"v":2,"id":4}').toString('base64url'),
    Buffer.from('{"v":1,"id":"4"}').toString('base64url'),
    Buffer.from('{"v":1,"id":1e300}').toString('base64url'),
    Buffer.from('[1]').toString('base64url'),
    '12',
    ''
  ]
  for (const after of forged) {
    const res = await request({ method: 'GET', url: `/crm/v3/objects/tickets?after=${encodeURIComponent(after)}` })
    t.same(expectError(t, res, 400, 'VALIDATION_ERROR').context, { after: [after] }, `forged cursor '${after}'`)
  }
  t.equal((await app.db.selectFrom('records').select('id').where('object_type', '=', '0-5').execute()).length, 23)
})

t.test('update: 200, unique email conflicts, clearing frees the email', async (t) => {
  const { request, app } = await build(t)
  const a = (await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: 'a@example.com', firstname: 'A' } } })).json()
  const b = (await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: 'b@example.com', firstname: 'B' } } })).json()

  const patched = await request({ method: 'PATCH', url: `/crm/v3/objects/contacts/${a.id as string}`, payload: { properties: { lastname: 'Kim', firstname: 'Ann' } } })
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), { id: a.id, archived: false, properties: { email: 'a@example.com', firstname: 'Ann', lastname: 'Kim' } })
  t.ok(patched.json().updatedAt >= a.updatedAt, 'updatedAt moves forward')

  const taken = await request({ method: 'PATCH', url: `/crm/v3/objects/contacts/${a.id as string}`, payload: { properties: { email: 'B@EXAMPLE.COM', firstname: 'Lost' } } })
  const body = expectError(t, taken, 409, 'CONFLICT')
  t.equal(body.message, `Contact already exists. Existing ID: ${b.id as string}`)
  const rowA = await app.db.selectFrom('records').select('properties').where('id', '=', Number(a.id)).executeTakeFirstOrThrow()
  t.same(rowA.properties, { email: 'a@example.com', firstname: 'Ann', lastname: 'Kim' }, 'the refused update changed nothing')

  const sameCase = await request({ method: 'PATCH', url: `/crm/v3/objects/contacts/${a.id as string}`, payload: { properties: { email: 'A@Example.com' } } })
  t.equal(sameCase.statusCode, 200, 'a record may keep its own email in another case')

  const cleared = await request({ method: 'PATCH', url: `/crm/v3/objects/contacts/${b.id as string}`, payload: { properties: { email: null } } })
  t.equal(cleared.statusCode, 200)
  t.equal(cleared.json().properties.email, undefined, 'the email is gone')
  const keys = await app.db.selectFrom('record_keys').select(['value', 'record_id']).orderBy('value').execute()
  t.same(keys, [{ value: 'a@example.com', record_id: Number(a.id) }], 'B\'s email key is freed')
  expectError(t, await request({ method: 'GET', url: '/crm/v3/objects/contacts/b@example.com?idProperty=email' }), 404, 'OBJECT_NOT_FOUND')

  const moved = await request({ method: 'PATCH', url: `/crm/v3/objects/contacts/${a.id as string}`, payload: { properties: { email: 'b@example.com' } } })
  t.equal(moved.statusCode, 200, 'the freed email can be taken')
  t.equal((await request({ method: 'GET', url: '/crm/v3/objects/contacts/b@example.com?idProperty=email' })).json().id, a.id)
  t.equal((await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: 'a@example.com' } } })).statusCode, 201, 'and A\'s old email is free')

  const byEmail = await request({ method: 'PATCH', url: '/crm/v3/objects/contacts/B@example.com?idProperty=email', payload: { properties: { city: 'Hartford' } } })
  t.equal(byEmail.statusCode, 200, 'update by idProperty')
  t.equal(byEmail.json().id, a.id)
  t.equal(byEmail.json().properties.city, 'Hartford')

  expectError(t, await request({ method: 'PATCH', url: '/crm/v3/objects/contacts/999999', payload: { properties: { city: 'x' } } }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'PATCH', url: `/crm/v3/objects/contacts/${a.id as string}`, payload: {} }), 400, 'VALIDATION_ERROR')
})

t.test('archive: 204, then 404 on read, update and a second archive', async (t) => {
  const { request, app } = await build(t)
  const c = (await request({ method: 'POST', url: '/crm/v3/objects/companies', payload: { properties: { domain: 'luke.com', name: 'Luke' } } })).json()
  const del = await request({ method: 'DELETE', url: `/crm/v3/objects/companies/${c.id as string}` })
  t.equal(del.statusCode, 204)
  t.equal(del.body, '')
  const row = await app.db.selectFrom('records').select(['archived_at']).where('id', '=', Number(c.id)).executeTakeFirstOrThrow()
  t.type(row.archived_at, Date, 'the row is kept, archived')
  expectError(t, await request({ method: 'GET', url: `/crm/v3/objects/companies/${c.id as string}` }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'PATCH', url: `/crm/v3/objects/companies/${c.id as string}`, payload: { properties: { name: 'x' } } }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'DELETE', url: `/crm/v3/objects/companies/${c.id as string}` }), 404, 'OBJECT_NOT_FOUND')
  expectError(t, await request({ method: 'GET', url: '/crm/v3/objects/companies/luke.com?idProperty=domain' }), 404, 'OBJECT_NOT_FOUND')
  t.same((await request({ method: 'GET', url: '/crm/v3/objects/companies' })).json().results, [], 'archived records are not listed')
  t.equal((await request({ method: 'POST', url: '/crm/v3/objects/companies', payload: { properties: { domain: 'www.luke.com' } } })).statusCode, 201, 'its domain is free')
})

t.test('concurrent creates with one email: one 201, the rest 409', async (t) => {
  const { request, app } = await build(t)
  const answers = await Promise.all(Array.from({ length: 6 }, async (_, i) =>
    await request({ method: 'POST', url: '/crm/v3/objects/contacts', payload: { properties: { email: i % 2 === 0 ? 'race@example.com' : 'RACE@example.com' } } })))
  t.same(answers.map((a) => a.statusCode).sort(), [201, 409, 409, 409, 409, 409])
  t.equal((await app.db.selectFrom('records').select('id').execute()).length, 1, 'one record was written')
})
