/**
 * How long invoicing's batched calls — ledger reads and appends, usage requests, invoice lists — wait for others
 * after the first (ms). A billing run's concurrent invoices drift apart after a few steps: waiting only until the end
 * of the event loop's turn gathered 3–4 per batch; 5 ms fills them (64 in flight: 330 → 896 invoices/s; 10 ms: 745).
 * docs/benchmarks.md, "Billing in batches". A lone call (the API's) waits as long: small beside its round trips.
 */
export const billingBatchLingerMs = 5;
