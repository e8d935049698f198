/**
 * How the CLI prints an answer: a table for people (the default), or the JSON as the API gave it (`--json`,
 * for scripts). Hand-written because it is twenty lines: a table of rows, or of one object's fields.
 */
export const render = (value: unknown, json: boolean): string => {
  if (json) return JSON.stringify(value, null, 2);
  const rows = rowsOf(value);
  if (rows === undefined) return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  if (rows.length === 0) return '(none)';
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cells = rows.map((row) => columns.map((column) => cell(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i].length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
};

/** An answer's rows: an array of objects, the one array inside an object (`{ items: [...] }`), or one object as field/value rows. */
const rowsOf = (value: unknown): Record<string, unknown>[] | undefined => {
  if (Array.isArray(value)) return value.every(isObject) ? value : undefined;
  if (!isObject(value)) return undefined;
  const arrays = Object.entries(value).filter(([, v]) => Array.isArray(v) && v.every(isObject));
  if (arrays.length === 1) return arrays[0][1] as Record<string, unknown>[];
  return Object.entries(value).map(([field, v]) => ({ field, value: v }));
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const cell = (value: unknown): string => {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};
