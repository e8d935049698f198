import { useEffect, useRef } from 'react';
import { BarChart } from 'echarts/charts';
import { AriaComponent, GridComponent, TooltipComponent } from 'echarts/components';
import { init, use, type ComposeOption } from 'echarts/core';
import type { BarSeriesOption } from 'echarts/charts';
import type { GridComponentOption, TooltipComponentOption } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { formatQuantity } from '../format';
import { breakdownLabel, type MeterUsage } from './usage-table';

// Only what these charts draw: bars, axes, tooltips, an accessible description; SVG keeps text crisp.
use([BarChart, GridComponent, TooltipComponent, AriaComponent, SVGRenderer]);

type Option = ComposeOption<BarSeriesOption | GridComponentOption | TooltipComponentOption>;

const cssColor = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/** The chart's picture of a meter's breakdown (the table beside it holds the exact numbers). */
export const breakdownOption = (meter: MeterUsage): Option => {
  const rows = meter.breakdown.filter((row) => row.value !== null);
  const text = cssColor('--text') || '#222';
  return {
    aria: { enabled: true },
    animation: false,
    backgroundColor: 'transparent',
    textStyle: { color: text },
    grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
    tooltip: { trigger: 'axis', valueFormatter: (value) => formatQuantity(String(value)) },
    xAxis: { type: 'value', axisLabel: { color: text }, splitLine: { lineStyle: { color: cssColor('--rule') } } },
    yAxis: { type: 'category', data: rows.map(breakdownLabel), axisLabel: { color: text } },
    series: [
      {
        type: 'bar',
        name: meter.name,
        // A picture only: the exact decimal strings are in the table.
        data: rows.map((row) => Number(row.value)),
        itemStyle: { color: cssColor('--accent') || '#3559e0' },
        barMaxWidth: 24,
      },
    ],
  };
};

const MeterChart = ({ meter }: { meter: MeterUsage }) => {
  const element = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!element.current) return;
    const chart = init(element.current, undefined, { renderer: 'svg' });
    chart.setOption(breakdownOption(meter));
    const dark = matchMedia('(prefers-color-scheme: dark)');
    const restyle = () => chart.setOption(breakdownOption(meter));
    const resize = () => chart.resize();
    dark.addEventListener('change', restyle);
    window.addEventListener('resize', resize);
    return () => {
      dark.removeEventListener('change', restyle);
      window.removeEventListener('resize', resize);
      chart.dispose();
    };
  }, [meter]);
  const height = 40 + 32 * Math.max(1, meter.breakdown.length);
  return (
    <figure className="chart">
      <figcaption>{meter.name}</figcaption>
      <div ref={element} role="img" aria-label={`${meter.name} by app and environment`} style={{ height }} />
    </figure>
  );
};

/** One bar chart per meter with usage: its total split by app and environment. */
const UsageCharts = ({ meters }: { meters: readonly MeterUsage[] }) => (
  <div className="charts">
    {meters.map((meter) => (
      <MeterChart key={meter.slug} meter={meter} />
    ))}
  </div>
);

export default UsageCharts;
