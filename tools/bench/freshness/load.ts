import { bench, loadSubject } from './setup';

export interface LoadOutcome {
  accepted: number;
  /** Requests answered other than 200 (429/503 backpressure, errors), and requests that failed outright. */
  refused: number;
  requests: number;
  /** From the first request sent to the last answer received. */
  seconds: number;
  /** Requests that left later than their slot by more than a second: the generator or intake fell behind. */
  late: number;
}

/** One batch of usage events as the request body, built as text: at 10,000 events/s JSON.stringify costs a core's share. */
const batchBody = (request: number, size: number): string => {
  const time = new Date().toISOString();
  const events: string[] = [];
  for (let i = 0; i < size; i++)
    events.push(
      `{"specversion":"1.0","id":"load-${request}-${i}","source":"${bench.source}","type":"${bench.loadType}","subject":"${loadSubject(request * size + i)}","time":"${time}","data":{"units":"1"}}`,
    );
  return `[${events.join(',')}]`;
};

/**
 * Sends batches of `batch` events to POST /v1/events at `rate` events/s for `seconds`: batch n leaves at
 * n · batch / rate after the start, so the rate holds whatever the answers take, up to `maxInFlight` requests at
 * once — beyond that the load waits (intake is the bound), sends nothing after its window, and the achieved
 * rate says so.
 */
export const runLoad = async (options: {
  url: string;
  apiKey: string;
  rate: number;
  seconds: number;
  batch: number;
  maxInFlight?: number;
  /** Called with the events accepted so far after each answer (for progress lines). */
  onAnswer?: (accepted: number) => void;
}): Promise<LoadOutcome> => {
  const { url, apiKey, rate, seconds, batch, maxInFlight = 16 } = options;
  const outcome: LoadOutcome = { accepted: 0, refused: 0, requests: 0, seconds: 0, late: 0 };
  const total = Math.floor((rate * seconds) / batch);
  const started = performance.now();
  const end = started + seconds * 1_000;
  const inFlight = new Set<Promise<void>>();
  for (let n = 0; n < total; n++) {
    const slot = started + (n * batch * 1_000) / rate;
    const wait = slot - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    // The load's window is its length, not its count: behind schedule, the batches left are not sent.
    if (performance.now() > end) break;
    if (performance.now() - slot > 1_000) outcome.late++;
    const request = send(url, apiKey, batchBody(n, batch), outcome, options.onAnswer);
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  }
  await Promise.all(inFlight);
  outcome.seconds = (performance.now() - started) / 1_000;
  return outcome;
};

const send = async (
  url: string,
  apiKey: string,
  body: string,
  outcome: LoadOutcome,
  onAnswer?: (accepted: number) => void,
): Promise<void> => {
  outcome.requests++;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json', authorization: `Bearer ${apiKey}` },
      body,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (response.status === 200) outcome.accepted += (JSON.parse(text) as { accepted: number }).accepted;
    else outcome.refused++;
  } catch {
    outcome.refused++;
  }
  onAnswer?.(outcome.accepted);
};
