import { ExactDecimal, sleep } from '@tally/shared/util-core';
import { admin, Check } from './checks';
import { Cluster } from './cluster';
import { Producer } from './producer';
import { prices, Setup } from './setup';

/**
 * A billing run, then each account's invoice for the period against what a fault-free run bills: the
 * producer's exact quantities times the unit prices, the total rounded once, half-even, to cents.
 */
export const checkInvoices = async (cluster: Cluster, producer: Producer, setup: Setup): Promise<Check[]> => {
  const [invoicing] = cluster.of('invoicing');
  for (let attempt = 0; ; attempt++) {
    const run = await admin(invoicing.url, '/v1/admin/billing-runs', { method: 'POST' });
    if (run.status >= 200 && run.status < 300 && run.body.failed === 0) break;
    if (attempt > 60)
      return [{ name: 'invoices', ok: false, detail: `billing run: ${run.status} ${JSON.stringify(run.body)}` }];
    await sleep(1_000);
  }
  const checks: Check[] = [];
  for (const [account, usage] of producer.expected()) {
    const expected = {
      gbSeconds: usage.gbSeconds.toFixed(),
      invocations: String(usage.events),
      // Σ quantity × unit price, exact; rounded once at the total.
      total: usage.gbSeconds
        .times(prices.gbSecond)
        .plus(new ExactDecimal(usage.events).times(prices.invocation))
        .toDecimalPlaces(2, ExactDecimal.ROUND_HALF_EVEN)
        .toFixed(2),
    };
    let actual: { gbSeconds?: string; invocations?: string; total?: string } = {};
    for (let attempt = 0; attempt < 30; attempt++) {
      const listed = (await admin(invoicing.url, `/v1/invoices?accountId=${account}`)).body?.invoices as
        { invoiceId: string; period: { label: string } }[] | undefined;
      const found = listed?.find((i) => i.period.label === setup.period.label);
      if (found) {
        const invoice = (await admin(invoicing.url, `/v1/invoices/${found.invoiceId}`)).body as {
          total: string;
          lines: { meter: string; quantity: string }[];
        };
        const quantity = (meter: string) =>
          invoice.lines
            .filter((l) => l.meter === meter)
            .reduce((sum, l) => sum.plus(l.quantity), new ExactDecimal(0))
            .toFixed();
        actual = { gbSeconds: quantity('gb_seconds'), invocations: quantity('invocations'), total: invoice.total };
        break;
      }
      await sleep(1_000);
    }
    const ok =
      actual.gbSeconds === expected.gbSeconds &&
      actual.invocations === expected.invocations &&
      actual.total === expected.total;
    checks.push({
      name: `invoice ${account}`,
      ok,
      detail: ok
        ? `${expected.total} USD (${expected.invocations} invocations, ${expected.gbSeconds} GB-s)`
        : `got ${JSON.stringify(actual)}, fault-free ${JSON.stringify(expected)}`,
    });
  }
  return checks;
};
