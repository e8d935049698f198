import { describe, expect, it } from 'vitest';
import { seriesOf } from './usage-series';

const row = (windowStart: string, app: string | null, value: string) => ({
  windowStart,
  windowEnd: windowStart.replace('T00', 'T01'),
  app,
  value,
});

describe('usage over time as stacked series', () => {
  it('aligns each group on every window, null where it had no usage', () =>
    expect(
      seriesOf(
        [
          row('2026-11-01T00:00:00.000Z', 'app-1', '1.5'),
          row('2026-11-01T00:00:00.000Z', 'app-2', '2'),
          row('2026-11-03T00:00:00.000Z', 'app-1', '0.25'),
        ],
        ['app'],
      ),
    ).toEqual({
      starts: ['2026-11-01T00:00:00.000Z', '2026-11-03T00:00:00.000Z'],
      groups: [
        { label: 'app-1', values: ['1.5', '0.25'] },
        { label: 'app-2', values: ['2', null] },
      ],
      // 1.5 + 2 + 0.25, exactly
      total: '3.75',
      values: 3,
    }));

  it('sorts windows by start whatever order they arrive in, and labels subjects without the attribute', () => {
    const series = seriesOf(
      [row('2026-11-02T00:00:00.000Z', null, '1'), row('2026-11-01T00:00:00.000Z', null, '2')],
      ['app'],
    );
    expect(series.starts).toEqual(['2026-11-01T00:00:00.000Z', '2026-11-02T00:00:00.000Z']);
    expect(series.groups).toEqual([{ label: '—', values: ['2', '1'] }]);
  });

  it('sums exactly where floats would not: 0.1 + 0.2', () =>
    expect(
      seriesOf([row('2026-11-01T00:00:00.000Z', 'a', '0.1'), row('2026-11-02T00:00:00.000Z', 'a', '0.2')], ['app'])
        .total,
    ).toBe('0.3'));

  it('takes the attributes from the rows when the breakdown is the default one', () =>
    expect(
      seriesOf(
        [{ windowStart: '2026-11-01T00:00:00.000Z', windowEnd: 'x', app: 'a', environment: 'prod', value: '1' }],
        [],
      ).groups[0].label,
    ).toBe('a · prod'));

  it('has nothing to draw without windows', () =>
    expect(seriesOf([], ['app'])).toEqual({ starts: [], groups: [], total: '0', values: 0 }));
});
