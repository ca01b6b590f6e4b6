// The page statement the service issues for GET .../associations/{toType} (src/repositories/associations.repository.ts
// pageEdges): the page's to_ids carrying the unlabeled type, then every type of those pairs. The thin route and the
// pgbench scripts (bench/sql/suite-page.sql) run the same SQL, so the service is compared on identical work.
export const PAGE_SQL = `with page as (
  select to_id from associations
  where account_id = $1 and from_type = '0-1' and from_id = $2 and to_type = '0-2' and to_id > $3 and type_id = 279
  order by to_id limit $4)
select a.to_id, a.type_id from associations a
where a.account_id = $1 and a.from_type = '0-1' and a.from_id = $2 and a.to_type = '0-2' and a.to_id in (select to_id from page)
order by a.to_id, a.type_id`

/** A page in the wire shape of B4 (CollectionResponseMultiAssociatedObjectWithLabel), built from (to_id, type_id) rows. */
export function pageBody (rows: Array<[number, number]>): { results: Array<{ toObjectId: number, associationTypes: Array<{ category: string, typeId: number, label: string | null }> }> } {
  const results: Array<{ toObjectId: number, associationTypes: Array<{ category: string, typeId: number, label: string | null }> }> = []
  for (const [toId, typeId] of rows) {
    const type = { category: 'HUBSPOT_DEFINED', typeId, label: typeId === 1 ? 'Primary' : null }
    const last = results[results.length - 1]
    if (last?.toObjectId === toId) last.associationTypes.push(type)
    else results.push({ toObjectId: toId, associationTypes: [type] })
  }
  return { results }
}
