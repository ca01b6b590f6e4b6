import t from 'tap'
import { build } from '../helpers/app.js'

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
