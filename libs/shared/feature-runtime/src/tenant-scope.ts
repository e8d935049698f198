import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The tenant the current work acts for. A request acts for its credential's tenant (the request gate
 * admits the caller, TenantScopeInterceptor runs the handler inside `actFor`); background work that
 * spans tenants (the billing run) enters each tenant in turn. Outside any scope — start-up, single-tenant
 * background work, tests that call services directly — it is TALLY_TENANT, the installation's default.
 */
const scope = new AsyncLocalStorage<string>();

export const actFor = <T>(tenant: string, work: () => T): T => scope.run(tenant, work);
export const scopedTenant = (): string | undefined => scope.getStore();
