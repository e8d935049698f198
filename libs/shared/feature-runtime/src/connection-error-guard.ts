import type { Logger } from '@tally/shared/util-telemetry';
import { isConnectionError } from '@tally/shared/data-access-pg-client';

/**
 * pg reports a connection's death as an `error` event on its Client. A client a library holds between two queries
 * may have nobody listening at that instant, and Node then ends the process: a Postgres restart took an attribution
 * process down with it once in CI (57P01, "terminating connection due to administrator command"; five instrumented
 * reruns did not show which holder). Every pool Tally opens, TypeORM's included, now makes clients that always
 * listen (ListeningClient); this guard stays for any holder outside them. The connection is gone either way — its
 * holder's next query fails and is retried, and the pool discards it when it comes back — so a connection error
 * that reaches the top is logged and the process carries on. Anything else still ends it, as Node would.
 */
export const surviveLostPostgresConnections = (log: () => Logger): void => {
  process.on('uncaughtException', (error, origin) => {
    if (isConnectionError(error)) {
      log().warn({ reason: error.message, origin }, 'a Postgres connection ended with nobody listening; carrying on');
      return;
    }
    log().error({ err: error, origin }, 'uncaught exception: stopping');
    console.error(error);
    process.exit(1);
  });
};
