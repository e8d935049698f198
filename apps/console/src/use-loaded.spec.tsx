import { act } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Loaded } from './api';
import { render } from './test-render';
import { useLoaded } from './use-loaded';

const Report = ({ load }: { load: () => Promise<Loaded<string>> }) => {
  const report = useLoaded('report', load, {
    refreshMs: 1_000,
    refreshWhile: (answer) => answer.state !== 'ready' || answer.data === 'running',
  });
  return <p>{report.state === 'ready' ? report.data : report.state}</p>;
};

describe('useLoaded', () => {
  afterEach(() => vi.useRealTimers());

  it('asks again while refreshWhile holds, then stops', async () => {
    vi.useFakeTimers();
    const answers = ['running', 'running', 'completed'];
    let asked = 0;
    const load = () => Promise.resolve<Loaded<string>>({ state: 'ready', data: answers[Math.min(asked++, 2)] });
    const page = render(<Report load={load} />);
    await act(() => vi.advanceTimersByTimeAsync(10_000));
    expect([page.textContent, asked]).toEqual(['completed', 3]);
  });

  it('shows a request that failed as a refusal in words, and keeps asking', async () => {
    vi.useFakeTimers();
    let asked = 0;
    const load = () => {
      asked += 1;
      return Promise.reject(new TypeError('Failed to fetch'));
    };
    const page = render(<Report load={load} />);
    await act(() => vi.advanceTimersByTimeAsync(2_500));
    expect(page.textContent).toBe('refused');
    expect(asked).toBe(3);
  });
});
