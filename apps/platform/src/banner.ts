import type { TallyRuntime } from '@tally/shared/feature-runtime';

/** What `npm start` prints: where the API is and a first request to try. */
export const banner = (url: string, runtime: TallyRuntime): string => `
Tally is running — all four apps on ${url}
  ledger: ${runtime.config.KURRENTDB_URL ? 'KurrentDB' : 'Postgres'}   bus: ${runtime.bus.kind === 'jetstream' ? 'NATS JetStream' : 'in-process (Postgres-backed)'}   tenant: ${runtime.tenant}

Try it:
  curl -s -X POST ${url}/v1/accounts -H 'content-type: application/json' \\
    -d '{"id":"acme","name":"Acme","currency":"USD","timezone":"UTC"}'
  curl -s -X PUT ${url}/v1/subjects/installation-1 -H 'content-type: application/json' -d '{"accountId":"acme"}'
  curl -s -X POST ${url}/v1/events -H 'content-type: application/cloudevents+json' \\
    -d '{"specversion":"1.0","id":"evt-1","source":"//fn-runtime","type":"fn.invocation","subject":"installation-1","data":{}}'
  curl -s "${url}/v1/usage?accountId=acme&windowSize=HOUR"
`;
