/**
 * ECharts with only what the console draws: bar, line and candlestick series on a grid, with
 * tooltips and a legend, on canvas. Colours per theme, each chosen for contrast on its background.
 */
import { BarChart, CandlestickChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, CandlestickChart, GridComponent, TooltipComponent, LegendComponent, CanvasRenderer]);

export { echarts };

export interface Palette {
  text: string;
  muted: string;
  grid: string;
  series: string[];
  up: string;
  down: string;
}

export const palette = (dark: boolean): Palette =>
  dark
    ? { text: '#e8ecf1', muted: '#aab4c3', grid: '#3a4554', series: ['#7db8ff', '#ffb86b', '#8be0a4', '#f39bd1'], up: '#5fd38a', down: '#ff8a80' }
    : { text: '#1a1f2b', muted: '#4a5363', grid: '#d5dae1', series: ['#0b5cad', '#c25e00', '#1c7a3a', '#a3286f'], up: '#1c7a3a', down: '#b3261e' };

/** Axis and text styles every chart shares. */
export function baseOption(p: Palette): Record<string, unknown> {
  return {
    backgroundColor: 'transparent',
    textStyle: { color: p.text },
    color: p.series,
    animation: false,
    legend: { textStyle: { color: p.text }, top: 0 },
    tooltip: { trigger: 'axis', confine: true },
    grid: { left: 8, right: 16, top: 44, bottom: 8, containLabel: true },
  };
}

export const axisStyle = (p: Palette): Record<string, unknown> => ({
  axisLine: { lineStyle: { color: p.muted } },
  axisLabel: { color: p.muted },
  splitLine: { lineStyle: { color: p.grid } },
});

/** An axis name kept inside the chart: over the left axis it reads rightwards, over a right axis leftwards. */
export const axisName = (p: Palette, name: string, side: 'left' | 'right' = 'left'): Record<string, unknown> => ({
  name,
  nameTextStyle: { color: p.muted, align: side, padding: side === 'left' ? [0, 0, 0, -4] : [0, -4, 0, 0] },
});

/** A running total in AGPU over time, as a step line starting at zero (spend, earnings). */
export function cumulativeLineOption(p: Palette, name: string, data: [number, number][]): Record<string, unknown> {
  return {
    ...baseOption(p),
    legend: { show: false },
    xAxis: { type: 'time', ...axisStyle(p) },
    yAxis: { type: 'value', ...axisName(p, 'AGPU'), ...axisStyle(p) },
    series: [{ name, type: 'line', step: 'end', showSymbol: true, data }],
  };
}
