import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { servedRoutes } from '@tally/shared/testing';
import { attributionOpenApi } from './openapi';
import { ParkedUsageController } from './parked-usage.controller';
import { RegistryController } from './registry.controller';

/** Every route the attribution app serves is described, and nothing described is missing. */
describe('attribution OpenAPI', () => {
  it('describes exactly the routes the controllers serve', () => {
    const served = [...servedRoutes(RegistryController), ...servedRoutes(ParkedUsageController)]
      .filter((r) => !r.endsWith('/openapi.json'))
      .sort();
    const described = Object.entries(attributionOpenApi.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`))
      .sort();
    expect(described).toEqual(served);
  });

  it('answers every documented operation with problem details for refusals', () => {
    for (const operations of Object.values(attributionOpenApi.paths)) {
      for (const operation of Object.values(operations) as { responses: Record<string, unknown> }[]) {
        expect(operation.responses['401']).toEqual({ $ref: '#/components/responses/Problem' });
      }
    }
  });
});
