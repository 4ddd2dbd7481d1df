/**
 * Hand-written SVG charts, rendered on the server: no script, no library, nothing loaded from
 * elsewhere. Inline SVG is part of the page, so the CSP (./headers.ts) needs nothing more; colours
 * come from classes of the nonce'd stylesheet (./style.ts), never from style attributes, which
 * that CSP refuses. Each chart is hidden from screen readers and followed by its text
 * equivalent, a visually hidden table of the same figures. Every mark carries its figures as
 * data attributes, which the browser test compares with GET /v1/summary.
 */
import type { Child } from "hono/jsx";

const W = 640;
const H = 180;
const LEFT = 48;
const RIGHT = 8;
const TOP = 10;
const BOTTOM = 22;
const PLOT_W = W - LEFT - RIGHT;
const PLOT_H = H - TOP - BOTTOM;

/** 1, 2, 5, 10, 20, 50 …: the smallest of these at or above `n` (at least 1). */
function niceMax(n: number): number {
  let step = 1;
  for (;;) {
    for (const m of [1, 2, 5]) if (m * step >= n) return m * step;
    step *= 10;
  }
}

export interface Series {
  key: string;
  label: string;
  /** Stylesheet class giving its colour. */
  cls: string;
}

export interface BarRow {
  /** What the row is (a date), shown under its bar and in its table row. */
  key: string;
  label: string;
  values: Record<string, number>;
}

interface ChartFrame {
  /** Used for the data attribute that names the chart and for ids. */
  id: string;
  title: string;
  /** One visible sentence saying what the chart shows, in figures. */
  caption: string;
}


function Legend(props: { series: Series[] }) {
  return (
    <ul class="legend" aria-hidden="true">
      {props.series.map((s) => (
        <li>
          <span class={`swatch ${s.cls}`} /> {s.label}
        </li>
      ))}
    </ul>
  );
}

function Figure(props: ChartFrame & { children: Child; table: Child; legend?: Child }) {
  return (
    <figure class="chart" data-chart={props.id}>
      <h3 id={`${props.id}-title`}>{props.title}</h3>
      {props.children}
      {props.legend}
      <figcaption>{props.caption}</figcaption>
      {props.table}
    </figure>
  );
}

/**
 * Stacked bars, one per row (a day), one segment per series. `every`: a label under every
 * `every`-th bar, counted back from the last, so today's is always labelled.
 */
export function StackedBars(props: ChartFrame & { series: Series[]; rows: BarRow[]; every?: number }) {
  const totals = props.rows.map((r) => props.series.reduce((n, s) => n + (r.values[s.key] ?? 0), 0));
  const max = niceMax(Math.max(1, ...totals));
  const slot = PLOT_W / Math.max(1, props.rows.length);
  const barW = Math.max(2, slot * 0.7);
  const y = (v: number) => (v / max) * PLOT_H;
  const every = props.every ?? 1;
  return (
    <Figure
      {...props}
      legend={<Legend series={props.series} />}
      table={
        <table class="sr-only" aria-labelledby={`${props.id}-title`}>
          <thead>
            <tr>
              <th scope="col">Day</th>
              {props.series.map((s) => (
                <th scope="col">{s.label}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {props.rows.map((r) => (
              <tr>
                <th scope="row">{r.key}</th>
                {props.series.map((s) => (
                  <td>{r.values[s.key] ?? 0}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} aria-hidden="true" focusable="false">
        {[0, max / 2, max].map((v) => (
          <g class="grid">
            <line x1={LEFT} x2={W - RIGHT} y1={TOP + PLOT_H - y(v)} y2={TOP + PLOT_H - y(v)} />
            <text x={LEFT - 6} y={TOP + PLOT_H - y(v) + 4} text-anchor="end">
              {Number.isInteger(v) ? v : ""}
            </text>
          </g>
        ))}
        {props.rows.map((r, i) => {
          let base = 0;
          const x = LEFT + i * slot + (slot - barW) / 2;
          return (
            <g data-row={r.key} data-total={String(totals[i])}>
              {props.series.map((s) => {
                const v = r.values[s.key] ?? 0;
                if (v === 0) return null;
                const h = y(v);
                base += h;
                return (
                  <rect class={s.cls} x={x} y={TOP + PLOT_H - base} width={barW} height={h} data-series={s.key} data-count={String(v)}>
                    <title>{`${r.key}: ${v} ${s.label}`}</title>
                  </rect>
                );
              })}
              {(props.rows.length - 1 - i) % every === 0 ? (
                <text class="axis" x={x + barW / 2} y={H - 6} text-anchor="middle">
                  {r.label}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
    </Figure>
  );
}

export interface Point {
  at: number;
  ms: number;
  credentialId: string;
  rotationId: string | null;
}

/** "14 ms", "2.5 s", "3 min". */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Number((ms / 3_600_000).toFixed(1))} h`;
}

/**
 * Containment times over the period: one point each, on a log scale (a leak whose delete
 * Clarifai refused for hours must not flatten the milliseconds of the rest), with the median and
 * 95th percentile drawn across.
 */
export function ContainmentChart(
  props: ChartFrame & { from: number; to: number; points: Point[]; median: number | null; p95: number | null },
) {
  // Decades up to the slowest point, with some room above it.
  const slowest = Math.max(10, ...props.points.map((p) => p.ms), props.p95 ?? 0);
  const top = Math.max(2, Math.ceil(Math.log10(slowest) + 0.2));
  const y = (ms: number) => TOP + PLOT_H - (Math.log10(Math.max(1, ms)) / top) * PLOT_H;
  const x = (at: number) => LEFT + ((at - props.from) / Math.max(1, props.to - props.from)) * PLOT_W;
  const ticks = Array.from({ length: top + 1 }, (_, i) => 10 ** i);
  // The median's label sits at the left end of its line, the 95th percentile's at the right, so
  // that they stay apart when the two are close.
  const line = (label: string, ms: number | null, cls: string, left: boolean) =>
    ms === null ? null : (
      <g class={`mark ${cls}`} data-line={label} data-ms={String(ms)}>
        <line x1={LEFT} x2={W - RIGHT} y1={y(ms)} y2={y(ms)} />
        <text x={left ? LEFT + 4 : W - RIGHT - 2} y={y(ms) - 3} text-anchor={left ? "start" : "end"}>
          {`${label} ${formatMs(ms)}`}
        </text>
      </g>
    );
  return (
    <Figure
      {...props}
      table={
        <table class="sr-only" aria-labelledby={`${props.id}-title`}>
          <thead>
            <tr>
              <th scope="col">Contained at</th>
              <th scope="col">Credential</th>
              <th scope="col">Rotation</th>
              <th scope="col">Containment time</th>
            </tr>
          </thead>
          <tbody>
            {props.points.map((p) => (
              <tr>
                <td>{new Date(p.at).toISOString()}</td>
                <td>{p.credentialId}</td>
                <td>{p.rotationId ?? "none"}</td>
                <td>{formatMs(p.ms)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} aria-hidden="true" focusable="false">
        {ticks.map((t) => (
          <g class="grid">
            <line x1={LEFT} x2={W - RIGHT} y1={y(t)} y2={y(t)} />
            <text x={LEFT - 6} y={y(t) + 4} text-anchor="end">
              {formatMs(t)}
            </text>
          </g>
        ))}
        {line("p95", props.p95, "c-p95", false)}
        {line("median", props.median, "c-median", true)}
        {props.points.map((p) => (
          <circle class="c-point" cx={x(p.at)} cy={y(p.ms)} r="4" data-credential={p.credentialId} data-rotation={p.rotationId ?? ""} data-ms={String(p.ms)}>
            <title>{`${p.credentialId}: contained in ${formatMs(p.ms)}`}</title>
          </circle>
        ))}
      </svg>
    </Figure>
  );
}
