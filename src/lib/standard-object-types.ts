// The standard CRM object types every account has (API.md §3.1), and their unique identifiers (PRODUCT.md).
export interface StandardObjectType {
  typeId: string
  name: string
  singular: string
  plural: string
  uniqueProperties: string[]
  primaryDisplayProperty: string
}

export const STANDARD_OBJECT_TYPES: readonly StandardObjectType[] = [
  { typeId: '0-1', name: 'contacts', singular: 'Contact', plural: 'Contacts', uniqueProperties: ['email'], primaryDisplayProperty: 'email' },
  { typeId: '0-2', name: 'companies', singular: 'Company', plural: 'Companies', uniqueProperties: ['domain'], primaryDisplayProperty: 'name' },
  { typeId: '0-3', name: 'deals', singular: 'Deal', plural: 'Deals', uniqueProperties: [], primaryDisplayProperty: 'dealname' },
  { typeId: '0-5', name: 'tickets', singular: 'Ticket', plural: 'Tickets', uniqueProperties: [], primaryDisplayProperty: 'subject' }
]

/** Singular spellings accepted in paths, besides the plural name and the type id. */
export const SINGULAR_NAMES: Readonly<Record<string, string>> = {
  contact: 'contacts',
  company: 'companies',
  deal: 'deals',
  ticket: 'tickets'
}

export const CONTACTS = '0-1'
export const COMPANIES = '0-2'
export const DEALS = '0-3'
export const TICKETS = '0-5'
