// HUBSPOT_DEFINED association types among contacts, companies, deals and tickets, both directions (API.md §3.2).
import { COMPANIES, CONTACTS, DEALS, TICKETS } from './standard-object-types.js'

export type AssociationRole = 'unlabeled' | 'primary' | 'primary_inverse' | 'label'

export interface SeedAssociationType {
  from: string
  to: string
  typeId: number
  inverse: number
  role: AssociationRole
  label: string | null
  /** The v3 type name (`contact_to_company`), used when associations are embedded in record reads. */
  name: string
}

const SINGULAR: Record<string, string> = { [CONTACTS]: 'contact', [COMPANIES]: 'company', [DEALS]: 'deal', [TICKETS]: 'ticket' }

function pair (from: string, to: string, unlabeled: number, inverse: number, primary?: [number, number]): SeedAssociationType[] {
  const f = SINGULAR[from] as string
  const t = SINGULAR[to] as string
  const rows: SeedAssociationType[] = [
    // Where a primary type exists it owns the plain name; the unlabeled one gets the _unlabeled suffix (API.md §6.2).
    { from, to, typeId: unlabeled, inverse, role: 'unlabeled', label: null, name: primary ? `${f}_to_${t}_unlabeled` : `${f}_to_${t}` },
    { from: to, to: from, typeId: inverse, inverse: unlabeled, role: 'unlabeled', label: null, name: primary ? `${t}_to_${f}_unlabeled` : `${t}_to_${f}` }
  ]
  if (primary !== undefined) {
    rows.push(
      { from, to, typeId: primary[0], inverse: primary[1], role: 'primary', label: 'Primary', name: `${f}_to_${t}` },
      { from: to, to: from, typeId: primary[1], inverse: primary[0], role: 'primary_inverse', label: 'Primary', name: `${t}_to_${f}` }
    )
  }
  return rows
}

function samePair (type: string, typeId: number): SeedAssociationType {
  const s = SINGULAR[type] as string
  return { from: type, to: type, typeId, inverse: typeId, role: 'unlabeled', label: null, name: `${s}_to_${s}` }
}

export const HUBSPOT_ASSOCIATION_TYPES: readonly SeedAssociationType[] = [
  ...pair(CONTACTS, COMPANIES, 279, 280, [1, 2]),
  ...pair(DEALS, COMPANIES, 341, 342, [5, 6]),
  ...pair(TICKETS, COMPANIES, 339, 340, [26, 25]),
  ...pair(CONTACTS, DEALS, 4, 3),
  ...pair(CONTACTS, TICKETS, 15, 16),
  ...pair(DEALS, TICKETS, 27, 28),
  samePair(CONTACTS, 449),
  samePair(COMPANIES, 450),
  samePair(DEALS, 451),
  samePair(TICKETS, 452),
  { from: COMPANIES, to: COMPANIES, typeId: 13, inverse: 14, role: 'label', label: 'Child Company', name: 'parent_to_child_company' },
  { from: COMPANIES, to: COMPANIES, typeId: 14, inverse: 13, role: 'label', label: 'Parent Company', name: 'child_to_parent_company' }
]

/** Object types that have a primary company (PRODUCT.md, Primary company). */
export const HAS_PRIMARY_COMPANY = new Set([CONTACTS, DEALS, TICKETS])
