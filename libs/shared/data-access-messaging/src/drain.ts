/** How long close() waits for handlers in hand before giving up on them (they will be redelivered). */
export const drainTimeoutMs = 10_000;

export const drainWithin = async (timeoutMs: number, stops: Promise<void>[]): Promise<void> => {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(stops), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
};
