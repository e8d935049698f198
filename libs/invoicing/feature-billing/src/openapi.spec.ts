import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { servedRoutes } from '@tally/shared/testing';
import { InvoicesController } from './invoices.controller';
import { invoicingOpenApi } from './openapi';
import { PlansController } from './plans.controller';
import { ReconciliationsController } from './reconciliations.controller';

/** Every route the invoicing app serves is described, and nothing described is missing. */
describe('invoicing OpenAPI', () => {
  it('describes exactly the routes the controllers serve', () => {
    const served = [
      ...servedRoutes(PlansController),
      ...servedRoutes(InvoicesController),
      ...servedRoutes(ReconciliationsController),
    ]
      .filter((r) => !r.endsWith('/openapi.json'))
      .sort();
    const described = Object.entries(invoicingOpenApi.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`))
      .sort();
    expect(described).toEqual(served);
  });

  it('answers every documented operation with problem details for refusals', () => {
    for (const operations of Object.values(invoicingOpenApi.paths))
      for (const operation of Object.values(operations) as { responses: Record<string, unknown> }[])
        expect(operation.responses['401']).toEqual({ $ref: '#/components/responses/Problem' });
  });

  it('resolves every schema reference', () => {
    const refs = [...JSON.stringify(invoicingOpenApi).matchAll(/"#\/components\/(schemas|responses)\/(\w+)"/g)].map(
      ([, kind, name]) => [kind, name] as const,
    );
    for (const [kind, name] of refs)
      expect(
        (invoicingOpenApi.components as Record<string, Record<string, unknown>>)[kind][name],
        `${kind}/${name}`,
      ).toBeDefined();
  });
});
