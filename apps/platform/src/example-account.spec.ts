import { describe, expect, it } from 'vitest';
import { exampleApps, exampleEvents } from './example-account';

describe('the example account’s usage', () => {
  const now = new Date('2026-12-02T13:45:00Z');
  const events = exampleEvents(now, 35);
  const times = events.map((e) => Date.parse(e.time));

  it('runs from the previous month’s first hour to the last whole hour before now', () => {
    expect(new Date(Math.min(...times)).toISOString()).toBe('2026-11-01T00:17:00.000Z');
    expect(new Date(Math.max(...times)).toISOString()).toBe('2026-12-02T12:17:00.000Z');
    // 31 days and 13 hours, 4 events an hour per app, and a storage level a day per app.
    const hours = 31 * 24 + 13;
    expect(events).toHaveLength(hours * 4 * exampleApps.length + 32 * exampleApps.length);
  });

  it('stays inside the lateness horizon: never older than it less two days', () => {
    const late = exampleEvents(new Date('2026-12-31T10:00:00Z'), 35);
    // 1 Nov is 60 days back: the events begin 33 days before now instead, on a whole hour.
    expect(new Date(Math.min(...late.map((e) => Date.parse(e.time)))).toISOString()).toBe('2026-11-28T10:17:00.000Z');
    const short = exampleEvents(new Date('2026-12-31T10:00:00Z'), 3);
    expect(Math.min(...short.map((e) => Date.parse(e.time)))).toBeGreaterThan(Date.parse('2026-12-30T09:59:00Z'));
  });

  it('has stable ids, one per hour, app and kind: sent twice, they are one event each', () => {
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(exampleEvents(now, 35)).toEqual(events);
  });

  it('gives the weather app more compute and key-value reads than Forge gives free a month, the todo app less', () => {
    const november = (type: string, subject: string) =>
      events.filter((e) => e.type === type && e.subject === subject && e.time.startsWith('2026-11'));
    const gbSeconds = (subject: string) =>
      november('forge.function.invocation', subject).reduce(
        (sum, e) => sum + (e.data.memoryMiB / 1024) * (e.data.durationMs / 1000),
        0,
      );
    const gbRead = (subject: string) =>
      november('forge.kvs.read', subject).reduce((sum, e) => sum + Math.max(e.data.bytes, 1000) / 1e9, 0);
    expect(gbSeconds('weather-app')).toBeGreaterThan(200_000);
    expect(gbSeconds('todo-app')).toBeLessThan(200_000);
    expect(gbRead('weather-app')).toBeGreaterThan(0.1);
    expect(gbRead('todo-app')).toBeLessThan(0.1);
  });
});
