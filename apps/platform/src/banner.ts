import type { TallyRuntime } from '@tally/shared/feature-runtime';

/** What `npm start` prints: where the API is, the credentials to use, and first requests to try. */
export const banner = (
  url: string,
  runtime: TallyRuntime,
  credentials: { adminToken?: string; apiKey: string },
  catalog?: string,
  example?: string,
): string => `
Tally is running — all four apps on ${url}
  ledger: ${runtime.config.KURRENTDB_URL ? 'KurrentDB' : 'Postgres'}   bus: ${runtime.bus.kind === 'jetstream' ? 'NATS JetStream' : 'in-process (Postgres-backed)'}   default tenant: ${runtime.config.TALLY_TENANT}
  ${catalog ? `loaded ${catalog}` : 'no catalog loaded (TALLY_CATALOG=forge npm start loads the Forge example meters and plan)'}${example ? `\n  ${example}` : ''}

Console: ${url}/   (sign in with TALLY_ADMIN_TOKEN below)${example?.startsWith('example account:') ? `   the example account: ${url}/accounts/example` : ''}

API reference: ${url}/docs   (every route; "Authorize" with a token below to try them)   OpenAPI: ${url}/openapi.json

Credentials (kept in ${runtime.config.TALLY_DATA_DIR}):
  export TALLY_ADMIN_TOKEN=${credentials.adminToken ?? '<the TALLY_ADMIN_TOKEN you set>'}   # admin endpoints
  export TALLY_API_KEY=${credentials.apiKey}   # intake (development key: any source)

Try it:
  curl -s -X POST ${url}/v1/plans -H "authorization: Bearer $TALLY_ADMIN_TOKEN" -H 'content-type: application/json' \\
    -d '{"id":"payg","name":"Pay as you go","currency":"USD"}'
  curl -s -X POST ${url}/v1/accounts -H "authorization: Bearer $TALLY_ADMIN_TOKEN" -H 'content-type: application/json' \\
    -d '{"id":"acme","name":"Acme","currency":"USD","timezone":"UTC"}'
  curl -s -X POST ${url}/v1/subscriptions -H "authorization: Bearer $TALLY_ADMIN_TOKEN" -H 'content-type: application/json' \\
    -d '{"id":"acme-payg","accountId":"acme","planId":"payg","startsAt":"2026-01-01T00:00:00Z"}'
  curl -s -X PUT ${url}/v1/subjects/installation-1 -H "authorization: Bearer $TALLY_ADMIN_TOKEN" -H 'content-type: application/json' -d '{"accountId":"acme"}'
  curl -s -X POST ${url}/v1/events -H "authorization: Bearer $TALLY_API_KEY" -H 'content-type: application/cloudevents+json' \\
    -d '{"specversion":"1.0","id":"evt-1","source":"//fn-runtime","type":"fn.invocation","subject":"installation-1","data":{}}'
  curl -s "${url}/v1/usage?accountId=acme&windowSize=HOUR" -H "authorization: Bearer $TALLY_ADMIN_TOKEN"
  curl -s "${url}/v1/accounts/acme/upcoming-invoice" -H "authorization: Bearer $TALLY_ADMIN_TOKEN"
`;
