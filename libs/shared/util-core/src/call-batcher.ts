/**
 * Calls made at about the same time gathered into one: each call queues its input and waits; at the end of the
 * current turn of the event loop (setImmediate), or as soon as `maxBatch` have queued, the queue goes to `run` as
 * one batch, and each caller gets its own result back. Many concurrent workers (a billing run's) then pay one round
 * trip per step together instead of one each; a lone caller waits one turn.
 *
 * `run` answers each input in order, or throws for the whole batch. With `alone` set, a batch of several that
 * failed is run again input by input through `alone`, so that each caller gets its own outcome — one caller's
 * conflict does not fail the others (an append batched into one transaction), and what a batch cannot carry (a
 * reply over the bus's size limit) still gets through.
 *
 * Hand-written: DataLoader caches and keys by value, and gives no per-caller fallback after a failed batch.
 */
export interface BatcherOptions<In, Out> {
  run: (inputs: In[]) => Promise<Out[]>;
  /** A batch's most: inputs, or their total weight. A batch is sent as soon as it is full. */
  maxBatch: number;
  /** An input's share of maxBatch (default 1): what a batch's answer grows with. One heavier than maxBatch goes alone. */
  weight?: (input: In) => number;
  /** Inputs of different keys never share a batch (e.g. tenants). */
  key?: (input: In) => string;
  alone?: (input: In) => Promise<Out>;
  /** Which failures of a batch are retried input by input through `alone` (default: every one). */
  retryAlone?: (error: unknown) => boolean;
  /**
   * How long a batch waits for more after its first input (ms; default: to the end of the current turn of the event
   * loop). Concurrent workers drift apart after a few steps; a short wait gathers them again.
   */
  lingerMs?: number;
}

interface Waiting<In, Out> {
  input: In;
  resolve: (out: Out) => void;
  reject: (error: unknown) => void;
}

interface Queue<In, Out> {
  waiting: Waiting<In, Out>[];
  weight: number;
}

export const callBatcher = <In, Out>(options: BatcherOptions<In, Out>): ((input: In) => Promise<Out>) => {
  const queues = new Map<string, Queue<In, Out>>();

  const send = async (batch: Waiting<In, Out>[]) => {
    let outs: Out[];
    try {
      outs = await options.run(batch.map((w) => w.input));
      if (outs.length !== batch.length) throw new Error(`a batch of ${batch.length} answered ${outs.length}`);
    } catch (error) {
      const alone = options.alone;
      if (!alone || batch.length === 1 || options.retryAlone?.(error) === false)
        return batch.forEach((w) => w.reject(error));
      // Each caller settles whatever `alone` does, even if it throws before returning a promise.
      await Promise.all(batch.map((w) => Promise.resolve(w.input).then(alone).then(w.resolve, w.reject)));
      return;
    }
    batch.forEach((w, i) => w.resolve(outs[i]));
  };

  const flush = (key: string, queue: Queue<In, Out>) => {
    if (queues.get(key) !== queue) return; // sent already (it filled up)
    queues.delete(key);
    void send(queue.waiting);
  };

  return (input) =>
    new Promise<Out>((resolve, reject) => {
      const key = options.key?.(input) ?? '';
      const weight = options.weight?.(input) ?? 1;
      let queue = queues.get(key);
      if (queue && queue.weight + weight > options.maxBatch) flush(key, queue);
      queue = queues.get(key);
      if (!queue) {
        const fresh: Queue<In, Out> = { waiting: [], weight: 0 };
        queues.set(key, (queue = fresh));
        if (options.lingerMs) setTimeout(() => flush(key, fresh), options.lingerMs);
        else setImmediate(() => flush(key, fresh));
      }
      queue.waiting.push({ input, resolve, reject });
      queue.weight += weight;
      if (queue.weight >= options.maxBatch) flush(key, queue);
    });
};
