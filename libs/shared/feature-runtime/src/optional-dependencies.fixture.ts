// Run by optional-dependencies.spec.ts in a process of its own (a fresh module cache): which of the heavy
// optional clients loading every Tally library pulls in, and which a configured use then loads.
import { S3ObjectStore } from '@tally/shared/data-access-archive';
import { KurrentDbEventStore } from '@tally/shared/data-access-event-store';
import { startTracing } from './index';

const optional = [
  '@kurrent/kurrentdb-client',
  '@aws-sdk/client-s3',
  '@opentelemetry/sdk-node',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/exporter-trace-otlp-http',
];
const loaded = () =>
  optional.filter((name) => Object.keys(require.cache).some((file) => file.includes(`/node_modules/${name}/`)));

const main = async () => {
  const report: Record<string, string[]> = { 'at import': loaded() };
  startTracing('probe', { env: {} });
  report['tracing off'] = loaded();
  if (process.argv[2] === 'use') {
    const tracing = startTracing('probe', { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' } });
    await tracing?.shutdown().catch(() => undefined);
    new S3ObjectStore({ endpoint: 'http://127.0.0.1:9', bucket: 'b', accessKeyId: 'k', secretAccessKey: 's' });
    const kurrent = new KurrentDbEventStore({
      connectionString: 'kurrentdb://127.0.0.1:9?tls=false',
      index: { connectionString: 'postgres://127.0.0.1:9/none', schema: 'none' },
      retentionDays: 1,
    });
    await kurrent.close();
    report['each one used'] = loaded();
  }
  console.log(JSON.stringify(report));
  process.exit(0);
};
void main();
