// The reference model of the association rules for one account and one object pair (contacts <-> companies), used by
// the model-based fuzzer (model-commands.ts). Plain data and plain rules, written from PRODUCT.md / ARCHITECTURE.md /
// API.md, not from src: every function returns what the API must answer and applies the change to the model.

export type Side = 'contacts' | 'companies'
export const SIDES: readonly Side[] = ['contacts', 'companies']
export const other = (side: Side): Side => side === 'contacts' ? 'companies' : 'contacts'

/** What a spec selector of a command means; the harness turns it into a wire AssociationSpec for the side it writes from. */
export type SpecSel = 'unlabeled' | 'primary' | 'wrong-direction' | 'wrong-category' | 'unknown' | { label: number }

export interface LabelDef {
  /** contact -> company type id */
  fwd: number
  /** company -> contact type id */
  bwd: number
  name: string
  fwdLabel: string
  bwdLabel: string
}

export interface WireSpec { associationCategory: string, associationTypeId: number }
export interface SpecWithLabel { category: string, typeId: number, label: string | null }

/** An expected answer: the status and, for 2xx, the body parts compared. */
export interface Expected { status: number, body?: unknown }

const UNLABELED: Record<Side, number> = { contacts: 279, companies: 280 }
const PRIMARY: Record<Side, number> = { contacts: 1, companies: 2 }
/** A type id no pair ever has. */
export const UNKNOWN_TYPE_ID = 2_000_000_000
/** A record id no test ever creates. */
export const MISSING_ID = 999_999_999_999

/** A record as the ops see it: the contact and the company of a pair, whichever side writes. */
export interface PairRef { contact: number, company: number }

export class Model {
  readonly alive: Record<Side, number[]> = { contacts: [], companies: [] }
  readonly dead: Record<Side, number[]> = { contacts: [], companies: [] }
  /** `contact|company` -> the user label type ids (contact -> company direction) on the pair; present = associated. */
  readonly pairs = new Map<string, Set<number>>()
  /** contact -> its primary company */
  readonly primary = new Map<number, number>()
  readonly labels: LabelDef[] = []
  /** Type ids of deleted labels (both directions), for ops that still name them. */
  readonly staleTypeIds: number[] = []
  /** Per-label limits (maxToObjectIds) by type id, each direction its own. */
  readonly limits = new Map<number, number>()
  /** Each record's unique identifier (a contact's email, a company's domain), for import rows. */
  readonly identifiers = new Map<number, string>()

  readonly cap: number
  readonly maxLabels: number
  constructor (cap: number, maxLabels: number) {
    this.cap = cap
    this.maxLabels = maxLabels
  }

  // ---- selectors (commands carry small integers; they are resolved against the model when they run)

  record (side: Side, sel: number): number {
    const alive = this.alive[side]
    if (sel < 8 && alive.length > 0) return alive[sel % alive.length] as number
    const dead = this.dead[side]
    if (sel < 9 && dead.length > 0) return dead[sel % dead.length] as number
    return MISSING_ID
  }

  wireSpec (side: Side, sel: SpecSel): WireSpec {
    if (sel === 'unlabeled') return { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: UNLABELED[side] }
    if (sel === 'primary') return { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: PRIMARY[side] }
    if (sel === 'wrong-direction') return { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: UNLABELED[other(side)] }
    if (sel === 'wrong-category') return { associationCategory: 'USER_DEFINED', associationTypeId: UNLABELED[side] }
    if (sel === 'unknown') return { associationCategory: 'USER_DEFINED', associationTypeId: UNKNOWN_TYPE_ID }
    const label = this.labels[sel.label]
    if (label === undefined) {
      // Past the live labels: a deleted label's id when there is one, else one no pair has.
      const stale = this.staleTypeIds[sel.label % Math.max(this.staleTypeIds.length, 1)]
      return { associationCategory: 'USER_DEFINED', associationTypeId: stale ?? UNKNOWN_TYPE_ID }
    }
    return { associationCategory: 'USER_DEFINED', associationTypeId: side === 'contacts' ? label.fwd : label.bwd }
  }

  /** The label a wire type id of `side` names, or the HubSpot role; undefined when the side has no such type. */
  typeOf (side: Side, typeId: number): 'unlabeled' | 'primary' | LabelDef | undefined {
    if (typeId === UNLABELED[side]) return 'unlabeled'
    if (typeId === PRIMARY[side]) return 'primary'
    return this.labels.find((l) => (side === 'contacts' ? l.fwd : l.bwd) === typeId)
  }

  /** validateSpecs: duplicates, direction and category. The resolved kinds, or undefined when the input is invalid. */
  validate (side: Side, specs: WireSpec[]): Array<'unlabeled' | 'primary' | LabelDef> | undefined {
    const seen = new Set<number>()
    const kinds: Array<'unlabeled' | 'primary' | LabelDef> = []
    for (const s of specs) {
      if (seen.has(s.associationTypeId)) return undefined
      seen.add(s.associationTypeId)
      const kind = this.typeOf(side, s.associationTypeId)
      if (kind === undefined) return undefined
      const category = typeof kind === 'string' ? 'HUBSPOT_DEFINED' : 'USER_DEFINED'
      if (category !== s.associationCategory) return undefined
      kinds.push(kind)
    }
    return kinds
  }

  // ---- state helpers

  isAlive (side: Side, id: number): boolean { return this.alive[side].includes(id) }
  pairOf (side: Side, fromId: number, toId: number): PairRef {
    return side === 'contacts' ? { contact: fromId, company: toId } : { contact: toId, company: fromId }
  }

  key (p: PairRef): string { return `${p.contact}|${p.company}` }
  count (side: Side, id: number): number {
    let n = 0
    for (const k of this.pairs.keys()) {
      const [c, co] = k.split('|').map(Number)
      if ((side === 'contacts' ? c : co) === id) n++
    }
    return n
  }

  removePair (p: PairRef): void {
    this.pairs.delete(this.key(p))
    if (this.primary.get(p.contact) === p.company) this.primary.delete(p.contact)
  }

  /** The label texts of a pair seen from `side` (LabelsBetweenObjectPair.labels): by type id, Primary included. */
  labelsBetween (side: Side, p: PairRef): string[] {
    const rows: Array<[number, string]> = []
    if (this.primary.get(p.contact) === p.company) rows.push([PRIMARY[side], 'Primary'])
    for (const id of this.pairs.get(this.key(p)) ?? []) {
      const l = this.labels.find((x) => x.fwd === id) as LabelDef
      rows.push(side === 'contacts' ? [l.fwd, l.fwdLabel] : [l.bwd, l.bwdLabel])
    }
    return rows.sort((a, b) => a[0] - b[0]).map((r) => r[1])
  }

  /** MultiAssociatedObjectWithLabel.associationTypes of a pair seen from `side`: labelled by id, the unlabeled last. */
  associationTypes (side: Side, p: PairRef): SpecWithLabel[] {
    const rows: SpecWithLabel[] = []
    if (this.primary.get(p.contact) === p.company) rows.push({ category: 'HUBSPOT_DEFINED', typeId: PRIMARY[side], label: 'Primary' })
    for (const id of this.pairs.get(this.key(p)) ?? []) {
      const l = this.labels.find((x) => x.fwd === id) as LabelDef
      rows.push(side === 'contacts' ? { category: 'USER_DEFINED', typeId: l.fwd, label: l.fwdLabel } : { category: 'USER_DEFINED', typeId: l.bwd, label: l.bwdLabel })
    }
    rows.sort((a, b) => a.typeId - b.typeId)
    rows.push({ category: 'HUBSPOT_DEFINED', typeId: UNLABELED[side], label: null })
    return rows
  }

  /** B4 results of a record (by associated record id). */
  listOf (side: Side, id: number): Array<{ toObjectId: number, associationTypes: SpecWithLabel[] }> {
    const out: Array<{ toObjectId: number, associationTypes: SpecWithLabel[] }> = []
    for (const k of this.pairs.keys()) {
      const [c, co] = k.split('|').map(Number) as [number, number]
      if ((side === 'contacts' ? c : co) !== id) continue
      const p = { contact: c, company: co }
      out.push({ toObjectId: side === 'contacts' ? co : c, associationTypes: this.associationTypes(side, p) })
    }
    return out.sort((a, b) => a.toObjectId - b.toObjectId)
  }

  /** L1 results seen from `side`: HubSpot types then labels, compared as a set (by type id). */
  labelList (side: Side): SpecWithLabel[] {
    const rows: SpecWithLabel[] = [
      { category: 'HUBSPOT_DEFINED', typeId: UNLABELED[side], label: null },
      { category: 'HUBSPOT_DEFINED', typeId: PRIMARY[side], label: 'Primary' },
      ...this.labels.map((l) => side === 'contacts'
        ? { category: 'USER_DEFINED', typeId: l.fwd, label: l.fwdLabel }
        : { category: 'USER_DEFINED', typeId: l.bwd, label: l.bwdLabel })
    ]
    return rows.sort((a, b) => a.typeId - b.typeId)
  }

  // ---- the rules of one pair write (single writes apply it once, batches once per accepted input)

  /**
   * Adds (mode add) or sets (mode replace) the labels of a pair, keeps the unlabeled one, the primary rules and the
   * cap. Returns an error status or the pair's labels afterwards.
   */
  writePair (p: PairRef, kinds: Array<'unlabeled' | 'primary' | LabelDef>, mode: 'add' | 'replace'): { error: number, category: string } | { ok: true } {
    if (!this.isAlive('contacts', p.contact) || !this.isAlive('companies', p.company)) return { error: 404, category: 'OBJECT_NOT_FOUND' }
    const k = this.key(p)
    const existing = this.pairs.get(k)
    const isNew = existing === undefined
    if (isNew && (this.count('contacts', p.contact) + 1 > this.cap || this.count('companies', p.company) + 1 > this.cap)) return { error: 400, category: 'LIMITS_ERROR' }
    const wanted = kinds.filter((x): x is LabelDef => typeof x !== 'string').map((l) => l.fwd)
    // Per-label limits, on labels this write adds only: how many companies the contact has with it, and how many
    // contacts the company has with its inverse, afterwards.
    for (const label of kinds.filter((x): x is LabelDef => typeof x !== 'string' && existing?.has(x.fwd) !== true)) {
      const withLabel = (side: Side, id: number): number => [...this.pairs.entries()]
        .filter(([key, set]) => Number(key.split('|')[side === 'contacts' ? 0 : 1]) === id && set.has(label.fwd)).length + 1
      const fwdMax = this.limits.get(label.fwd)
      const bwdMax = this.limits.get(label.bwd)
      if ((fwdMax !== undefined && withLabel('contacts', p.contact) > fwdMax) || (bwdMax !== undefined && withLabel('companies', p.company) > bwdMax)) {
        return { error: 400, category: 'LIMITS_ERROR' }
      }
    }
    const wantsPrimary = kinds.includes('primary')
    const firstCompany = isNew && this.count('contacts', p.contact) === 0
    this.pairs.set(k, new Set(mode === 'replace' ? wanted : [...existing ?? [], ...wanted]))
    if (wantsPrimary || firstCompany) this.primary.set(p.contact, p.company)
    return { ok: true }
  }

  // ---- record ops

  createRecord (side: Side, id: number, identifier: string): void {
    this.alive[side].push(id)
    this.identifiers.set(id, identifier)
  }

  archiveRecord (side: Side, id: number): Expected {
    if (!this.isAlive(side, id)) return { status: 404 }
    this.alive[side] = this.alive[side].filter((x) => x !== id)
    this.dead[side].push(id)
    for (const k of [...this.pairs.keys()]) {
      const [c, co] = k.split('|').map(Number) as [number, number]
      if ((side === 'contacts' ? c : co) === id) this.removePair({ contact: c, company: co })
    }
    if (side === 'contacts') this.primary.delete(id)
    return { status: 204 }
  }

  // ---- record-level association ops

  /** B1 (replace, 201) and the add-labels extension (add, 200). */
  associate (side: Side, fromId: number, toId: number, specs: WireSpec[], mode: 'add' | 'replace'): Expected {
    const kinds = this.validate(side, specs)
    if (kinds === undefined) return { status: 400 }
    const p = this.pairOf(side, fromId, toId)
    const r = this.writePair(p, kinds, mode)
    if ('error' in r) return { status: r.error }
    return {
      status: mode === 'replace' ? 201 : 200,
      body: { fromObjectTypeId: side === 'contacts' ? '0-1' : '0-2', fromObjectId: fromId, toObjectTypeId: side === 'contacts' ? '0-2' : '0-1', toObjectId: toId, labels: this.labelsBetween(side, p) }
    }
  }

  /** B2 */
  associateDefault (side: Side, fromId: number, toId: number): Expected {
    const r = this.writePair(this.pairOf(side, fromId, toId), [], 'add')
    if ('error' in r) return { status: r.error }
    return { status: 200, body: defaultResults(side, fromId, toId) }
  }

  /** B3, with the optional newPrimaryId (contacts side only, only when the primary goes, must stay associated). */
  removeAssociation (side: Side, fromId: number, toId: number, newPrimaryId?: number): Expected {
    if (!this.isAlive(side, fromId) || !this.isAlive(other(side), toId)) return { status: 404 }
    const p = this.pairOf(side, fromId, toId)
    if (newPrimaryId !== undefined) {
      if (side !== 'contacts') return { status: 400 }
      if (this.primary.get(p.contact) !== p.company) return { status: 400 }
      if (newPrimaryId === p.company || !this.pairs.has(this.key({ contact: p.contact, company: newPrimaryId }))) return { status: 400 }
      this.removePair(p)
      this.primary.set(p.contact, newPrimaryId)
      return { status: 204 }
    }
    this.removePair(p)
    return { status: 204 }
  }

  /** DELETE .../labels/{typeId}: one label; the unlabeled type removes the pair, the primary type unsets the primary. */
  removeLabel (side: Side, fromId: number, toId: number, typeId: number): Expected {
    const kind = this.typeOf(side, typeId)
    if (kind === undefined) return { status: 400 }
    if (!this.isAlive(side, fromId) || !this.isAlive(other(side), toId)) return { status: 404 }
    const p = this.pairOf(side, fromId, toId)
    const body = (labels: string[]): Expected => ({
      status: 200,
      body: { fromObjectTypeId: side === 'contacts' ? '0-1' : '0-2', fromObjectId: fromId, toObjectTypeId: side === 'contacts' ? '0-2' : '0-1', toObjectId: toId, labels }
    })
    if (kind === 'unlabeled') {
      this.removePair(p)
      return body([])
    }
    const set = this.pairs.get(this.key(p))
    if (set === undefined) return { status: 404 }
    if (kind === 'primary') {
      if (this.primary.get(p.contact) === p.company) this.primary.delete(p.contact)
    } else {
      set.delete(kind.fwd)
    }
    return body(this.labelsBetween(side, p))
  }

  /** PUT .../primary/companies/{id}: contacts side only; associates when needed; the old primary stays associated. */
  setPrimary (side: Side, fromId: number, toId: number): Expected {
    if (side !== 'contacts') return { status: 400 }
    const p = { contact: fromId, company: toId }
    const r = this.writePair(p, ['primary'], 'add')
    if ('error' in r) return { status: r.error }
    return { status: 200, body: { toObjectId: toId, associationTypes: this.associationTypes('contacts', p) } }
  }

  /** DELETE .../primary/companies?newPrimaryId= */
  unsetPrimary (side: Side, fromId: number, newPrimaryId?: number): Expected {
    if (side !== 'contacts') return { status: 400 }
    if (!this.isAlive('contacts', fromId)) return { status: 404 }
    if (newPrimaryId !== undefined) {
      if (!this.pairs.has(this.key({ contact: fromId, company: newPrimaryId }))) return { status: 400 }
      this.primary.set(fromId, newPrimaryId)
      return { status: 204 }
    }
    this.primary.delete(fromId)
    return { status: 204 }
  }

  getPrimary (side: Side, fromId: number): Expected {
    if (side !== 'contacts') return { status: 400 }
    const company = this.primary.get(fromId)
    if (!this.isAlive('contacts', fromId) || company === undefined) return { status: 404 }
    return { status: 200, body: { toObjectId: company, associationTypes: this.associationTypes('contacts', { contact: fromId, company }) } }
  }

  list (side: Side, id: number): Expected {
    if (!this.isAlive(side, id) && this.listOf(side, id).length === 0) return { status: 404 }
    return { status: 200, body: this.listOf(side, id) }
  }

  // ---- batches

  /** T1 (replace) and T2 (default): inputs in order, each accepted one seen by the later ones; duplicates once. */
  batchWrite (side: Side, inputs: Array<{ from: number, to: number, specs: WireSpec[] }>, mode: 'add' | 'replace'): { results: unknown[], errors: string[] } {
    const planned: Array<{ from: number, to: number, kinds: Array<'unlabeled' | 'primary' | LabelDef> }> = []
    const errors: string[] = []
    const seen = new Set<string>()
    for (const input of inputs) {
      const kinds = this.validate(side, input.specs)
      if (kinds === undefined) { errors.push('VALIDATION_ERROR'); continue }
      const k = `${input.from}|${input.to}`
      if (seen.has(k)) continue
      seen.add(k)
      planned.push({ from: input.from, to: input.to, kinds })
    }
    const results: unknown[] = []
    for (const input of planned) {
      const p = this.pairOf(side, input.from, input.to)
      const r = this.writePair(p, input.kinds, mode)
      if ('error' in r) { errors.push(r.category); continue }
      results.push(mode === 'replace'
        ? { fromObjectTypeId: side === 'contacts' ? '0-1' : '0-2', fromObjectId: input.from, toObjectTypeId: side === 'contacts' ? '0-2' : '0-1', toObjectId: input.to, labels: this.labelsBetween(side, p) }
        : defaultResults(side, input.from, input.to))
    }
    return { results: mode === 'replace' ? results : results.flat(), errors }
  }

  /** T4: every pair named goes (no promotion); records that do not exist are no error. */
  batchArchive (side: Side, inputs: Array<{ from: number, to: number[] }>): Expected {
    for (const input of inputs) for (const to of input.to) this.removePair(this.pairOf(side, input.from, to))
    return { status: 204 }
  }

  /** T5: any invalid spec refuses the whole request; the unlabeled type removes the pair, the primary type unsets it. */
  batchArchiveLabels (side: Side, inputs: Array<{ from: number, to: number, specs: WireSpec[] }>): Expected {
    const resolved = inputs.map((i) => ({ p: this.pairOf(side, i.from, i.to), kinds: this.validate(side, i.specs) }))
    if (resolved.some((r) => r.kinds === undefined)) return { status: 400 }
    for (const { p, kinds } of resolved) {
      if (kinds?.includes('unlabeled') === true) { this.removePair(p); continue }
      for (const kind of kinds ?? []) {
        if (kind === 'primary') {
          if (this.primary.get(p.contact) === p.company) this.primary.delete(p.contact)
        } else if (kind !== 'unlabeled') {
          this.pairs.get(this.key(p))?.delete(kind.fwd)
        }
      }
    }
    return { status: 204 }
  }

  /**
   * Import rows (contact email, company domain, label cell), applied as one chunk: a label text no contact -> company
   * type carries (case ignored; "Primary" is the primary type) is a row error and the row writes nothing; rows of one
   * pair add the union of their labels; then the rows' pairs are written as a batch in add mode (import only adds).
   * Returns how many inputs failed.
   */
  importRows (rows: Array<{ contact: number, company: number, labels: string[] }>): number {
    let failed = 0
    const byPair = new Map<string, { from: number, to: number, kinds: Array<'primary' | LabelDef> }>()
    for (const row of rows) {
      const kinds: Array<'primary' | LabelDef> = []
      let unknown = false
      for (const text of row.labels) {
        const wanted = text.trim().toLowerCase()
        if (wanted === '') continue
        const kind = wanted === 'primary' ? 'primary' : [...this.labels].sort((a, b) => a.fwd - b.fwd).find((l) => l.fwdLabel.toLowerCase() === wanted)
        if (kind === undefined) unknown = true
        else if (!kinds.includes(kind)) kinds.push(kind)
      }
      if (unknown) { failed++; continue }
      const k = `${row.contact}|${row.company}`
      const input = byPair.get(k) ?? { from: row.contact, to: row.company, kinds: [] }
      for (const kind of kinds) if (!input.kinds.includes(kind)) input.kinds.push(kind)
      byPair.set(k, input)
    }
    for (const input of byPair.values()) {
      if ('error' in this.writePair({ contact: input.from, company: input.to }, input.kinds, 'add')) failed++
    }
    return failed
  }

  // ---- per-label limits (C4 update, C5 purge), user labels only

  /** C4 with one input: 200, or 207 when the type is not a label of this direction or the limit is above the cap. */
  setLimit (side: Side, spec: WireSpec, max: number): string | undefined {
    const kind = this.typeOf(side, spec.associationTypeId)
    if (kind === undefined || typeof kind === 'string' || spec.associationCategory !== 'USER_DEFINED') return 'VALIDATION_ERROR'
    if (max > this.cap) return 'LIMITS_ERROR'
    this.limits.set(spec.associationTypeId, max)
    return undefined
  }

  /** C5: any input not a type of this direction refuses the whole request. */
  purgeLimits (side: Side, specs: WireSpec[]): Expected {
    if (specs.some((s) => { const k = this.typeOf(side, s.associationTypeId); return k === undefined || (typeof k === 'string' ? 'HUBSPOT_DEFINED' : 'USER_DEFINED') !== s.associationCategory })) return { status: 400 }
    for (const s of specs) this.limits.delete(s.associationTypeId)
    return { status: 204 }
  }

  // ---- label definitions

  /** L2 before the ids are known: the error status, or undefined when the label is created. */
  createLabelCheck (name: string): number | undefined {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return 400
    if (this.labels.length >= this.maxLabels) return 400
    if (this.labels.some((l) => l.name === name)) return 409
    return undefined
  }

  addLabel (label: LabelDef): void { this.labels.push(label) }

  /** L3: renames one direction; a single label (same text both ways) keeps one text unless inverseLabel says otherwise. */
  updateLabel (side: Side, typeId: number, label: string, inverseLabel?: string): Expected {
    const kind = this.typeOf(side, typeId)
    if (kind === undefined || typeof kind === 'string') return { status: 400 }
    const paired = kind.fwdLabel !== kind.bwdLabel
    const inverse = inverseLabel ?? (paired ? undefined : label)
    if (side === 'contacts') {
      kind.fwdLabel = label
      if (inverse !== undefined) kind.bwdLabel = inverse
    } else {
      kind.bwdLabel = label
      if (inverse !== undefined) kind.fwdLabel = inverse
    }
    return { status: 204 }
  }

  /** L4: refused while in use unless force, which takes the label off its associations first. */
  deleteLabel (side: Side, typeId: number, force: boolean): Expected {
    const kind = this.typeOf(side, typeId)
    if (kind === undefined || typeof kind === 'string') return { status: 400 }
    const users = [...this.pairs.values()].filter((s) => s.has(kind.fwd))
    if (users.length > 0 && !force) return { status: 400 }
    for (const s of users) s.delete(kind.fwd)
    this.labels.splice(this.labels.indexOf(kind), 1)
    this.limits.delete(kind.fwd)
    this.limits.delete(kind.bwd)
    this.staleTypeIds.push(kind.fwd, kind.bwd)
    return { status: 204 }
  }
}

function defaultResults (side: Side, fromId: number, toId: number): unknown[] {
  const spec = (id: number): WireSpec => ({ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: id })
  return [
    { from: { id: String(fromId) }, to: { id: String(toId) }, associationSpec: spec(UNLABELED[side]) },
    { from: { id: String(toId) }, to: { id: String(fromId) }, associationSpec: spec(UNLABELED[other(side)]) }
  ]
}
