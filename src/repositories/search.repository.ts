// SQL of record search (CRM v3 search plus association filters): one statement per search that returns the page, a
// capped total and the check of the association type ids it names. Conditions on associated records are EXISTS /
// NOT EXISTS subqueries anchored on (account_id, from_type, from_id, to_type): the associations primary key, or
// associations_type_idx when the planner drives the join from a label.
import { sql, type RawBuilder } from 'kysely'
import type { Executor } from '../db/executor.js'
import type { RecordRow } from '../db/schema.js'

/**
 * What a number looks like, for the filter values (in the service) and the stored values (here): digits with an
 * optional sign, fraction and a short exponent; ASCII only, no spaces, so that a value matching it always casts to
 * numeric.
 */
export const NUMBER_PATTERN = '^[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]{1,3})?$'
const NUMBER = sql.raw(`'${NUMBER_PATTERN}'`)

/** Where a condition reads its value: a property, or a record column shown as a property (as text). */
export type ValueSource = { property: string } | { column: 'id' | 'created_at' | 'updated_at' }

/** A filter value: compared as a number when `numeric`, otherwise as case-insensitive text. */
export interface Operand { value: string, numeric: boolean }

export type ConditionOperator =
  | 'EQ' | 'NEQ' | 'LT' | 'LTE' | 'GT' | 'GTE' | 'BETWEEN' | 'IN' | 'NOT_IN'
  | 'HAS_PROPERTY' | 'NOT_HAS_PROPERTY' | 'CONTAINS_TOKEN' | 'NOT_CONTAINS_TOKEN'

/**
 * A property condition. `operands`: one for EQ..GTE, [low, high] for BETWEEN, the list for IN / NOT_IN, none for
 * HAS_PROPERTY / NOT_HAS_PROPERTY. `pattern`: a case-insensitive POSIX regular expression for CONTAINS_TOKEN.
 */
export interface PropertyCondition {
  source: ValueSource
  operator: ConditionOperator
  operands: Operand[]
  pattern?: string
}

export interface AssociationCondition {
  toType: string
  quantifier: 'ALL' | 'ANY' | 'PRIMARY' | 'NONE'
  typeId?: number
  includeEmpty: boolean
  conditions: PropertyCondition[]
}

/** One filter group: every condition and every association condition (AND). */
export interface ConditionGroup { conditions: PropertyCondition[], associations: AssociationCondition[] }

/** Sort key of a property sort: group (0 number, 1 text, 2 missing), number, lower-cased text; then the id. */
export interface SortKey { id: number, g?: number, n?: string, t?: string }

export interface SearchSpec {
  objectType: string
  /** ORed; empty: every live record of the type. */
  groups: ConditionGroup[]
  /** ANDed with the groups (top-level association filters). */
  required: AssociationCondition[]
  /** Free text: an ILIKE pattern over these sources, or over every property value when `sources` is undefined. */
  text?: { pattern: string, sources?: ValueSource[] }
  /** undefined: by id. */
  sortBy?: ValueSource
  descending: boolean
  after?: SortKey
  /** Rows to return (the caller asks one more than the page to know whether another page exists). */
  limit: number
  /** The total counts at most this many matches. */
  totalCap: number
  /** (from, to, type id) triples whose existence the answer reports in `known_type_ids`. */
  typeChecks: Array<{ fromType: string, toType: string, typeId: number }>
}

export type SearchRow = RecordRow & { sort_g: number | null, sort_n: string | null, sort_t: string | null }

export interface SearchResult { total: number, rows: SearchRow[], knownTypeIds: number[] }

type Alias = 'r' | 'o'

function valueOf (alias: Alias, source: ValueSource): RawBuilder<string | null> {
  const x = sql.raw(alias)
  // Parenthesised: `::` binds tighter than `->>`.
  if ('property' in source) return sql<string | null>`(${x}.properties ->> ${source.property})`
  if (source.column === 'id') return sql<string>`(${x}.id::text)`
  // Dates as epoch milliseconds, so that they compare as numbers (filter values are ISO dates or milliseconds).
  return sql<string>`(floor(extract(epoch from ${x}.${sql.raw(source.column)}) * 1000)::text)`
}

/** Never null: a missing value (or one of the other kind) is false, so NOT of a condition is its complement. */
function compare (v: RawBuilder<string | null>, op: '=' | '<' | '<=' | '>' | '>=', operand: Operand): RawBuilder<boolean> {
  const o = sql.raw(op)
  if (operand.numeric) return sql<boolean>`(case when ${v} ~ ${NUMBER} then ${v}::numeric ${o} ${operand.value}::numeric else false end)`
  return sql<boolean>`coalesce(lower(${v}) ${o} lower(${operand.value}), false)`
}

const COMPARISONS = { EQ: '=', LT: '<', LTE: '<=', GT: '>', GTE: '>=' } as const

function condition (alias: Alias, c: PropertyCondition): RawBuilder<boolean> {
  const v = valueOf(alias, c.source)
  const [first, second] = c.operands as [Operand, Operand]
  const anyOf = (): RawBuilder<boolean> => sql<boolean>`(${sql.join(c.operands.map((x) => compare(v, '=', x)), sql` or `)})`
  const token = (): RawBuilder<boolean> => sql<boolean>`coalesce(${v} ~* ${c.pattern ?? ''}, false)`
  switch (c.operator) {
    case 'EQ': case 'LT': case 'LTE': case 'GT': case 'GTE': return compare(v, COMPARISONS[c.operator], first)
    case 'NEQ': return sql<boolean>`not ${compare(v, '=', first)}`
    case 'BETWEEN': return sql<boolean>`(${compare(v, '>=', first)} and ${compare(v, '<=', second)})`
    case 'IN': return anyOf()
    case 'NOT_IN': return sql<boolean>`not ${anyOf()}`
    case 'HAS_PROPERTY': return sql<boolean>`(${v} is not null)`
    case 'NOT_HAS_PROPERTY': return sql<boolean>`(${v} is null)`
    case 'CONTAINS_TOKEN': return token()
    case 'NOT_CONTAINS_TOKEN': return sql<boolean>`not ${token()}`
  }
}

function allOf (parts: Array<RawBuilder<boolean>>): RawBuilder<boolean> {
  return parts.length === 0 ? sql<boolean>`true` : sql<boolean>`(${sql.join(parts, sql` and `)})`
}

/**
 * EXISTS over the edges of record r toward `toType` (with the type or the primary flag asked), joined to the live
 * associated record `o` when there are conditions on it; `extra` is ANDed in.
 *
 * `probe` keeps the subquery a per-record probe of the primary key (`offset 0` stops PostgreSQL from turning it into
 * a join). NOT EXISTS needs it: as an anti-join the planner hashes every edge of the object pair, and for a large pair
 * it reads them with a sequential scan of associations; a probe costs a few index lookups per record examined (the
 * page and the capped total bound those). A positive EXISTS stays free, so that a semi-join can start from a label
 * (associations_type_idx) when that is the selective side.
 */
function edges (accountId: number, fromType: string, a: AssociationCondition, extra?: RawBuilder<boolean>, probe = false): RawBuilder<boolean> {
  const join = a.conditions.length === 0
    ? sql``
    : sql`join records o on o.account_id = a.account_id and o.object_type = a.to_type and o.id = a.to_id and o.archived_at is null`
  let where = sql`a.account_id = ${accountId} and a.from_type = ${fromType} and a.from_id = r.id and a.to_type = ${a.toType}`
  if (a.quantifier === 'PRIMARY') {
    where = sql`${where} and a.is_primary`
    // The primary company with a label: the label is another row of the same pair.
    if (a.typeId !== undefined) {
      where = sql`${where} and exists (select 1 from associations l where l.account_id = a.account_id and l.from_type = a.from_type
        and l.from_id = a.from_id and l.to_type = a.to_type and l.to_id = a.to_id and l.type_id = ${a.typeId})`
    }
  } else if (a.typeId !== undefined) {
    where = sql`${where} and a.type_id = ${a.typeId}`
  }
  if (extra !== undefined) where = sql`${where} and ${extra}`
  return sql<boolean>`exists (select 1 from associations a ${join} where ${where}${sql.raw(probe ? ' offset 0' : '')})`
}

/**
 * The ids of an ANY condition that only names associated records by id (`hs_object_id` EQ or IN, plain integers), the
 * common "records associated with record X": undefined for any other condition.
 */
function associatedIds (a: AssociationCondition): number[] | undefined {
  const [only] = a.conditions
  if (a.quantifier !== 'ANY' || a.typeId !== undefined || a.conditions.length !== 1 || only === undefined) return undefined
  if (!('column' in only.source) || only.source.column !== 'id' || (only.operator !== 'EQ' && only.operator !== 'IN')) return undefined
  if (!only.operands.every((o) => /^\+?[0-9]{1,15}$/.test(o.value))) return undefined
  return only.operands.map((o) => Number(o.value))
}

/**
 * Records associated with given records, read from the other side: the given records' rows toward this type (every
 * pair is stored in both directions) are a range of the primary key, and only those records are probed. The EXISTS
 * form would probe the edges of every record of the type and compare the id as text, which at millions of records
 * takes seconds.
 */
function associatedWith (accountId: number, fromType: string, toType: string, ids: number[]): RawBuilder<boolean> {
  return sql<boolean>`r.id in (select b.to_id from associations b
    where b.account_id = ${accountId} and b.from_type = ${toType} and b.from_id = any(${ids}::bigint[]) and b.to_type = ${fromType}
      and exists (select 1 from records o where o.account_id = b.account_id and o.object_type = b.from_type and o.id = b.from_id and o.archived_at is null))`
}

function association (accountId: number, fromType: string, a: AssociationCondition): RawBuilder<boolean> {
  const ids = associatedIds(a)
  if (ids !== undefined) return associatedWith(accountId, fromType, a.toType, ids)
  const matches = allOf(a.conditions.map((c) => condition('o', c)))
  const noConditions = a.conditions.length === 0
  switch (a.quantifier) {
    case 'ANY': case 'PRIMARY': return edges(accountId, fromType, a, noConditions ? undefined : matches)
    case 'NONE': return sql<boolean>`not ${edges(accountId, fromType, a, noConditions ? undefined : matches, true)}`
    case 'ALL': {
      // Every associated record matches: none fails. Vacuously true without associated records, hence `includeEmpty`.
      const noneFails = noConditions ? sql<boolean>`true` : sql<boolean>`not ${edges(accountId, fromType, a, sql`not ${matches}`, true)}`
      return a.includeEmpty ? noneFails : allOf([edges(accountId, fromType, { ...a, conditions: [] }), noneFails])
    }
  }
}

function textMatch (text: NonNullable<SearchSpec['text']>): RawBuilder<boolean> {
  if (text.sources === undefined) return sql<boolean>`exists (select 1 from jsonb_each_text(r.properties) e where e.value ilike ${text.pattern})`
  return sql<boolean>`(${sql.join(text.sources.map((s) => sql`${valueOf('r', s)} ilike ${text.pattern}`), sql` or `)})`
}

/** The records of the search, as a WHERE condition on alias r. */
function matchOf (accountId: number, spec: SearchSpec): RawBuilder<boolean> {
  const parts: Array<RawBuilder<boolean>> = [sql<boolean>`r.account_id = ${accountId} and r.object_type = ${spec.objectType} and r.archived_at is null`]
  if (spec.groups.length > 0) {
    const groups = spec.groups.map((g) => allOf([
      ...g.conditions.map((c) => condition('r', c)),
      ...g.associations.map((a) => association(accountId, spec.objectType, a))
    ]))
    parts.push(sql<boolean>`(${sql.join(groups, sql` or `)})`)
  }
  for (const a of spec.required) parts.push(association(accountId, spec.objectType, a))
  if (spec.text !== undefined) parts.push(textMatch(spec.text))
  return allOf(parts)
}

/** The page: keyset on id, or on (group, number, text, id) of the sort property; missing values last either way. */
function pageOf (accountId: number, spec: SearchSpec): RawBuilder<SearchRow> {
  const match = matchOf(accountId, spec)
  const dir = sql.raw(spec.descending ? 'desc' : 'asc')
  const cmp = sql.raw(spec.descending ? '<' : '>')
  const after = spec.after
  if (spec.sortBy === undefined) {
    const keyset = after === undefined ? sql`true` : sql`r.id ${cmp} ${after.id}`
    return sql<SearchRow>`
      select r.*, null::int as sort_g, null::text as sort_n, null::text as sort_t from records r
      where ${match} and ${keyset}
      order by r.id ${dir}
      limit ${spec.limit}`
  }
  const v = valueOf('r', spec.sortBy)
  const keyset = after === undefined
    ? sql`true`
    : sql`(s.sort_g > ${after.g ?? 0} or (s.sort_g = ${after.g ?? 0} and (s.sort_n, s.sort_t, s.id) ${cmp} (${after.n ?? '0'}::numeric, ${after.t ?? ''}::text, ${after.id}::bigint)))`
  return sql<SearchRow>`
    select s.* from (
      select r.*,
        (case when ${v} is null then 2 when ${v} ~ ${NUMBER} then 0 else 1 end) as sort_g,
        (case when ${v} ~ ${NUMBER} then ${v}::numeric else 0 end) as sort_n,
        (case when ${v} ~ ${NUMBER} then '' else coalesce(lower(${v}), '') end) as sort_t
      from records r
      where ${match}) s
    where ${keyset}
    order by s.sort_g, s.sort_n ${dir}, s.sort_t ${dir}, s.id ${dir}
    limit ${spec.limit}`
}

/** One statement: the capped total, the type-id check and the page (a left join, so an empty page still has a row). */
export async function searchRecords (db: Executor, accountId: number, spec: SearchSpec): Promise<SearchResult> {
  const known = spec.typeChecks.length === 0
    ? sql`'{}'::int[]`
    : sql`array(select type_id from association_types where account_id = ${accountId} and (from_type, to_type, type_id) in (${sql.join(spec.typeChecks.map((c) => sql`(${c.fromType}, ${c.toType}, ${c.typeId}::int)`))}))`
  const dir = sql.raw(spec.descending ? 'desc' : 'asc')
  const order = spec.sortBy === undefined ? sql`p.id ${dir}` : sql`p.sort_g, p.sort_n ${dir}, p.sort_t ${dir}, p.id ${dir}`
  const result = await sql<SearchRow & { total: number, known_type_ids: number[] }>`
    select k.total, ${known} as known_type_ids,
      p.account_id, p.object_type, p.id, p.properties, p.created_at, p.updated_at, p.archived_at, p.sort_g, p.sort_n::text as sort_n, p.sort_t
    from (select count(*)::int as total from (select 1 from records r where ${matchOf(accountId, spec)} limit ${spec.totalCap}) c) k
    left join lateral (${pageOf(accountId, spec)}) p on true
    order by ${order}`.execute(db)
  const first = result.rows[0]
  const rows = result.rows.filter((r) => r.id !== null).map(({ total: _total, known_type_ids: _known, ...row }) => row)
  return { total: Number(first?.total ?? 0), rows, knownTypeIds: (first?.known_type_ids ?? []).map(Number) }
}
