import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { productionNodeOptions } from '@tally/shared/testing';

const root = resolve(__dirname, '..');
const packageJson = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
const mib = 1024 * 1024;

/** V8's heap limit, in MiB, of a Node process started with these options. */
const heapLimitWith = async (options: string[]): Promise<number> => {
  const { stdout } = await promisify(execFile)(process.execPath, [
    ...options,
    '-e',
    'process.stdout.write(String(require("node:v8").getHeapStatistics().heap_size_limit))',
  ]);
  return Number(stdout) / mib;
};

describe('the Node options production runs with', () => {
  it('are the Dockerfile ENV line’s NODE_OPTIONS: a V8 heap limit of 1 GiB', () => {
    expect(productionNodeOptions()).toEqual(['--max-old-space-size=1024']);
    expect(productionNodeOptions('FROM node\nENV A=1 NODE_OPTIONS="--a --b=2"\n')).toEqual(['--a', '--b=2']);
    expect(() => productionNodeOptions('FROM node\nCMD ["node", "dist/main.js"]\n')).toThrow(/sets no NODE_OPTIONS/);
  });

  it('give a process a heap limit of 1 GiB (and its young generation), where the default here is larger', async () => {
    const limited = await heapLimitWith(productionNodeOptions());
    expect(limited).toBeGreaterThanOrEqual(1024);
    expect(limited).toBeLessThan(1024 + 128);
    // The default follows the machine's memory (up to 4 GiB): on one with more than 4 GiB it is above the limit set.
    if (totalmem() > 4 * 1024 * mib) expect(await heapLimitWith([])).toBeGreaterThan(limited);
  });

  it('`npm start` (embedded, from sources) runs with them too', () => {
    expect(packageJson.scripts.start).toBe(
      `node ${productionNodeOptions().join(' ')} tools/run-ts.cjs apps/platform/src/main.ts`,
    );
  });
});
