/**
 * A time-series chart on uPlot. The window (from, to) belongs to the caller:
 * drag-select zooms into a new window, Shift+drag, the arrow keys or the pan
 * buttons move it, and the caller fetches data for whatever window it is
 * given. A data table beside the canvas is the chart's text alternative.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'preact/hooks';
import { formatTime, formatValue } from '../lib/format.js';
import { panWindow, type Window } from '../lib/ranges.js';

export interface ChartSeries {
  label: string;
  /** [ts, value] in time order; null values leave a gap. */
  points: Array<[number, number | null]>;
}

const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#4b5563'];

/** Series on one shared, sorted x axis, as uPlot wants them. */
export function alignSeries(series: ChartSeries[]): uPlot.AlignedData {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const column: Array<number | null> = new Array<number | null>(xs.length).fill(null);
    for (const [ts, v] of s.points) column[index.get(ts)!] = v;
    return column;
  });
  return [xs, ...ys];
}

export function TimeChart(props: {
  series: ChartSeries[];
  window: Window;
  onWindow: (w: Window) => void;
  label: string;
  height?: number;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const onWindow = useRef(props.onWindow);
  onWindow.current = props.onWindow;
  const windowRef = useRef(props.window);
  windowRef.current = props.window;
  const labels = props.series.map((s) => s.label).join('\u0000');
  const height = props.height ?? 260;

  useEffect(() => {
    const el = host.current!;
    const u = new uPlot(
      chartOptions(props.series, el.clientWidth, height, windowRef, onWindow),
      alignSeries(props.series),
      el,
    );
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = undefined;
    };
    // Rebuilt only when the set of series changes; data and window are pushed in below.
  }, [labels, height]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    u.setData(alignSeries(props.series), false);
    u.setScale('x', { min: props.window.from, max: props.window.to });
  }, [props.series, props.window]);

  const pan = (fraction: number) => props.onWindow(panWindow(props.window, fraction));
  const table = alignSeries(props.series);
  const times = table[0] as number[];
  return (
    <div class="chart">
      <div
        class="chart-canvas"
        ref={host}
        data-testid="chart"
        data-from={props.window.from}
        data-to={props.window.to}
        tabIndex={0}
        role="img"
        aria-label={`${props.label}: chart from ${formatTime(props.window.from)} to ${formatTime(props.window.to)}. Drag to zoom, Shift+drag or arrow keys to pan.`}
        onKeyDown={(e) => {
          if (e.key === 'ArrowLeft') pan(-0.25);
          else if (e.key === 'ArrowRight') pan(0.25);
          else return;
          e.preventDefault();
        }}
      />
      <div class="chart-tools">
        <button type="button" onClick={() => pan(-0.5)} aria-label="Pan back in time">
          ◀ Earlier
        </button>
        <button type="button" onClick={() => pan(0.5)} aria-label="Pan forward in time">
          Later ▶
        </button>
      </div>
      <details class="chart-data">
        <summary>Data table ({times.length} points)</summary>
        <div class="table-wrap">
          <table data-testid="chart-data">
            <thead>
              <tr>
                <th scope="col">time</th>
                {props.series.map((s) => (
                  <th scope="col" key={s.label}>
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {times.map((ts, i) => (
                <tr key={ts} data-ts={ts}>
                  <td>{formatTime(ts)}</td>
                  {table.slice(1).map((col, j) => (
                    <td key={j} data-value={col[i] ?? ''}>
                      {formatValue(col[i])}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </div>
  );
}

function chartOptions(
  series: ChartSeries[],
  width: number,
  height: number,
  windowRef: { current: Window },
  onWindow: { current: (w: Window) => void },
): uPlot.Options {
  return {
    width: Math.max(width, 200),
    height,
    ms: 1,
    scales: { x: { time: true } },
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.label,
        stroke: COLORS[i % COLORS.length],
        width: 2,
        spanGaps: false,
      })),
    ],
    axes: [{ stroke: 'currentColor' }, { stroke: 'currentColor', size: 60 }],
    legend: { live: true },
    cursor: {
      drag: { x: true, y: false, setScale: false },
      bind: {
        mousedown: (u, _targ, handler) => (e) =>
          e.shiftKey ? startPan(u, e, windowRef, onWindow) : handler(e),
      },
    },
    hooks: {
      setSelect: [
        (u) => {
          if (u.select.width < 4) return;
          const from = Math.round(u.posToVal(u.select.left, 'x'));
          const to = Math.round(u.posToVal(u.select.left + u.select.width, 'x'));
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          if (to > from) onWindow.current({ from, to });
        },
      ],
    },
  };
}

/** Shift+drag: the window follows the pointer; the new window is asked for on release. */
function startPan(
  u: uPlot,
  down: MouseEvent,
  windowRef: { current: Window },
  onWindow: { current: (w: Window) => void },
): null {
  const start = windowRef.current;
  const widthPx = u.over.clientWidth;
  const up = (e: MouseEvent) => {
    document.removeEventListener('mouseup', up);
    const fraction = (down.clientX - e.clientX) / widthPx;
    if (Math.abs(fraction) > 0.005) onWindow.current(panWindow(start, fraction));
  };
  document.addEventListener('mouseup', up);
  return null;
}
