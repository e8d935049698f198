import { DynamicModule, Module } from '@nestjs/common';
import { ClientsModule, Transport } from '@nestjs/microservices';
import { TALLY_INTAKE, TALLY_NAMESPACE, TALLY_QUERIES } from './tokens';
import { UsageReporter } from './usage-reporter.service';

export interface TallyConnection {
  /** NATS servers Tally's apps use, e.g. nats://nats:4222. */
  servers: string | string[];
  /** Tally's namespace (TALLY_NAMESPACE, `tally` by default): the prefix of its subjects. */
  namespace: string;
  /** A producer API key (`tally_…`): intake. */
  apiKey: string;
  /** An admin or billing-viewer credential (`tallyadm_…`): the meter query. */
  credential: string;
  /**
   * Where answers come back (`<inboxPrefix>.…`): give each service its own and allow its NATS user to
   * subscribe only there — a user allowed `_INBOX.>` could read every other client's answers.
   */
  inboxPrefix?: string;
  /** NATS user and password, when the server asks for them. */
  user?: string;
  pass?: string;
}

/**
 * Two stock NestJS NATS clients (`ClientProxy`, `Transport.NATS`), one per credential: every message a client
 * sends carries its `Authorization` header (the clients' `headers` option). Nothing Tally-specific is needed:
 * Tally opens Nest's `{pattern, data, id}` envelope and answers in `{id, response | err}`.
 */
@Module({})
export class TallyClientsModule {
  static register(tally: TallyConnection): DynamicModule {
    const client = (name: symbol, token: string) => ({
      name,
      transport: Transport.NATS as const,
      options: {
        servers: tally.servers,
        user: tally.user,
        pass: tally.pass,
        inboxPrefix: tally.inboxPrefix,
        headers: { Authorization: `Bearer ${token}` },
      },
    });
    return {
      module: TallyClientsModule,
      imports: [ClientsModule.register([client(TALLY_INTAKE, tally.apiKey), client(TALLY_QUERIES, tally.credential)])],
      providers: [{ provide: TALLY_NAMESPACE, useValue: tally.namespace }, UsageReporter],
      exports: [UsageReporter],
    };
  }
}
