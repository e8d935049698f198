import 'reflect-metadata';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { describe, expect, it } from 'vitest';
import { attributionOpenApi } from './openapi';
import { ParkedUsageController } from './parked-usage.controller';
import { RegistryController } from './registry.controller';

/** Every route the attribution app serves is described, and nothing described is missing. */
const routes = (controller: new (...args: never[]) => unknown) => {
  const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
  return Object.getOwnPropertyNames(controller.prototype)
    .filter((name) => name !== 'constructor')
    .map((name) => controller.prototype[name])
    .filter((handler) => typeof handler === 'function' && Reflect.hasMetadata(PATH_METADATA, handler))
    .map((handler) => {
      const path = `/${[base, String(Reflect.getMetadata(PATH_METADATA, handler))].filter((p) => p && p !== '/').join('/')}`.replace(/:(\w+)/g, '{$1}');
      return `${RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler)].toLowerCase()} ${path}`;
    });
};

describe('attribution OpenAPI', () => {
  it('describes exactly the routes the controllers serve', () => {
    const served = [...routes(RegistryController), ...routes(ParkedUsageController)].filter((r) => !r.endsWith('/openapi.json')).sort();
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
