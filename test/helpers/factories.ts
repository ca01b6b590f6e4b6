// Arrange helpers: create records through the API and return their ids.
import type { TestApp } from './app.js'

export async function createRecord (t: TestApp, type: string, properties: Record<string, string> = {}, key?: string): Promise<number> {
  const res = await t.request({ method: 'POST', url: `/crm/v3/objects/${type}`, payload: { properties }, key })
  if (res.statusCode !== 201) throw new Error(`create ${type} failed: ${res.statusCode} ${res.body}`)
  return Number(res.json().id)
}

export async function createRecords (t: TestApp, type: string, count: number, key?: string): Promise<number[]> {
  const ids: number[] = []
  for (let i = 0; i < count; i++) ids.push(await createRecord(t, type, {}, key))
  return ids
}
