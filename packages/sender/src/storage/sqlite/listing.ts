import type Database from 'better-sqlite3';
import { checkLimit, decodeCursor, encodeCursor } from '../common';
import type { SqlRow } from '../sql-rows';
import type { SqlValue } from './statements';

/**
 * Keyset pagination over one table for the admin listings: `list(table, where, params, limit,
 * cursor, descending)` reads one page in `seq` order (one row more than asked, to know whether
 * another page follows). Each distinct query is prepared once and kept.
 */
export function createLister(db: Database.Database) {
  const listStatements = new Map<string, Database.Statement>();
  function list(table: string, where: string[], params: Record<string, SqlValue>, limit: number, cursor: string | undefined, descending: boolean): { rows: SqlRow[]; nextCursor: string | null } {
    checkLimit(limit);
    const after = decodeCursor(cursor);
    const clauses = [...where];
    if (after !== undefined) clauses.push(descending ? 'seq < @after' : 'seq > @after');
    const sql = `SELECT * FROM ${table}${clauses.length ? ` WHERE ${clauses.join(' AND ')}` : ''} ORDER BY seq ${descending ? 'DESC' : 'ASC'} LIMIT @limit`;
    let statement = listStatements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      listStatements.set(sql, statement);
    }
    const rows = statement.all({ ...params, ...(after !== undefined ? { after } : {}), limit: limit + 1 }) as SqlRow[];
    const more = rows.length > limit;
    if (more) rows.length = limit;
    const last = rows[rows.length - 1];
    return { rows, nextCursor: more && last ? encodeCursor(last.seq as number) : null };
  }
  return list;
}

/** The WHERE clauses and named parameters of a listing's filters (`column` or `column operator` per query key). */
export function filters(query: object, columns: Record<string, string>): { where: string[]; params: Record<string, SqlValue> } {
  const where: string[] = [];
  const params: Record<string, SqlValue> = {};
  for (const [key, column] of Object.entries(columns)) {
    const value = (query as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const [name, operator] = column.split(' ');
    where.push(`${name} ${operator ?? '='} @${key}`);
    params[key] = typeof value === 'boolean' ? (value ? 1 : 0) : (value as SqlValue);
  }
  return { where, params };
}
