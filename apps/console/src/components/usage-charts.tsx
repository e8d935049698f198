import { useEffect, useMemo, useRef, useState } from 'react';
import { BarChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { init, use, type ComposeOption, type ECharts } from 'echarts/core';
import type { BarSeriesOption } from 'echarts/charts';
import type { GridComponentOption, LegendComponentOption, TooltipComponentOption } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { formatQuantity } from '../format';
import { seriesOf, type UsageSeries } from '../usage-series';
import type { MeterUsage } from './usage-table';

// Only what these charts draw: stacked bars on a time axis, a legend, tooltips, an accessible description. As SVG:
// with these charts' options the canvas renderer took ≈ 700 ms where SVG takes ≈ 165 ms (bench:console, 8,928 values).
use([BarChart, GridComponent, LegendComponent, TooltipComponent, AriaComponent, SVGRenderer]);

type Option = ComposeOption<BarSeriesOption | GridComponentOption | LegendComponentOption | TooltipComponentOption>;

export type WindowSize = 'HOUR' | 'DAY';

/** Where a chart is drawn: the period (its axis, whole), the account's time zone and locale, the windows' size. */
export interface ChartFrame {
  from: string;
  to: string;
  timeZone: string;
  locale: string;
  windowSize: WindowSize;
}

const cssColor = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/** A window's start as the account reads it: "Nov 3" for days, "Nov 3, 14:00 UTC" for hours, in its time zone. */
export const windowLabel = (frame: ChartFrame) => {
  const format = new Intl.DateTimeFormat(frame.locale, {
    timeZone: frame.timeZone,
    month: 'short',
    day: 'numeric',
    // With the zone's name: on the night clocks go back, 01:00 comes twice (01:00 EDT, then 01:00 EST).
    ...(frame.windowSize === 'HOUR' && { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' }),
  });
  return (instant: number | string) => format.format(new Date(instant));
};

/**
 * The chart's picture of a meter's usage over time: one bar per window, stacked by the breakdown's groups. The
 * bars are floats (a picture); the tooltip and the table beside the chart show the exact decimal strings.
 */
export const timeOption = (series: UsageSeries, frame: ChartFrame, stacked = true): Option => {
  const text = cssColor('--text') || '#222';
  const label = windowLabel(frame);
  const quantity = new Intl.NumberFormat(frame.locale, { maximumFractionDigits: 6 });
  const times = series.starts.map((start) => Date.parse(start));
  return {
    aria: { enabled: true },
    animation: false,
    backgroundColor: 'transparent',
    textStyle: { color: text },
    grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
    legend: { type: 'scroll', top: 0, textStyle: { color: text } },
    tooltip: {
      trigger: 'axis',
      formatter: (params) => {
        const points = Array.isArray(params) ? params : [params];
        const at = points[0]?.dataIndex ?? 0;
        const lines = series.groups
          .filter((group) => group.values[at] !== null)
          .map((group) => `${group.label}: ${formatQuantity(group.values[at] as string, frame.locale)}`);
        return [label(times[at]), ...lines].join('<br>');
      },
    },
    xAxis: {
      type: 'time',
      // The whole period, so that quiet days show as quiet rather than the axis shrinking to the busy ones.
      min: Date.parse(frame.from),
      max: Date.parse(frame.to),
      axisLabel: { color: text, formatter: (value: number) => label(value), hideOverlap: true },
      splitLine: { show: false },
    },
    yAxis: {
      type: 'value',
      // The account's locale, as the table's numbers (1.234,5 for de-DE), not the chart library's English.
      axisLabel: { color: text, formatter: (value: number) => quantity.format(value) },
      splitLine: { lineStyle: { color: cssColor('--rule') } },
    },
    series: series.groups.map((group) => ({
      type: 'bar',
      name: group.label,
      // Sums, counts and stored levels add up across groups; a maximum, an average or a unique count does not.
      ...(stacked && { stack: 'usage' }),
      data: group.values.map((value, i) => [times[i], value === null ? null : Number(value)]),
      barMaxWidth: 24,
      large: true,
    })),
  };
};

/** The exact values behind a chart, window by window: built only when opened (a month of hours is thousands). */
const ValuesTable = ({ series, frame }: { series: UsageSeries; frame: ChartFrame }) => {
  const [open, setOpen] = useState(false);
  const label = windowLabel(frame);
  return (
    <details onToggle={(event) => setOpen((event.target as HTMLDetailsElement).open)}>
      <summary>Values by {frame.windowSize === 'HOUR' ? 'hour' : 'day'}</summary>
      {open && (
        <table className="usage windows">
          <thead>
            <tr>
              <th scope="col">Window from</th>
              {series.groups.map((group) => (
                <th key={group.label} scope="col" className="number">
                  {group.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {series.starts.map((start, i) => (
              <tr key={start}>
                <th scope="row">{label(start)}</th>
                {series.groups.map((group) => (
                  <td key={group.label} className="number">
                    {group.values[i] === null ? '—' : formatQuantity(group.values[i] as string, frame.locale)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </details>
  );
};

/** Aggregations whose windows and groups add up to the meter's total: only these are stacked and summed. */
export const additiveAggregations: readonly string[] = ['SUM', 'COUNT', 'TIME_WEIGHTED_SUM'];

const MeterChart = ({ meter, series, frame }: { meter: MeterUsage; series: UsageSeries; frame: ChartFrame }) => {
  const additive = additiveAggregations.includes(meter.aggregation);
  const element = useRef<HTMLDivElement>(null);
  const chart = useRef<ECharts>(undefined);
  // One chart per meter for the page's life: a live refresh replaces its option, it does not rebuild it.
  useEffect(() => {
    if (!element.current) return;
    const instance = init(element.current, undefined, { renderer: 'svg' });
    chart.current = instance;
    const resize = () => instance.resize();
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      instance.dispose();
      chart.current = undefined;
    };
  }, []);
  useEffect(() => {
    const draw = () => chart.current?.setOption(timeOption(series, frame, additive), { notMerge: true });
    draw();
    const dark = matchMedia('(prefers-color-scheme: dark)');
    dark.addEventListener('change', draw);
    return () => dark.removeEventListener('change', draw);
  }, [series, frame, additive]);
  const per = frame.windowSize === 'HOUR' ? 'hour' : 'day';
  return (
    <figure
      className="chart"
      data-meter={meter.slug}
      data-total={additive ? series.total : undefined}
      data-values={series.values}
    >
      <figcaption>
        {meter.name} per {per}
      </figcaption>
      <div
        ref={element}
        role="img"
        aria-label={
          additive
            ? `${meter.name} per ${per}, stacked by ${series.groups.length} groups: ${formatQuantity(series.total, frame.locale)} in all`
            : `${meter.name} per ${per}, ${series.groups.length} groups side by side (${meter.aggregation.toLowerCase()}: windows do not add up)`
        }
        style={{ height: 260 }}
      />
      <ValuesTable series={series} frame={frame} />
    </figure>
  );
};

/**
 * One stacked bar chart per meter with usage: its usage window by window, split by the breakdown. Marks
 * `tally:usage-drawn` (with the number of values drawn) once every chart has its option and a frame has passed:
 * the console benchmark (tools/bench/console.bench.ts) measures from the usage answer's arrival to it.
 */
const UsageCharts = ({
  meters,
  breakdownBy,
  from,
  to,
  timeZone,
  locale,
  windowSize,
}: {
  meters: readonly MeterUsage[];
  breakdownBy: readonly string[];
} & ChartFrame) => {
  const frame = useMemo(() => ({ from, to, timeZone, locale, windowSize }), [from, to, timeZone, locale, windowSize]);
  const drawn = useMemo(
    () => meters.map((meter) => ({ meter, series: seriesOf(meter.windows ?? [], breakdownBy) })),
    [meters, breakdownBy],
  );
  // A parent's effect runs after its children's: every chart has drawn its option when this runs.
  useEffect(() => {
    const values = drawn.reduce((sum, { series }) => sum + series.values, 0);
    const frameId = requestAnimationFrame(() => performance.mark('tally:usage-drawn', { detail: { values } }));
    return () => cancelAnimationFrame(frameId);
  }, [drawn]);
  return (
    <div className="charts">
      {drawn.map(({ meter, series }) => (
        <MeterChart key={meter.slug} meter={meter} series={series} frame={frame} />
      ))}
    </div>
  );
};

export default UsageCharts;
