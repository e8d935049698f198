import { EntityManager } from 'typeorm';

/**
 * Copies of a projection's tables in a schema beside the live one, for a rebuild that no reader sees
 * half done: the copies are filled from the ledger while the live tables keep answering, then
 * `swapIn` replaces the live tables by the copies in one transaction.
 *
 * The copies carry the live tables' own index and constraint names (names are per schema), so after
 * the swap the tables look exactly as the migrations made them and later migrations still find them.
 * Statements waiting on a live table during the swap are re-resolved by name when they get the lock, so
 * they read the new table. Projection tables carry no foreign keys.
 */
export const createShadowTables = async (
  tx: EntityManager,
  live: string,
  shadow: string,
  tables: readonly string[],
): Promise<void> => {
  await tx.query(`create schema if not exists "${shadow}"`);
  for (const table of tables) {
    await tx.query(`drop table if exists "${shadow}"."${table}"`);
    await tx.query(
      `create table "${shadow}"."${table}" (like "${live}"."${table}" including defaults including identity including generated including constraints including storage including comments)`,
    );
    // Primary keys, unique and exclusion constraints by their names (their indexes come with them).
    const constraints: { name: string; definition: string }[] = await tx.query(
      `select conname as name, pg_get_constraintdef(c.oid) as definition from pg_constraint c
        where c.conrelid = format('%I.%I', $1::text, $2::text)::regclass and c.contype in ('p', 'u', 'x') order by c.oid`,
      [live, table],
    );
    for (const { name, definition } of constraints)
      await tx.query(`alter table "${shadow}"."${table}" add constraint "${name}" ${definition}`);
    // Every other index, same name, same definition, on the copy.
    const indexes: { definition: string }[] = await tx.query(
      `select replace(pg_get_indexdef(i.indexrelid), ' ON ' || format('%I.%I', $1::text, $2::text) || ' ', ' ON ' || format('%I.%I', $3::text, $2::text) || ' ') as definition
         from pg_index i
        where i.indrelid = format('%I.%I', $1::text, $2::text)::regclass
          and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)`,
      [live, table, shadow],
    );
    for (const { definition } of indexes) await tx.query(definition);
  }
};

/**
 * In the caller's transaction: the live tables are dropped and the copies moved into the live schema. Refused when a
 * live table's columns are no longer the copy's — a migration ran during the rebuild (a rolling upgrade: a newer
 * process migrated while an older one rebuilt) — as swapping in the copy would drop the new columns and leave the
 * migration recorded as done: the transaction fails, and the runner starts the rebuild again from the tables as they
 * are now.
 */
export const swapInShadowTables = async (
  tx: EntityManager,
  live: string,
  shadow: string,
  tables: readonly string[],
): Promise<void> => {
  for (const table of tables) {
    const liveShape = await shapeOf(tx, live, table);
    const copyShape = await shapeOf(tx, shadow, table);
    if (liveShape !== copyShape)
      throw new Error(
        `rebuild-schema-changed: "${live}"."${table}" is (${liveShape}) but its rebuilt copy is (${copyShape}): a migration ran during the rebuild; it starts again`,
      );
  }
  for (const table of tables) {
    await tx.query(`drop table "${live}"."${table}"`);
    await tx.query(`alter table "${shadow}"."${table}" set schema "${live}"`);
  }
};

/**
 * What a copy made `like` a table must still share with it at the swap, by name: its columns (type, not null), its
 * constraints and its indexes (their definitions without the schema). Defaults are left out: a copied default may
 * name a sequence of the schema it was made in.
 */
const shapeOf = async (tx: EntityManager, schema: string, table: string): Promise<string> => {
  const rows: { part: string }[] = await tx.query(
    `with t as (select format('%I.%I', $1::text, $2::text)::regclass as oid)
     select part from (
       select attname || ' ' || format_type(atttypid, atttypmod) || case when attnotnull then ' not null' else '' end as part
         from pg_attribute, t where attrelid = t.oid and attnum > 0 and not attisdropped
       union all
       select 'constraint ' || conname || ' ' || pg_get_constraintdef(c.oid) from pg_constraint c, t where c.conrelid = t.oid
       union all
       select 'index ' || regexp_replace(pg_get_indexdef(i.indexrelid), ' ON \\S+ ', ' ON ') from pg_index i, t
        where i.indrelid = t.oid) parts
     order by part`,
    [schema, table],
  );
  return rows.map((r) => r.part).join(', ');
};

/** Takes the live tables for the swap: readers and writers wait the few milliseconds it lasts. */
export const lockLiveTables = async (tx: EntityManager, live: string, tables: readonly string[]): Promise<void> => {
  if (tables.length > 0)
    await tx.query(`lock table ${tables.map((t) => `"${live}"."${t}"`).join(', ')} in access exclusive mode`);
};
