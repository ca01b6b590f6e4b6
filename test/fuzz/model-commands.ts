// fast-check commands of the model-based fuzzer: each is plain data (record and label selectors, resolved against the
// model when it runs, so shrunk sequences still make sense), sent through app.inject and compared with the model.
import fc from 'fast-check'
import { type Model, type Side, type SpecSel, other } from './model.js'
import { applyImportRows, call, createRecord, expectAnswer, Mismatch, same, type Real } from './model-harness.js'

type PairSel = { from: number, to: number }
export type Op =
  | { k: 'createRecord', side: Side }
  | { k: 'archiveRecord', side: Side, rec: number }
  | { k: 'default', side: Side } & PairSel
  | { k: 'associate', side: Side, specs: SpecSel[], mode: 'add' | 'replace' } & PairSel
  | { k: 'removeLabel', side: Side, spec: SpecSel } & PairSel
  | { k: 'remove', side: Side, newPrimary?: number } & PairSel
  | { k: 'setPrimary', side: Side } & PairSel
  | { k: 'unsetPrimary', side: Side, rec: number, newPrimary?: number }
  | { k: 'batchCreate', side: Side, inputs: Array<PairSel & { specs: SpecSel[] }> }
  | { k: 'batchDefault', side: Side, inputs: PairSel[] }
  | { k: 'batchArchive', side: Side, inputs: Array<{ from: number, to: number[] }> }
  | { k: 'batchArchiveLabels', side: Side, inputs: Array<PairSel & { specs: SpecSel[] }> }
  | { k: 'createLabel', side: Side, name: string, label: string, inverse?: string }
  | { k: 'updateLabel', side: Side, spec: SpecSel, label: string, inverse?: string }
  | { k: 'deleteLabel', side: Side, spec: SpecSel, force: boolean }
  | { k: 'list', side: Side, rec: number }
  | { k: 'getPrimary', side: Side, rec: number }
  | { k: 'batchRead', side: Side, recs: number[] }
  | { k: 'listPaged', side: Side, rec: number }
  | { k: 'setLimit', side: Side, spec: SpecSel, max: number }
  | { k: 'purgeLimits', side: Side, specs: SpecSel[] }
  | { k: 'import', rows: Array<{ contact: number, company: number, labels: Array<SpecSel | 'Nope'> }> }

const MAX_ALIVE = 3

export class OpCommand implements fc.AsyncCommand<Model, Real> {
  readonly op: Op
  constructor (op: Op) { this.op = op }
  check (m: Readonly<Model>): boolean {
    return this.op.k !== 'createRecord' || m.alive[this.op.side].length < MAX_ALIVE
  }

  async run (m: Model, r: Real): Promise<void> {
    r.counter.ops++
    await runOp(m, r, this.op)
  }

  toString (): string { return JSON.stringify(this.op) }
}

const path = (side: Side, fromId: number, toId: number): string => `/crm/v4/objects/${side}/${fromId}/associations/${other(side)}/${toId}`

async function runOp (m: Model, r: Real, op: Op): Promise<void> {
  const what = JSON.stringify(op)
  const rec = (side: Side, sel: number): number => m.record(side, sel)
  switch (op.k) {
    case 'createRecord': {
      const [id, identifier] = await createRecord(r, op.side)
      m.createRecord(op.side, id, identifier)
      return
    }
    case 'archiveRecord': {
      const id = rec(op.side, op.rec)
      expectAnswer(what, await call(r, 'DELETE', `/crm/v3/objects/${op.side}/${id}`), m.archiveRecord(op.side, id))
      return
    }
    case 'default': {
      const [f, t] = [rec(op.side, op.from), rec(other(op.side), op.to)]
      expectAnswer(what, await call(r, 'PUT', `/crm/v4/objects/${op.side}/${f}/associations/default/${other(op.side)}/${t}`), m.associateDefault(op.side, f, t), (b) => b.results)
      return
    }
    case 'associate': {
      const [f, t] = [rec(op.side, op.from), rec(other(op.side), op.to)]
      const specs = op.specs.map((s) => m.wireSpec(op.side, s))
      const url = path(op.side, f, t) + (op.mode === 'add' ? '/labels' : '')
      expectAnswer(what, await call(r, op.mode === 'add' ? 'POST' : 'PUT', url, specs), m.associate(op.side, f, t, specs, op.mode))
      return
    }
    case 'removeLabel': {
      const [f, t] = [rec(op.side, op.from), rec(other(op.side), op.to)]
      const typeId = m.wireSpec(op.side, op.spec).associationTypeId
      expectAnswer(what, await call(r, 'DELETE', `${path(op.side, f, t)}/labels/${typeId}`), m.removeLabel(op.side, f, t, typeId))
      return
    }
    case 'remove': {
      const [f, t] = [rec(op.side, op.from), rec(other(op.side), op.to)]
      const np = op.newPrimary === undefined ? undefined : rec('companies', op.newPrimary)
      const url = path(op.side, f, t) + (np === undefined ? '' : `?newPrimaryId=${np}`)
      expectAnswer(what, await call(r, 'DELETE', url), m.removeAssociation(op.side, f, t, np))
      return
    }
    case 'setPrimary': {
      const [f, t] = [rec(op.side, op.from), rec(other(op.side), op.to)]
      expectAnswer(what, await call(r, 'PUT', `/crm/v4/objects/${op.side}/${f}/primary/${other(op.side)}/${t}`), m.setPrimary(op.side, f, t))
      return
    }
    case 'unsetPrimary': {
      const f = rec(op.side, op.rec)
      const np = op.newPrimary === undefined ? undefined : rec('companies', op.newPrimary)
      const url = `/crm/v4/objects/${op.side}/${f}/primary/${other(op.side)}` + (np === undefined ? '' : `?newPrimaryId=${np}`)
      expectAnswer(what, await call(r, 'DELETE', url), m.unsetPrimary(op.side, f, np))
      return
    }
    case 'getPrimary': {
      const f = rec(op.side, op.rec)
      expectAnswer(what, await call(r, 'GET', `/crm/v4/objects/${op.side}/${f}/primary/${other(op.side)}`), m.getPrimary(op.side, f))
      return
    }
    case 'list': {
      const f = rec(op.side, op.rec)
      expectAnswer(what, await call(r, 'GET', `/crm/v4/objects/${op.side}/${f}/associations/${other(op.side)}`), m.list(op.side, f), (b) => b.results)
      return
    }
    case 'batchCreate':
    case 'batchDefault': {
      const inputs = op.inputs.map((i) => ({
        from: rec(op.side, i.from), to: rec(other(op.side), i.to), specs: 'specs' in i ? i.specs.map((s) => m.wireSpec(op.side, s)) : []
      }))
      const create = op.k === 'batchCreate'
      const url = `/crm/v4/associations/${op.side}/${other(op.side)}/batch/${create ? 'create' : 'associate/default'}`
      const res = await call(r, 'POST', url, {
        inputs: inputs.map((i) => ({ from: { id: String(i.from) }, to: { id: String(i.to) }, ...(create ? { types: i.specs } : {}) }))
      })
      const expected = m.batchWrite(op.side, inputs, create ? 'replace' : 'add')
      const status = create ? (expected.errors.length > 0 ? 207 : 201) : 200
      const body = expectAnswer(what, res, { status })
      same(`${what}: results`, body.results, expected.results)
      same(`${what}: error categories`, ((body.errors ?? []) as Array<{ category: string }>).map((e) => e.category).sort(), [...expected.errors].sort())
      return
    }
    case 'batchArchive': {
      const inputs = op.inputs.map((i) => ({ from: rec(op.side, i.from), to: i.to.map((t) => rec(other(op.side), t)) }))
      const res = await call(r, 'POST', `/crm/v4/associations/${op.side}/${other(op.side)}/batch/archive`, {
        inputs: inputs.map((i) => ({ from: { id: String(i.from) }, to: i.to.map((t) => ({ id: String(t) })) }))
      })
      expectAnswer(what, res, m.batchArchive(op.side, inputs))
      return
    }
    case 'batchArchiveLabels': {
      const inputs = op.inputs.map((i) => ({ from: rec(op.side, i.from), to: rec(other(op.side), i.to), specs: i.specs.map((s) => m.wireSpec(op.side, s)) }))
      const res = await call(r, 'POST', `/crm/v4/associations/${op.side}/${other(op.side)}/batch/labels/archive`, {
        inputs: inputs.map((i) => ({ from: { id: String(i.from) }, to: { id: String(i.to) }, types: i.specs }))
      })
      expectAnswer(what, res, m.batchArchiveLabels(op.side, inputs))
      return
    }
    case 'createLabel': {
      const res = await call(r, 'POST', `/crm/v4/associations/${op.side}/${other(op.side)}/labels`, {
        name: op.name, label: op.label, ...(op.inverse !== undefined ? { inverseLabel: op.inverse } : {})
      })
      const refused = m.createLabelCheck(op.name)
      if (refused !== undefined) { expectAnswer(what, res, { status: refused }); return }
      const body = expectAnswer(what, res, { status: 200 })
      const [a, b] = body.results as Array<{ typeId: number, label: string, category: string }>
      if (a === undefined || b === undefined || a.typeId >= b.typeId) throw new Mismatch(`${what}: results ${res.body}`)
      same(`${what}: results`, body.results, [
        { category: 'USER_DEFINED', typeId: a.typeId, label: op.label },
        { category: 'USER_DEFINED', typeId: b.typeId, label: op.inverse ?? op.label }
      ])
      const [fwd, bwd] = op.side === 'contacts' ? [a, b] : [b, a]
      m.addLabel({ fwd: fwd.typeId, bwd: bwd.typeId, name: op.name, fwdLabel: fwd.label, bwdLabel: bwd.label })
      return
    }
    case 'updateLabel': {
      const typeId = m.wireSpec(op.side, op.spec).associationTypeId
      const res = await call(r, 'PUT', `/crm/v4/associations/${op.side}/${other(op.side)}/labels`, {
        associationTypeId: typeId, label: op.label, ...(op.inverse !== undefined ? { inverseLabel: op.inverse } : {})
      })
      expectAnswer(what, res, m.updateLabel(op.side, typeId, op.label, op.inverse))
      return
    }
    case 'import': {
      // Live records only: an identifier nobody holds would create a record (not what this op is about).
      if (m.alive.contacts.length === 0 || m.alive.companies.length === 0) return
      const rows = op.rows.map((row) => ({
        contact: m.record('contacts', row.contact % 8),
        company: m.record('companies', row.company % 8),
        labels: row.labels.map((l) => cellText(m, l))
      }))
      const failed = m.importRows(rows)
      const outcome = await applyImportRows(r, rows.map((row) => [m.identifiers.get(row.contact) as string, m.identifiers.get(row.company) as string, row.labels.join(';')]))
      if ((outcome.errors > 0) !== (failed > 0)) throw new Mismatch(`${what}: ${outcome.errors} row errors, expected ${failed} failed inputs: ${JSON.stringify(outcome.messages)}`)
      return
    }
    case 'batchRead': {
      // T3: one entry per distinct record with associations (key by from.id), NO_ASSOCIATIONS_FOUND for the others.
      const ids = op.recs.map((x) => rec(op.side, x))
      const res = await call(r, 'POST', `/crm/v4/associations/${op.side}/${other(op.side)}/batch/read`, { inputs: ids.map((id) => ({ id: String(id) })) })
      const distinct = [...new Set(ids)]
      const found = distinct.filter((id) => m.listOf(op.side, id).length > 0)
      const body = expectAnswer(what, res, { status: found.length === distinct.length ? 200 : 207 })
      const results = [...body.results as Array<{ from: { id: string }, to: unknown[] }>].sort((a, b) => Number(a.from.id) - Number(b.from.id))
      same(`${what}: results`, results, found.sort((a, b) => a - b).map((id) => ({ from: { id: String(id) }, to: m.listOf(op.side, id) })))
      same(`${what}: errors`, ((body.errors ?? []) as Array<{ subCategory?: string }>).map((e) => e.subCategory), distinct.filter((id) => !found.includes(id)).map(() => 'crm.associations.NO_ASSOCIATIONS_FOUND'))
      return
    }
    case 'listPaged': {
      // B4 one result a page: the pages together are the list, each cursor taken from the previous page.
      const f = rec(op.side, op.rec)
      const expected = m.list(op.side, f)
      const pages: unknown[] = []
      let after: string | undefined
      for (let page = 0; page < 10; page++) {
        const res = await call(r, 'GET', `/crm/v4/objects/${op.side}/${f}/associations/${other(op.side)}?limit=1${after === undefined ? '' : `&after=${encodeURIComponent(after)}`}`)
        const body = expectAnswer(`${what} page ${page}`, res, { status: expected.status })
        if (body === undefined) return
        pages.push(...body.results as unknown[])
        after = body.paging?.next?.after
        if (after === undefined) break
      }
      same(`${what}: pages`, pages, expected.body)
      return
    }
    case 'setLimit': {
      const spec = m.wireSpec(op.side, op.spec)
      const res = await call(r, 'POST', `/crm/v4/associations/definitions/configurations/${op.side}/${other(op.side)}/batch/update`, {
        inputs: [{ category: spec.associationCategory, typeId: spec.associationTypeId, maxToObjectIds: op.max }]
      })
      const error = m.setLimit(op.side, spec, op.max)
      const body = expectAnswer(what, res, { status: error === undefined ? 200 : 207 })
      same(`${what}: error categories`, ((body.errors ?? []) as Array<{ category: string }>).map((e) => e.category), error === undefined ? [] : [error])
      return
    }
    case 'purgeLimits': {
      const specs = op.specs.map((s) => m.wireSpec(op.side, s))
      const res = await call(r, 'POST', `/crm/v4/associations/definitions/configurations/${op.side}/${other(op.side)}/batch/purge`, {
        inputs: specs.map((s) => ({ category: s.associationCategory, typeId: s.associationTypeId }))
      })
      expectAnswer(what, res, m.purgeLimits(op.side, specs))
      return
    }
    case 'deleteLabel': {
      const typeId = m.wireSpec(op.side, op.spec).associationTypeId
      const res = await call(r, 'DELETE', `/crm/v4/associations/${op.side}/${other(op.side)}/labels/${typeId}${op.force ? '?force=true' : ''}`)
      expectAnswer(what, res, m.deleteLabel(op.side, typeId, op.force))
    }
  }
}

/** The text of a label cell entry: a live label's (contact -> company) text, in another case now and then, or junk. */
function cellText (m: Model, sel: SpecSel | 'Nope'): string {
  if (sel === 'Nope') return 'Nope'
  if (sel === 'primary') return 'primary'
  if (typeof sel === 'string') return ''
  const label = m.labels[sel.label]
  if (label === undefined) return sel.label % 2 === 0 ? 'Nope' : ''
  return sel.label % 2 === 0 ? label.fwdLabel : ` ${label.fwdLabel.toUpperCase()} `
}

// ---- arbitraries: a small universe (3 records a side, a few labels) so that ops collide

const side = fc.constantFrom<Side>('contacts', 'companies')
/** 0-7 a live record, 8 an archived one, 9 one that never existed. */
const recSel = fc.nat({ max: 9 })
const specSel: fc.Arbitrary<SpecSel> = fc.oneof(
  { weight: 8, arbitrary: fc.nat({ max: 3 }).map((label) => ({ label })) },
  { weight: 3, arbitrary: fc.constant<SpecSel>('primary') },
  { weight: 1, arbitrary: fc.constant<SpecSel>('unlabeled') },
  { weight: 1, arbitrary: fc.constantFrom<SpecSel>('wrong-direction', 'wrong-category', 'unknown') }
)
const specs = fc.array(specSel, { minLength: 1, maxLength: 3 })
const pair = { from: recSel, to: recSel }
const labelText = fc.constantFrom('Manager', 'Employee', 'Billing contact', 'Décideur 決定', 'manager')
const labelName = fc.constantFrom('alpha', 'beta', 'gamma', 'delta', '9bad')
const newPrimary = fc.option(recSel, { nil: undefined, freq: 3 })

function op<T extends Op> (weight: number, arbitrary: fc.Arbitrary<T>): fc.WeightedArbitrary<fc.AsyncCommand<Model, Real>> {
  return { weight, arbitrary: arbitrary.map((o) => new OpCommand(o)) }
}

export const commandArbitraries: Array<fc.Arbitrary<fc.AsyncCommand<Model, Real>>> = [fc.oneof(
  op(2, fc.record({ k: fc.constant('createRecord' as const), side })),
  op(1, fc.record({ k: fc.constant('archiveRecord' as const), side, rec: recSel })),
  op(5, fc.record({ k: fc.constant('default' as const), side, ...pair })),
  op(7, fc.record({ k: fc.constant('associate' as const), side, ...pair, specs, mode: fc.constantFrom<'add' | 'replace'>('add', 'replace') })),
  op(3, fc.record({ k: fc.constant('removeLabel' as const), side, ...pair, spec: specSel })),
  op(3, fc.record({ k: fc.constant('remove' as const), side, ...pair, newPrimary }, { requiredKeys: ['k', 'side', 'from', 'to'] })),
  op(3, fc.record({ k: fc.constant('setPrimary' as const), side: fc.constantFrom<Side>('contacts', 'contacts', 'contacts', 'companies'), ...pair })),
  op(2, fc.record({ k: fc.constant('unsetPrimary' as const), side: fc.constantFrom<Side>('contacts', 'contacts', 'contacts', 'companies'), rec: recSel, newPrimary }, { requiredKeys: ['k', 'side', 'rec'] })),
  op(4, fc.record({ k: fc.constant('batchCreate' as const), side, inputs: fc.array(fc.record({ ...pair, specs }), { minLength: 1, maxLength: 4 }) })),
  op(3, fc.record({ k: fc.constant('batchDefault' as const), side, inputs: fc.array(fc.record(pair), { minLength: 1, maxLength: 4 }) })),
  op(2, fc.record({ k: fc.constant('batchArchive' as const), side, inputs: fc.array(fc.record({ from: recSel, to: fc.array(recSel, { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 3 }) })),
  op(2, fc.record({ k: fc.constant('batchArchiveLabels' as const), side, inputs: fc.array(fc.record({ ...pair, specs }), { minLength: 1, maxLength: 3 }) })),
  op(2, fc.record({ k: fc.constant('createLabel' as const), side, name: labelName, label: labelText, inverse: fc.option(labelText, { nil: undefined }) }, { requiredKeys: ['k', 'side', 'name', 'label'] })),
  op(1, fc.record({ k: fc.constant('updateLabel' as const), side, spec: specSel, label: labelText, inverse: fc.option(labelText, { nil: undefined, freq: 3 }) }, { requiredKeys: ['k', 'side', 'spec', 'label'] })),
  op(1, fc.record({ k: fc.constant('deleteLabel' as const), side, spec: specSel, force: fc.boolean() })),
  op(2, fc.record({ k: fc.constant('list' as const), side, rec: recSel })),
  op(1, fc.record({ k: fc.constant('getPrimary' as const), side: fc.constant<Side>('contacts'), rec: recSel })),
  op(1, fc.record({ k: fc.constant('batchRead' as const), side, recs: fc.array(recSel, { minLength: 1, maxLength: 4 }) })),
  op(1, fc.record({ k: fc.constant('listPaged' as const), side, rec: recSel })),
  op(1, fc.record({ k: fc.constant('setLimit' as const), side, spec: fc.nat({ max: 2 }).map((label): SpecSel => ({ label })), max: fc.integer({ min: 1, max: 3 }) })),
  op(1, fc.record({ k: fc.constant('purgeLimits' as const), side, specs: fc.array(fc.nat({ max: 2 }).map((label): SpecSel => ({ label })), { minLength: 1, maxLength: 2 }) })),
  op(1, fc.record({
    k: fc.constant('import' as const),
    rows: fc.array(fc.record({ contact: recSel, company: recSel, labels: fc.array(fc.oneof(specSel, fc.constant<'Nope'>('Nope')), { maxLength: 2 }) }), { minLength: 1, maxLength: 3 })
  }))
)]
