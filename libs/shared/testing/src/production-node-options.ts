import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The Node options production runs every app with: the Dockerfile's `NODE_OPTIONS`, their one source. Whatever
 * starts a compiled app "as production does" (the freshness benchmarks, e2e/compiled-build) passes these, so what
 * it measures is what the image runs. Today one option: a V8 heap limit of 1 GiB, which also makes V8 collect
 * sooner — its old generation may grow to about 4× the live heap before a collection under the default limit,
 * about 1.6× under this one (docs/operations.md, "Memory").
 */
export const productionNodeOptions = (
  dockerfile = readFileSync(resolve(__dirname, '..', '..', '..', '..', 'Dockerfile'), 'utf8'),
): string[] => {
  const set = /^ENV\s.*\bNODE_OPTIONS="([^"]*)"/m.exec(dockerfile);
  if (!set) throw new Error('the Dockerfile sets no NODE_OPTIONS="…" in an ENV line');
  return set[1].split(/\s+/).filter((option) => option !== '');
};
