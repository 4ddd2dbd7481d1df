/**
 * The top of the home page: headline figures, the last 30 days and the sweep's next 7 days,
 * all from GET /v1/summary's figures (core/summary/summary.ts), so the page and the API agree.
 */
import type { Summary } from "../core/summary/summary.ts";
import { raw } from "hono/html";
import { type BarRow, containmentChart, formatMs, stackedBars } from "./charts.ts";

const DAY = 86_400_000;
const short = (date: string) => date.slice(5);
const weekday = (date: string) => new Date(`${date}T00:00:00Z`).toUTCString().slice(0, 3);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The headline figures: [section, field, label, tone when not zero, where to look]. */
const FIGURES = [
  ["credentials", "active", "active credentials"],
  ["credentials", "revoked", "revoked"],
  ["credentials", "leaked_live", "leaked, still live", "bad"],
  ["credentials", "needs_manager", "need a new manager", "bad"],
  ["owed_revocations", "total", "owed revocations", "warn", "/ui/plan"],
  ["owed_revocations", "overdue", "overdue", "bad", "/ui/plan"],
  ["rotations", "running", "rotations running", "warn", "/ui/rotations"],
  ["rotations", "failed", "last rotation failed", "bad", "/ui/rotations"],
] as const;

function Figure(props: { name: string; value: number; label: string; tone?: string | undefined; href?: string | undefined }) {
  const body = (
    <>
      <span class="value" data-figure={props.name}>
        {props.value}
      </span>
      <span class="label">{props.label}</span>
    </>
  );
  return <li class={`figure ${props.value > 0 && props.tone ? props.tone : ""}`}>{props.href ? <a href={props.href}>{body}</a> : body}</li>;
}

function Figures(props: { summary: Summary }) {
  return (
    <ul class="figures">
      {FIGURES.map(([section, field, label, tone, href]) => (
        <Figure name={`${section}.${field}`} value={(props.summary[section] as Record<string, number>)[field] ?? 0} label={label} tone={tone} href={href} />
      ))}
    </ul>
  );
}

export function Overview(props: { summary: Summary }) {
  const s = props.summary;
  const h = s.last_30_days;
  const byOutcome: BarRow[] = h.days.map((d) => ({ key: d.date, label: short(d.date), values: { done: d.done, failed: d.failed } }));
  const byReason: BarRow[] = h.days.map((d) => ({ key: d.date, label: short(d.date), values: d.by_reason }));
  const next: BarRow[] = s.next_7_days.map((d) => ({
    key: d.date,
    label: `${weekday(d.date)} ${short(d.date)}`,
    values: { rotate: d.rotate, revoke_previous: d.revoke_previous, expire: d.expire },
  }));
  const c = h.containment;
  const nextTotal = s.next_7_days.reduce((n, d) => n + d.rotate + d.revoke_previous + d.expire, 0);
  const from = Date.parse(`${h.from}T00:00:00Z`);
  return (
    <section class="overview" aria-label="Overview">
      <Figures summary={s} />
      {s.coverage.partial ? (
        <p class="flash bad" data-coverage="partial">
          These figures cover {s.coverage.credentials} credentials only
          {s.coverage.not_summarised ? ` (${plural(s.coverage.not_summarised, "older index entry", "older index entries")} not summarised until the credential is next written)` : ""}.
        </p>
      ) : null}
      <h2>The last 30 days</h2>
      <div class="charts">
        {raw(
          stackedBars({
            id: "rotations-by-outcome",
            title: "Rotations per day, by outcome",
            caption: `${plural(h.done + h.failed, "rotation")} from ${h.from} to ${h.to}: ${h.done} done, ${h.failed} failed.`,
            series: [
              { key: "done", label: "done", cls: "c-done" },
              { key: "failed", label: "failed", cls: "c-failed" },
            ],
            rows: byOutcome,
            every: 7,
          }),
        )}
        {raw(
          stackedBars({
            id: "rotations-by-reason",
            title: "Rotations per day, by reason",
            caption: `Scheduled ${h.by_reason.scheduled}, manual ${h.by_reason.manual}, compromise ${h.by_reason.compromise}, expiry ${h.by_reason.expiry}.`,
            series: [
              { key: "scheduled", label: "scheduled", cls: "c-scheduled" },
              { key: "manual", label: "manual", cls: "c-manual" },
              { key: "compromise", label: "compromise", cls: "c-compromise" },
              { key: "expiry", label: "expiry", cls: "c-expiry" },
            ],
            rows: byReason,
            every: 7,
          }),
        )}
        {raw(
          containmentChart({
            id: "containment",
            title: "Containment time of each compromise: alert to leaked value deleted",
            caption: c.count === 0
              ? "No compromise was contained in the last 30 days."
              : `${plural(c.count, "compromise")} contained: median ${formatMs(c.median_ms ?? 0)}, 95th percentile ${formatMs(c.p95_ms ?? 0)}, slowest ${formatMs(c.max_ms ?? 0)}.${
                  c.points.length < c.count ? ` ${c.points.length} are drawn (at most 100 a day are kept).` : ""
                }`,
            from,
            to: from + 30 * DAY,
            points: c.points.map((p) => ({ at: Date.parse(p.at), ms: p.containment_ms, credentialId: p.credential_id, rotationId: p.rotation_id })),
            median: c.median_ms,
            p95: c.p95_ms,
          }),
        )}
      </div>
      <h2>The next 7 days</h2>
      <div class="charts">
        {raw(
          stackedBars({
            id: "next-7-days",
            title: "What the sweep will do each day",
            caption: nextTotal === 0
              ? "Nothing is scheduled for the next 7 days."
              : `${plural(nextTotal, "scheduled action")}: ${s.next_7_days.reduce((n, d) => n + d.rotate, 0)} rotations for age, ${s.next_7_days.reduce((n, d) => n + d.revoke_previous, 0)} revocations after grace, ${s.next_7_days.reduce((n, d) => n + d.expire, 0)} expiries. Today includes what is already due.`,
            series: [
              { key: "rotate", label: "rotate for age", cls: "c-scheduled" },
              { key: "revoke_previous", label: "revoke after grace", cls: "c-manual" },
              { key: "expire", label: "expire", cls: "c-expiry" },
            ],
            rows: next,
          }),
        )}
      </div>
    </section>
  );
}
