import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { TallyClientsModule } from './tally-clients.module';
import { UsageReporter } from './usage-reporter.service';

// A NestJS service reporting one function invocation to Tally over NATS, then asking a meter for it.
//   TALLY_API_KEY=tally_… TALLY_CREDENTIAL=tallyadm_… node tools/run-ts.cjs examples/nest-usage-service/src/main.ts
// (NATS_URL, TALLY_NAMESPACE and METER as for Tally; the meter must exist: POST /api/v1/meters.)
const main = async () => {
  const app = await NestFactory.createApplicationContext(
    TallyClientsModule.register({
      servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      namespace: process.env.TALLY_NAMESPACE ?? 'tally',
      apiKey: process.env.TALLY_API_KEY ?? '',
      credential: process.env.TALLY_CREDENTIAL ?? '',
    }),
    { logger: ['error', 'warn'] },
  );
  const reporter = app.get(UsageReporter);
  const answer = await reporter.report([
    {
      specversion: '1.0',
      id: randomUUID(),
      source: '//nest-usage-service',
      type: 'fn.invocation',
      subject: process.env.SUBJECT ?? 'installation-1',
      data: { gbSeconds: '0.5' },
    },
  ]);
  console.log('intake:', JSON.stringify(answer));
  console.log('meter:', JSON.stringify(await reporter.meterQuery({ meter: process.env.METER ?? 'fn_gb_seconds' })));
  await app.close();
};

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
