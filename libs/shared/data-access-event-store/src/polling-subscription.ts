import { sleep } from '@tally/shared/util-core';
import { RecordedEvent, SubscribeToAllOptions, Subscription } from './event-store.port';

const retryPauseMs = 1_000;

/**
 * Catch-up-then-live subscription built on readAll: read a batch, hand it over, move the cursor;
 * when caught up, wait for a wake-up (a notification from the store) or the poll interval.
 * Both adapters use it so that their subscriptions behave identically.
 */
export const pollingSubscription = (
  read: (after: bigint | undefined, maxCount: number) => Promise<RecordedEvent[]>,
  waitForNews: (maxWaitMs: number, signal: AbortSignal) => Promise<void>,
  options: SubscribeToAllOptions & { batchSize?: number; pollIntervalMs?: number },
): Subscription => {
  const batchSize = options.maxCount ?? options.batchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const stopping = new AbortController();
  let after = options.after;

  const loop = async (): Promise<void> => {
    while (!stopping.signal.aborted) {
      try {
        const batch = await read(after, batchSize);
        if (stopping.signal.aborted) return;
        options.onHealthy?.();
        if (batch.length === 0) {
          await waitForNews(pollIntervalMs, stopping.signal);
          continue;
        }
        await options.handle(batch);
        after = batch[batch.length - 1].globalPosition;
      } catch (error) {
        options.onError?.(error);
        await sleep(retryPauseMs, stopping.signal);
      }
    }
  };
  const running = loop();
  return {
    stop: async () => {
      stopping.abort();
      await running;
    },
  };
};
