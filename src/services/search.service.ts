// Record search (POST /crm/v3/objects/{objectType}/search): HubSpot's request rules and limits, our association
// filters (ALL / ANY / PRIMARY / NONE), value typing and keyset cursors. The SQL is one statement per search
// (search.repository.ts).
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import * as repo from '../repositories/search.repository.js'
import { encodeCursor } from '../lib/paging.js'
import { HAS_PRIMARY_COMPANY } from '../lib/hubspot-association-types.js'
import { COMPANIES, CONTACTS, DEALS, TICKETS } from '../lib/standard-object-types.js'
import { InvalidInputError, withDetails } from '../errors.js'
import type { ObjectType, ObjectTypesService } from './object-types.service.js'
import { splitList, toPublicObject } from './records.service.js'
import type { AssociationFilter, Filter, SearchRequest, SearchResponse, Sort } from '../schemas/search.schemas.js'

/** HubSpot's search limits. */
export const SEARCH_LIMITS = { groups: 5, filtersPerGroup: 6, filters: 18, sorts: 1 } as const
/** `total` counts matches up to this many (HubSpot's search reaches at most 10,000 results). */
export const TOTAL_CAP = 10_000

/** Record columns that read as properties; dates filter as ISO 8601 or epoch milliseconds. */
const COLUMNS: Readonly<Record<string, 'id' | 'created_at' | 'updated_at'>> = {
  hs_object_id: 'id',
  createdate: 'created_at',
  hs_createdate: 'created_at',
  lastmodifieddate: 'updated_at',
  hs_lastmodifieddate: 'updated_at'
}

/** Properties `query` looks in, per standard type; a custom type's query looks in every property. */
const QUERY_PROPERTIES: Readonly<Record<string, string[]>> = {
  [CONTACTS]: ['firstname', 'lastname', 'email', 'phone', 'mobilephone', 'company'],
  [COMPANIES]: ['name', 'domain', 'website', 'phone'],
  [DEALS]: ['dealname'],
  [TICKETS]: ['subject', 'content']
}

const NUMBER = new RegExp(repo.NUMBER_PATTERN)

function invalid (message: string, field: string, detail: string): Error {
  return withDetails(new InvalidInputError(message), { context: { [field]: [detail] } })
}

function sourceOf (property: string): repo.ValueSource {
  const column = COLUMNS[property]
  return column === undefined ? { property } : { column }
}

/** A filter value: a number when it looks like one; a date column takes ISO 8601 dates too (as epoch ms). */
function operand (raw: string, source: repo.ValueSource, where: string): repo.Operand {
  const value = raw.trim()
  if (NUMBER.test(value)) return { value, numeric: true }
  if ('column' in source && source.column !== 'id') {
    const ms = Date.parse(value)
    if (Number.isNaN(ms)) throw invalid(`${where}: '${value.slice(0, 100)}' is not a date (ISO 8601) nor epoch milliseconds`, where, 'a date')
    return { value: String(ms), numeric: true }
  }
  return { value, numeric: false }
}

/** CONTAINS_TOKEN: the words, in order, as whole whitespace-separated tokens; `*` stands for any characters of a token. */
function tokenPattern (value: string): string {
  const words = value.trim().split(/\s+/).map((w) => w.replace(/[.+?^${}()|[\]\\-]/g, '\\$&').replaceAll('*', '\\S*'))
  return `(^|\\s)${words.join('\\s+')}($|\\s)`
}

function compileFilter (f: Filter, where: string): repo.PropertyCondition {
  const source = sourceOf(f.propertyName)
  const need = (value: string | undefined, field: string): string => {
    if (value === undefined || value.trim() === '') throw invalid(`${where}: operator ${f.operator} needs \`${field}\``, `${where}.${field}`, 'required')
    return value
  }
  switch (f.operator) {
    case 'HAS_PROPERTY': case 'NOT_HAS_PROPERTY':
      return { source, operator: f.operator, operands: [] }
    case 'IN': case 'NOT_IN': {
      const values = f.values ?? (f.value !== undefined ? [f.value] : [])
      if (values.length === 0) throw invalid(`${where}: operator ${f.operator} needs \`values\``, `${where}.values`, 'required')
      return { source, operator: f.operator, operands: values.map((v) => operand(v, source, where)) }
    }
    case 'BETWEEN':
      return { source, operator: f.operator, operands: [operand(need(f.value, 'value'), source, where), operand(need(f.highValue, 'highValue'), source, where)] }
    case 'CONTAINS_TOKEN': case 'NOT_CONTAINS_TOKEN':
      return { source, operator: f.operator, operands: [], pattern: tokenPattern(need(f.value, 'value')) }
    default:
      return { source, operator: f.operator, operands: [operand(need(f.value, 'value'), source, where)] }
  }
}

/** Counts every filter, association filter and filter inside one toward HubSpot's limits; a 400 names the limit. */
function checkLimits (request: SearchRequest): void {
  const groups = request.filterGroups ?? []
  if (groups.length > SEARCH_LIMITS.groups) {
    throw invalid(`Too many filter groups: ${groups.length}; a search takes at most ${SEARCH_LIMITS.groups}`, 'filterGroups', `at most ${SEARCH_LIMITS.groups}`)
  }
  let total = 0
  const count = (filters: number, associations: AssociationFilter[], where: string): void => {
    const n = filters + associations.length
    if (n > SEARCH_LIMITS.filtersPerGroup) {
      throw invalid(`Too many filters in ${where}: ${n}; a group takes at most ${SEARCH_LIMITS.filtersPerGroup} (association filters count as filters)`, where, `at most ${SEARCH_LIMITS.filtersPerGroup}`)
    }
    total += n
    associations.forEach((a, i) => { count(a.filters?.length ?? 0, [], `${where === 'associations' ? '' : where + '.'}associations[${i}].filters`) })
  }
  groups.forEach((g, i) => { count(g.filters?.length ?? 0, g.associations ?? [], `filterGroups[${i}]`) })
  count(0, request.associations ?? [], 'associations')
  if (total > SEARCH_LIMITS.filters) {
    throw invalid(`Too many filters: ${total}; a search takes at most ${SEARCH_LIMITS.filters} in all (filters, association filters and their filters)`, 'filters', `at most ${SEARCH_LIMITS.filters}`)
  }
  if ((request.sorts?.length ?? 0) > SEARCH_LIMITS.sorts) {
    throw invalid(`Too many sorts: ${request.sorts?.length ?? 0}; a search sorts by at most ${SEARCH_LIMITS.sorts} property`, 'sorts', `at most ${SEARCH_LIMITS.sorts}`)
  }
}

interface SortPlan { by?: repo.ValueSource, descending: boolean, signature: string }

function sortPlan (sorts: Sort[] | undefined): SortPlan {
  const sort = sorts?.[0]
  if (sort === undefined) return { descending: false, signature: 'id:ASCENDING' }
  const { propertyName, direction } = typeof sort === 'string' ? { propertyName: sort, direction: 'ASCENDING' } : sort
  const descending = direction === 'DESCENDING'
  const signature = `${propertyName}:${descending ? 'DESCENDING' : 'ASCENDING'}`
  // The id is the keyset itself (the primary key order); any other property sorts on (value, id).
  if (propertyName === 'hs_object_id' || propertyName === 'id') return { descending, signature: `id:${descending ? 'DESCENDING' : 'ASCENDING'}` }
  return { by: sourceOf(propertyName), descending, signature }
}

/** The cursor of a page's last row: its sort key and the sort it belongs to. */
function cursorOf (row: repo.SearchRow, sort: SortPlan): string {
  if (sort.by === undefined) return encodeCursor({ id: row.id, s: sort.signature })
  return encodeCursor({ id: row.id, s: sort.signature, g: row.sort_g ?? 2, n: row.sort_n ?? '0', t: row.sort_t ?? '' })
}

function decodeSortKey (after: string, sort: SortPlan): repo.SortKey {
  const bad = (): Error => invalid(`Invalid paging cursor 'after': ${after.slice(0, 100)} (it belongs to another sort, or is not one of ours)`, 'after', after.slice(0, 100))
  let key: Record<string, unknown>
  try {
    key = JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as Record<string, unknown>
  } catch {
    throw bad()
  }
  const { v, id, s, g, n, t } = key ?? {}
  if (v !== 1 || s !== sort.signature || typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw bad()
  if (sort.by === undefined) return { id }
  if ((g !== 0 && g !== 1 && g !== 2) || typeof n !== 'string' || !NUMBER.test(n) || typeof t !== 'string') throw bad()
  return { id, g, n, t }
}

function likePattern (text: string): string {
  return `%${text.replace(/[\\%_]/g, '\\$&')}%`
}

export function createSearchService (db: Kysely<Database>, objectTypes: ObjectTypesService) {
  /** Resolves an association filter's target type and checks its quantifier rules. */
  async function compileAssociation (accountId: number, type: ObjectType, a: AssociationFilter, where: string, checks: repo.SearchSpec['typeChecks']): Promise<repo.AssociationCondition> {
    const to = await objectTypes.resolve(accountId, a.toObjectType)
    const quantifier = a.quantifier ?? 'ALL'
    if (quantifier === 'PRIMARY' && !(HAS_PRIMARY_COMPANY.has(type.typeId) && to.typeId === COMPANIES)) {
      throw invalid(`${where}: PRIMARY applies to the companies of contacts, deals and tickets, not to ${to.name} of ${type.name}`, `${where}.quantifier`, 'PRIMARY')
    }
    if (a.includeEmpty === true && quantifier !== 'ALL') {
      throw invalid(`${where}: includeEmpty applies to the ALL quantifier only`, `${where}.includeEmpty`, 'ALL only')
    }
    if (a.associationTypeId !== undefined) checks.push({ fromType: type.typeId, toType: to.typeId, typeId: a.associationTypeId })
    return {
      toType: to.typeId,
      quantifier,
      ...(a.associationTypeId !== undefined ? { typeId: a.associationTypeId } : {}),
      includeEmpty: a.includeEmpty === true,
      conditions: (a.filters ?? []).map((f, i) => compileFilter(f, `${where}.filters[${i}]`))
    }
  }

  return {
    async search (accountId: number, typeSegment: string, request: SearchRequest): Promise<SearchResponse> {
      const type = await objectTypes.resolve(accountId, typeSegment)
      checkLimits(request)
      const typeChecks: repo.SearchSpec['typeChecks'] = []
      const groups: repo.ConditionGroup[] = []
      for (const [i, g] of (request.filterGroups ?? []).entries()) {
        const where = `filterGroups[${i}]`
        if ((g.filters?.length ?? 0) + (g.associations?.length ?? 0) === 0) {
          throw invalid(`${where} is empty: a group needs at least one filter or association filter`, where, 'empty')
        }
        const associations: repo.AssociationCondition[] = []
        for (const [j, a] of (g.associations ?? []).entries()) associations.push(await compileAssociation(accountId, type, a, `${where}.associations[${j}]`, typeChecks))
        groups.push({ conditions: (g.filters ?? []).map((f, j) => compileFilter(f, `${where}.filters[${j}]`)), associations })
      }
      const required: repo.AssociationCondition[] = []
      for (const [j, a] of (request.associations ?? []).entries()) required.push(await compileAssociation(accountId, type, a, `associations[${j}]`, typeChecks))

      const sort = sortPlan(request.sorts)
      const limit = request.limit ?? 10
      const query = request.query?.trim() ?? ''
      const querySources = QUERY_PROPERTIES[type.typeId]?.map((property) => ({ property }))
      const result = await repo.searchRecords(db, accountId, {
        objectType: type.typeId,
        groups,
        required,
        ...(query !== '' ? { text: { pattern: likePattern(query), ...(querySources !== undefined ? { sources: querySources } : {}) } } : {}),
        ...(sort.by !== undefined ? { sortBy: sort.by } : {}),
        descending: sort.descending,
        ...(request.after !== undefined ? { after: decodeSortKey(request.after, sort) } : {}),
        limit: limit + 1,
        totalCap: TOTAL_CAP,
        typeChecks
      })
      const unknown = typeChecks.find((c) => !result.knownTypeIds.includes(c.typeId))
      if (unknown !== undefined) {
        throw withDetails(new InvalidInputError(`${unknown.typeId} is not a valid association type id from ${type.name} to the associated object type (${unknown.toType})`), {
          subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE', context: { associationTypeId: [String(unknown.typeId)] }
        })
      }
      const page = result.rows.slice(0, limit)
      const wanted = splitList(request.properties)
      const last = page.at(-1)
      return {
        total: result.total,
        results: page.map((row) => toPublicObject(row, wanted)),
        ...(result.rows.length > limit && last !== undefined ? { paging: { next: { after: cursorOf(last, sort) } } } : {})
      }
    }
  }
}

export type SearchService = ReturnType<typeof createSearchService>
