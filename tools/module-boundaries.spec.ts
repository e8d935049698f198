import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');

/** The lint target enforces the architecture; this proves the rule is live, not silently skipped. */
describe('module boundaries', () => {
  let eslint: ESLint;
  beforeAll(() => {
    // The rule reads Nx's project graph; without it the rule is skipped with a mere warning.
    execFileSync(process.execPath, [resolve(root, 'node_modules/nx/dist/bin/nx.js'), 'show', 'projects'], {
      cwd: root,
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
    });
    eslint = new ESLint({ cwd: root });
  }, 60_000);

  const problems = async (file: string, code: string) =>
    (await eslint.lintText(code, { filePath: resolve(root, file) }))[0].messages
      .filter((m) => m.ruleId === '@nx/enforce-module-boundaries')
      .map((m) => m.message);

  it.each([
    [
      'libs/ingestion/domain/src/probe.ts',
      "import { Injectable } from '@nestjs/common';\nexport const x = Injectable;\n",
      /not allowed to import "@nestjs\/common"/,
    ],
    [
      'libs/attribution/domain/src/probe.ts',
      "import { Pool } from 'pg';\nexport const x = Pool;\n",
      /not allowed to import "pg"/,
    ],
    [
      'libs/ingestion/feature-intake/src/probe.ts',
      "import { attribute } from '@tally/attribution/domain';\nexport const x = attribute;\n",
      /scope:ingestion/,
    ],
    [
      'libs/ingestion/domain/src/probe.ts',
      "import { PostgresBus } from '@tally/shared/data-access-messaging';\nexport const x = PostgresBus;\n",
      /type:domain/,
    ],
  ])('refuses %s importing across a boundary', async (file, code, message) => {
    const found = await problems(file, code);
    expect(found.join('\n')).toMatch(message);
  });

  it('allows a feature to use its own domain and the contracts', async () =>
    expect(
      await problems(
        'libs/attribution/feature-attribution/src/probe.ts',
        "import { attribute } from '@tally/attribution/domain';\nimport { usageRecordedType } from '@tally/contracts/usage';\nexport const x = [attribute, usageRecordedType];\n",
      ),
    ).toEqual([]));
});
