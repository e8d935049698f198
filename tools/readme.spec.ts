import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DynamicModule } from '@nestjs/common';
import { AggregationModule } from '@tally/aggregation/feature-usage';
import { AttributionModule } from '@tally/attribution/feature-attribution';
import { IngestionModule } from '@tally/ingestion/feature-intake';
import { InvoicingModule } from '@tally/invoicing/feature-billing';
import { RuntimeModule } from '@tally/shared/feature-runtime';
import { servedRoutes } from '@tally/shared/testing';
import { tallySchema } from '@tally/shared/util-config';

const readme = readFileSync(resolve(__dirname, '..', 'README.md'), 'utf8');
const section = (heading: string) => {
  const start = readme.indexOf(`${heading}\n`);
  const end = readme.indexOf('\n## ', start + heading.length);
  return readme.slice(start, end < 0 ? undefined : end);
};

/** Every route the four apps and the shared runtime serve, as `METHOD /path/{}` (parameter names dropped). */
const served = (): Set<string> => {
  const modules: DynamicModule[] = [
    IngestionModule.register(),
    AttributionModule.register(),
    AggregationModule.register(),
    InvoicingModule.register(),
    RuntimeModule.forRoot({} as never, []),
  ];
  const routes = modules.flatMap((m) =>
    (m.controllers ?? []).flatMap((c) => servedRoutes(c as new (...args: never[]) => unknown)),
  );
  return new Set(routes.map((r) => normalise(r.toUpperCase().split(' ')[0], r.split(' ')[1])));
};
const normalise = (method: string, path: string) => `${method} ${path.replace(/\{\w+\}/g, '{}')}`;

/**
 * The routes a README cell names: `POST/GET /v1/budgets[/{id}]`, `POST /v1/invoices/{id}/finalize\|void`,
 * `GET /v1/credit-notes[?accountId\|/{id}]`, `GET /v1/usage?period` — methods split on `/`, optional parts
 * in brackets taken and left out, `\|` alternatives each taken, the query dropped.
 */
const routesIn = (cell: string): string[] => {
  const match = /^((?:GET|POST|PUT|DELETE|PATCH)(?:\/(?:GET|POST|PUT|DELETE|PATCH))*) (\/\S+)$/.exec(cell);
  if (!match) return [];
  const expand = (path: string): string[] => {
    const optional = /\[([^\]]*)\]/.exec(path);
    if (optional) {
      const [before, after] = [path.slice(0, optional.index), path.slice(optional.index + optional[0].length)];
      return [
        ...expand(before + after),
        ...optional[1].split('\\|').flatMap((alternative) => expand(before + alternative + after)),
      ];
    }
    const bare = path.split('?')[0];
    const last = bare.lastIndexOf('/');
    return bare
      .slice(last + 1)
      .split('\\|')
      .map((segment) => bare.slice(0, last + 1) + segment);
  };
  const paths = [...new Set(expand(match[2]))];
  return match[1].split('/').flatMap((method) => paths.map((path) => normalise(method, path)));
};

describe('README', () => {
  it.each(Object.entries(tallySchema))('documents %s with its default', (name, spec) => {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
    expect(row).toBeDefined();
    expect(row).toContain('default' in spec ? `\`${spec.default}\`` : '| — |');
  });

  it('lists no variable the apps do not read', () => {
    const listed = [...section('## Configuration').matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(listed.length).toBeGreaterThan(20);
    expect(listed.filter((name) => !(name in tallySchema))).toEqual([]);
  });

  it('lists every route the apps serve, and none they do not', () => {
    const cells = [...section('### Endpoints').matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    const listed = new Set(cells.flatMap(routesIn));
    const routes = served();
    expect([...routes].filter((r) => !listed.has(r)).sort()).toEqual([]);
    expect([...listed].filter((r) => !routes.has(r)).sort()).toEqual([]);
  });

  it('states the two commands', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm ci && npm test');
  });
});
