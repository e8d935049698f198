/**
 * The JSONPath subset meters use to read `data` (as OpenMeter's valueProperty and groupBy do):
 * `$.a.b`, `$.a[0]`, `$['key with spaces']`, `$["a"].b`. No filters, wildcards or recursion: a path
 * names exactly one value, so a meter reads the same thing every time.
 */
export type PathSegment = string | number;

export const parseJsonPath = (path: string): { ok: true; segments: PathSegment[] } | { ok: false; error: string } => {
  if (!path.startsWith('$')) return { ok: false, error: 'a JSONPath starts with $' };
  const segments: PathSegment[] = [];
  let i = 1;
  while (i < path.length) {
    if (path[i] === '.') {
      const match = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(path.slice(i + 1));
      if (!match) return { ok: false, error: `expected a name after '.' at position ${i + 1}` };
      segments.push(match[0]);
      i += 1 + match[0].length;
    } else if (path[i] === '[') {
      const rest = path.slice(i);
      const index = /^\[(\d+)\]/.exec(rest);
      const quoted = /^\[(['"])((?:(?!\1)[^\\]|\\.)*)\1\]/.exec(rest);
      if (index) {
        segments.push(Number(index[1]));
        i += index[0].length;
      } else if (quoted) {
        segments.push(quoted[2].replace(/\\(.)/g, '$1'));
        i += quoted[0].length;
      } else return { ok: false, error: `expected [index] or ['name'] at position ${i}` };
    } else return { ok: false, error: `unexpected '${path[i]}' at position ${i}` };
  }
  if (segments.length === 0) return { ok: false, error: 'the path must name a property of data, e.g. $.tokens' };
  return { ok: true, segments };
};

/** The value at the path, or undefined when any step is missing. */
export const readPath = (data: unknown, segments: readonly PathSegment[]): unknown => {
  let current: unknown = data;
  for (const segment of segments) {
    if (typeof segment === 'number') {
      if (!Array.isArray(current) || segment >= current.length) return undefined;
      current = current[segment];
    } else {
      if (
        typeof current !== 'object' ||
        current === null ||
        Array.isArray(current) ||
        !Object.prototype.hasOwnProperty.call(current, segment)
      )
        return undefined;
      current = (current as Record<string, unknown>)[segment];
    }
  }
  return current;
};

const parsedPaths = new Map<string, PathSegment[]>();

/** The segments of a path already validated (a stored meter's); parsed once, then cached. */
export const segmentsOf = (path: string): PathSegment[] => {
  let segments = parsedPaths.get(path);
  if (!segments) {
    const parsed = parseJsonPath(path);
    if (!parsed.ok) throw new Error(`invalid JSONPath reached a meter: ${path}`);
    segments = parsed.segments;
    parsedPaths.set(path, segments);
  }
  return segments;
};

/** The path as Postgres' `#>>` operator takes it (a text array); none for an absent path. */
export const pathTextArray = (path: string | null): string[] => (path ? segmentsOf(path).map(String) : []);
