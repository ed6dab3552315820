/** A value SQLite stores: the only kinds of parameter statements take. */
export type SqlParam = string | number | null | Uint8Array;
export type Row = Record<string, SqlParam>;
