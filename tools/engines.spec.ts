import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { satisfies } from 'semver';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');
const lock = JSON.parse(readFileSync(resolve(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[]; optional?: boolean }>;
};
const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));

/**
 * `npm ci` prints no engine warning: every locked package admits the Node.js this runs on (and the Node
 * versions Tally declares). A dependency upgraded to one that wants a newer Node fails here, not in a user's
 * terminal (the `overrides` in package.json pin three transitive ones to their Node 18+ releases).
 */
describe('Node.js engines', () => {
  const wanting = (version: string) =>
    Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.engines && !Array.isArray(p.engines) && p.engines.node)
      .filter(([, p]) => !satisfies(version, (p.engines as { node: string }).node, { includePrerelease: true }))
      .map(([path, p]) => `${path}@${p.version} wants node ${(p.engines as { node: string }).node}`);

  it(`every locked package admits this Node.js (${process.version})`, () => {
    expect(wanting(process.version)).toEqual([]);
  });

  it('every locked package admits the oldest Node.js Tally declares, and .nvmrc is one Tally declares', () => {
    expect(pkg.engines.node).toBe('^20.19.0 || >=22.12.0');
    expect(wanting('20.19.0')).toEqual([]);
    const nvmrc = readFileSync(resolve(root, '.nvmrc'), 'utf8').trim();
    expect(satisfies(`${nvmrc}.0.0`, pkg.engines.node)).toBe(true);
  });
});
