/**
 * Hand-written SVG charts, rendered on the server: no script, no library, nothing loaded from
 * elsewhere. Inline SVG is part of the page, so the CSP (./headers.ts) needs nothing more; colours
 * come from classes of the nonce'd stylesheet (./style.ts), never from style attributes, which
 * that CSP refuses. Each chart is hidden from screen readers and followed by its text
 * equivalent, a visually hidden table of the same figures. Every mark carries its figures as
 * data attributes, which the browser test compares with GET /v1/summary.
 *
 * Built as strings, every interpolated value escaped by `esc`: the home page draws some 300 marks
 * and 150 table rows, and building them as JSX elements cost it a millisecond and a half of CPU
 * more (bench P5), a seventh of the Workers free plan's 10 ms.
 */
import { iso } from "../core/time.ts";

const W = 640;
const H = 180;
const LEFT = 48;
const RIGHT = 8;
const TOP = 10;
const BOTTOM = 22;
const PLOT_W = W - LEFT - RIGHT;
const PLOT_H = H - TOP - BOTTOM;

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
/** Text or an attribute value, escaped for HTML. */
const esc = (v: string | number) => String(v).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
/** Coordinates: two decimals are plenty, and keep the page small. */
const n = (v: number) => String(Math.round(v * 100) / 100);

/** 1, 2, 5, 10, 20, 50 …: the smallest of these at or above `n` (at least 1). */
function niceMax(v: number): number {
  let step = 1;
  for (;;) {
    for (const m of [1, 2, 5]) if (m * step >= v) return m * step;
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
  /** Names the chart (a data attribute) and prefixes its ids. */
  id: string;
  title: string;
  /** One visible sentence saying what the chart shows, in figures. */
  caption: string;
}

const legend = (series: Series[]) =>
  `<ul class="legend" aria-hidden="true">${
    series.map((s) => `<li><span class="swatch ${esc(s.cls)}"></span> ${esc(s.label)}</li>`).join("")
  }</ul>`;

function figure(f: ChartFrame, svg: string, table: string, extra = ""): string {
  return `<figure class="chart" data-chart="${esc(f.id)}"><h3 id="${esc(f.id)}-title">${esc(f.title)}</h3>` +
    `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" aria-hidden="true" focusable="false">${svg}</svg>` +
    `${extra}<figcaption>${esc(f.caption)}</figcaption>` +
    `<table class="sr-only" aria-labelledby="${esc(f.id)}-title">${table}</table></figure>`;
}

const row = (cells: Array<string | number>, head = false) =>
  `<tr>${
    cells.map((
      c,
      i,
    ) => (head ? `<th scope="col">${esc(c)}</th>` : i === 0 ? `<th scope="row">${esc(c)}</th>` : `<td>${esc(c)}</td>`))
      .join("")
  }</tr>`;

const gridLine = (y: number, label: string) =>
  `<g class="grid"><line x1="${LEFT}" x2="${W - RIGHT}" y1="${n(y)}" y2="${n(y)}"></line>` +
  `<text x="${LEFT - 6}" y="${n(y + 4)}" text-anchor="end">${esc(label)}</text></g>`;

/**
 * Stacked bars, one per row (a day), one segment per series. `every`: a label under every
 * `every`-th bar, counted back from the last, so today's is always labelled.
 */
export function stackedBars(props: ChartFrame & { series: Series[]; rows: BarRow[]; every?: number }): string {
  const totals = props.rows.map((r) => props.series.reduce((sum, s) => sum + (r.values[s.key] ?? 0), 0));
  const max = niceMax(Math.max(1, ...totals));
  const slot = PLOT_W / Math.max(1, props.rows.length);
  const barW = Math.max(2, slot * 0.7);
  const y = (v: number) => (v / max) * PLOT_H;
  const every = props.every ?? 1;
  let svg = [0, max / 2, max].map((v) => gridLine(TOP + PLOT_H - y(v), Number.isInteger(v) ? String(v) : "")).join("");
  props.rows.forEach((r, i) => {
    let base = 0;
    const x = LEFT + i * slot + (slot - barW) / 2;
    svg += `<g data-row="${esc(r.key)}" data-total="${totals[i]}">`;
    for (const s of props.series) {
      const v = r.values[s.key] ?? 0;
      if (v === 0) continue;
      const h = y(v);
      base += h;
      svg +=
        `<rect class="${esc(s.cls)}" x="${n(x)}" y="${n(TOP + PLOT_H - base)}" width="${n(barW)}" height="${n(h)}" ` +
        `data-series="${esc(s.key)}" data-count="${v}"><title>${esc(`${r.key}: ${v} ${s.label}`)}</title></rect>`;
    }
    if ((props.rows.length - 1 - i) % every === 0) {
      svg += `<text class="axis" x="${n(x + barW / 2)}" y="${H - 6}" text-anchor="middle">${esc(r.label)}</text>`;
    }
    svg += "</g>";
  });
  const table = `<thead>${row(["Day", ...props.series.map((s) => s.label)], true)}</thead><tbody>${
    props.rows.map((r) => row([r.key, ...props.series.map((s) => r.values[s.key] ?? 0)])).join("")
  }</tbody>`;
  return figure(props, svg, table, legend(props.series));
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
export function containmentChart(
  props: ChartFrame & { from: number; to: number; points: Point[]; median: number | null; p95: number | null },
): string {
  // Decades up to the slowest point, with some room above it.
  const slowest = Math.max(10, ...props.points.map((p) => p.ms), props.p95 ?? 0);
  const top = Math.max(2, Math.ceil(Math.log10(slowest) + 0.2));
  const y = (ms: number) => TOP + PLOT_H - (Math.log10(Math.max(1, ms)) / top) * PLOT_H;
  const x = (at: number) => LEFT + ((at - props.from) / Math.max(1, props.to - props.from)) * PLOT_W;
  // The median's label sits at the left end of its line, the 95th percentile's at the right, so
  // that they stay apart when the two are close.
  const line = (label: string, ms: number | null, cls: string, left: boolean) =>
    ms === null ? "" : `<g class="mark ${cls}" data-line="${label}" data-ms="${ms}">` +
      `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${n(y(ms))}" y2="${n(y(ms))}"></line>` +
      `<text x="${left ? LEFT + 4 : W - RIGHT - 2}" y="${n(y(ms) - 3)}" text-anchor="${left ? "start" : "end"}">${
        esc(`${label} ${formatMs(ms)}`)
      }</text></g>`;
  let svg = Array.from({ length: top + 1 }, (_, i) => gridLine(y(10 ** i), formatMs(10 ** i))).join("");
  svg += line("p95", props.p95, "c-p95", false) + line("median", props.median, "c-median", true);
  let rows = "";
  for (const p of props.points) {
    svg +=
      `<circle class="c-point" cx="${n(x(p.at))}" cy="${n(y(p.ms))}" r="4" data-credential="${esc(p.credentialId)}" ` +
      `data-rotation="${esc(p.rotationId ?? "")}" data-ms="${p.ms}"><title>${
        esc(`${p.credentialId}: contained in ${formatMs(p.ms)}`)
      }</title></circle>`;
    rows += `<tr><td>${iso(p.at)}</td><td>${esc(p.credentialId)}</td><td>${esc(p.rotationId ?? "none")}</td><td>${
      esc(formatMs(p.ms))
    }</td></tr>`;
  }
  const table = `<thead>${
    row(["Contained at", "Credential", "Rotation", "Containment time"], true)
  }</thead><tbody>${rows}</tbody>`;
  return figure(props, svg, table);
}
