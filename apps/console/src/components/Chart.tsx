import { useEffect, useRef } from 'react';
import { echarts } from '../charts';

interface ChartProps {
  /** what the chart shows, in words (its numbers are also in a table beside it) */
  label: string;
  option: Record<string, unknown>;
  height?: number;
  testId?: string;
}

/** An ECharts chart as an image with a text alternative. */
export function Chart({ label, option, height = 260, testId }: ChartProps) {
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const instance = echarts.init(el, undefined, { renderer: 'canvas' });
    chart.current = instance;
    const observer = new ResizeObserver(() => instance.resize());
    observer.observe(el);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    chart.current?.setOption(option, { notMerge: true });
  }, [option]);
  return <div ref={ref} className="chart" role="img" aria-label={label} data-testid={testId} style={{ height }} />;
}
