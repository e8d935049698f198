import { describe, expect, it } from 'vitest';
import { seriesOf } from '../usage-series';
import { timeOption, windowLabel, type ChartFrame } from './usage-charts';

const frame: ChartFrame = {
  from: '2026-11-01T00:00:00.000Z',
  to: '2026-12-01T00:00:00.000Z',
  timeZone: 'Australia/Sydney',
  locale: 'en-US',
  windowSize: 'HOUR',
};
const series = seriesOf(
  [
    { windowStart: '2026-11-01T00:00:00.000Z', windowEnd: '2026-11-01T01:00:00.000Z', app: 'a', value: '0.1' },
    { windowStart: '2026-11-01T00:00:00.000Z', windowEnd: '2026-11-01T01:00:00.000Z', app: 'b', value: '2' },
    {
      windowStart: '2026-11-01T05:00:00.000Z',
      windowEnd: '2026-11-01T06:00:00.000Z',
      app: 'b',
      value: '123456.000001',
    },
  ],
  ['app'],
);

describe('usage over time, drawn', () => {
  const option = timeOption(series, frame) as unknown as {
    xAxis: { min: number; max: number };
    series: { name: string; stack: string; data: [number, number | null][] }[];
    tooltip: { formatter: (params: { dataIndex: number }[]) => string };
  };

  it('stacks one series per group on the same windows, over the whole period', () => {
    expect(option.series.map((s) => [s.name, s.stack])).toEqual([
      ['a', 'usage'],
      ['b', 'usage'],
    ]);
    expect(option.series[0].data).toEqual([
      [Date.parse('2026-11-01T00:00:00.000Z'), 0.1],
      [Date.parse('2026-11-01T05:00:00.000Z'), null],
    ]);
    expect([option.xAxis.min, option.xAxis.max]).toEqual([Date.parse(frame.from), Date.parse(frame.to)]);
  });

  it('tells the exact values in the tooltip, the window in the account’s zone', () =>
    // 05:00 UTC is 16:00 in Sydney (UTC+11 in November).
    expect(option.tooltip.formatter([{ dataIndex: 1 }])).toBe('Nov 1, 16:00 GMT+11<br>b: 123,456.000001'));

  it('tells the two 01:00s apart on the night the clocks go back', () => {
    const label = windowLabel({ ...frame, timeZone: 'America/New_York' });
    expect([label('2026-11-01T05:00:00.000Z'), label('2026-11-01T06:00:00.000Z')]).toEqual([
      'Nov 1, 01:00 EDT',
      'Nov 1, 01:00 EST',
    ]);
  });

  it('stacks only what adds up: a maximum is drawn side by side', () => {
    const unstacked = timeOption(series, frame, false) as unknown as { series: { stack?: string }[] };
    expect(unstacked.series.map((s) => s.stack)).toEqual([undefined, undefined]);
  });

  it('labels the value axis in the account’s locale', () => {
    const german = timeOption(series, { ...frame, locale: 'de-DE' }) as unknown as {
      yAxis: { axisLabel: { formatter: (value: number) => string } };
    };
    expect(german.yAxis.axisLabel.formatter(1234.5)).toBe('1.234,5');
  });

  it('labels days without hours', () =>
    expect(windowLabel({ ...frame, windowSize: 'DAY' })('2026-11-01T13:30:00.000Z')).toBe('Nov 2'));
});
