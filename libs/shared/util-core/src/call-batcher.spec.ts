import { describe, expect, it } from 'vitest';
import { callBatcher } from './call-batcher';

/** A batch function that records each batch it was given and answers each input doubled. */
const recording = () => {
  const batches: number[][] = [];
  return {
    batches,
    run: async (inputs: number[]) => {
      batches.push(inputs);
      return inputs.map((n) => n * 2);
    },
  };
};

describe('callBatcher', () => {
  it('sends calls made in the same turn as one batch, and answers each caller its own', async () => {
    const { batches, run } = recording();
    const double = callBatcher({ run, maxBatch: 100 });
    expect(await Promise.all([1, 2, 3].map(double))).toEqual([2, 4, 6]);
    expect(batches).toEqual([[1, 2, 3]]);
    expect(await double(4)).toBe(8); // a later call: a batch of its own
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it('sends a batch as soon as it is full, by count or by weight', async () => {
    const byCount = recording();
    const double = callBatcher({ run: byCount.run, maxBatch: 2 });
    await Promise.all([1, 2, 3, 4, 5].map(double));
    expect(byCount.batches).toEqual([[1, 2], [3, 4], [5]]);

    const byWeight = recording();
    const weighed = callBatcher({ run: byWeight.run, maxBatch: 10, weight: (n) => n });
    await Promise.all([4, 5, 3, 12, 1].map(weighed));
    // 4 + 5 = 9, + 3 would be 12: sent; 3 then 12 (over on its own: alone); 1.
    expect(byWeight.batches).toEqual([[4, 5], [3], [12], [1]]);
  });

  it('never mixes keys in a batch', async () => {
    const { batches, run } = recording();
    const double = callBatcher({ run, maxBatch: 100, key: (n) => (n % 2 === 0 ? 'even' : 'odd') });
    await Promise.all([1, 2, 3, 4].map(double));
    expect(batches.sort((a, b) => a[0] - b[0])).toEqual([
      [1, 3],
      [2, 4],
    ]);
  });

  it('waits lingerMs for more calls', async () => {
    const { batches, run } = recording();
    const double = callBatcher({ run, maxBatch: 100, lingerMs: 30 });
    const first = double(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = double(2);
    expect(await Promise.all([first, second])).toEqual([2, 4]);
    expect(batches).toEqual([[1, 2]]);
  });

  it('a failed batch fails every caller, unless each can be run alone: then each gets its own outcome', async () => {
    const failing = callBatcher<number, number>({
      run: async () => {
        throw new Error('batch refused');
      },
      maxBatch: 100,
    });
    const outcomes = await Promise.allSettled([1, 2].map(failing));
    expect(outcomes.map((o) => o.status === 'rejected' && (o.reason as Error).message)).toEqual([
      'batch refused',
      'batch refused',
    ]);

    const alone: number[] = [];
    const retried = callBatcher<number, number>({
      run: async () => {
        throw new Error('one input spoils the batch');
      },
      alone: async (n) => {
        alone.push(n);
        if (n === 2) throw new Error('2 is refused');
        return n * 2;
      },
      maxBatch: 100,
    });
    const settled = await Promise.allSettled([1, 2, 3].map(retried));
    expect(settled.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([
      2,
      '2 is refused',
      6,
    ]);
    expect(alone).toEqual([1, 2, 3]);
  });

  it('retries alone only the failures retryAlone names; a caller settles even if alone throws at once', async () => {
    let alone = 0;
    const timedOut = callBatcher<number, number>({
      run: async () => {
        throw new Error('timeout');
      },
      alone: async (n) => ((alone += 1), n),
      retryAlone: (error) => (error as Error).message !== 'timeout',
      maxBatch: 100,
    });
    const outcomes = await Promise.allSettled([1, 2].map(timedOut));
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(alone).toBe(0);

    const throwsAtOnce = callBatcher<number, number>({
      run: async () => {
        throw new Error('batch refused');
      },
      alone: (n) => {
        if (n === 1) throw new Error('thrown, not rejected');
        return Promise.resolve(n);
      },
      maxBatch: 100,
    });
    const settled = await Promise.allSettled([1, 2].map(throwsAtOnce));
    expect(settled.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([
      'thrown, not rejected',
      2,
    ]);
  });

  it('a batch answering the wrong number of results is a failure, not a misattribution', async () => {
    const short = callBatcher<number, number>({ run: async (inputs) => inputs.slice(1), maxBatch: 100 });
    await expect(Promise.all([1, 2].map(short))).rejects.toThrow('a batch of 2 answered 1');
  });
});
