/**
 * The cron backstop for missed webhooks: every sweep lists the open secret scanning alerts of
 * each GITHUB_ALERT_SCOPES entry (`GET /repos/{owner}/{repo}/secret-scanning/alerts` or
 * `GET /orgs/{org}/secret-scanning/alerts`, `state=open`, 100 a page) and hands each alert whose
 * secret is a managed value to the alert pipeline, as a webhook would have
 * (core/alerts/pipeline.ts `reportRepoAlert`, without the fast path: the rotator contains).
 *
 * One page per invocation (`github.alerts_scan`), chained like the sweep's own pages, inside the
 * sweep's per-invocation limits (the Workers free plan's 50 subrequests, 1,000 KV operations):
 * one list call, at most two for the App's installation and token (cached afterwards), one KV
 * operation for the page's fingerprints (`findCredentialsByFingerprints`), and for at most
 * MATCHES_PER_INVOCATION managed values about three Durable Object calls each (match and
 * remember the alert); a page with more is listed again, skipping the alerts already handled.
 * Pages follow GitHub's `after` cursors, not page numbers: the alerts this very sweep resolves
 * leave the open list while it pages, which would shift numbered pages and skip alerts. Alerts
 * whose secret matches nothing cost CPU only. "Handled" needs no bookkeeping of its own: an
 * alert rekey resolved is no longer open; one still open for a managed value is linked (no
 * change when it already is) and looked at again, which resolves it once its value is dead.
 *
 * Runtime-neutral.
 */
import type { EventBus } from "../bus/bus.ts";
import type { BusEvent, EventData } from "../bus/events.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { fingerprint } from "../crypto/fingerprint.ts";
import { reportRepoAlert } from "../alerts/pipeline.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import { parseScope } from "./names.ts";

/** Managed values handled per invocation: three Durable Object calls each (see above). */
const MATCHES_PER_INVOCATION = 5;
/** Pages listed per scope and sweep, at most (1,000,000 open alerts): a bound, not a plan. */
const MAX_PAGES = 10_000;

const scanEvent = async (data: EventData<"github.alerts_scan">, now: number) =>
  newEvent("github.alerts_scan", data, {
    source: "/rekey/cron",
    id: await deriveId(
      "evt",
      "github-scan",
      data.sweep_id,
      String(data.scope),
      String(data.page),
      String(data.handled.length),
    ),
    now,
  });

/** The sweep's first backstop page, when there is a scope to list. */
export async function firstGithubScan(sweepId: string, scopes: number, now: number): Promise<BusEvent[]> {
  return scopes > 0 ? [await scanEvent({ sweep_id: sweepId, scope: 0, cursor: null, handled: [], page: 1 }, now)] : [];
}

export async function processGithubScan(
  engine: EngineServices,
  bus: EventBus,
  scopes: readonly string[],
  data: EventData<"github.alerts_scan">,
): Promise<{ matched: number; handled: number }> {
  const entry = scopes[data.scope];
  const scope = entry === undefined ? undefined : parseScope(entry);
  if (!engine.github || !scope) return { matched: 0, handled: 0 };
  const { alerts, next } = await engine.github.listOpenAlerts(scope, data.cursor);
  const idOf = (a: (typeof alerts)[number]) => `${a.repository?.id ?? 0}:${a.number}`;
  const seen = new Set(data.handled);
  const fresh = alerts.filter((a) => a.secret !== undefined && !seen.has(idOf(a)));
  const fps = await Promise.all(fresh.map((a) => fingerprint(engine.fingerprintKey, a.secret!)));
  const index = await engine.store.findCredentialsByFingerprints(fps);
  const matched = fresh.filter((_, i) => index.has(fps[i]!));
  const mine = matched.slice(0, MATCHES_PER_INVOCATION);

  // Everything this page publishes goes in one send at the end.
  const out: BusEvent[] = [];
  const collect: EventBus = {
    publish: async (e) => void out.push(e),
    publishAll: async (es) => void out.push(...es),
  };
  let handled = 0;
  for (const alert of mine) {
    const repository = "repository" in scope ? scope.repository : alert.repository?.full_name;
    if (!repository) continue;
    const outcome = await reportRepoAlert(
      { bus: collect, defer: () => {}, now: engine.now },
      engine,
      { repository, number: alert.number, secret: alert.secret! },
      { delivery: data.sweep_id, fastPath: false },
    );
    if (outcome.kind === "accepted") handled++;
  }
  // More managed values on this page than one invocation handles: the same page again, without
  // the ones handled (by cursor and by id, so an alert resolved meanwhile shifts nothing).
  const nextScan: EventData<"github.alerts_scan"> | undefined = matched.length > mine.length
    ? { ...data, handled: [...data.handled, ...mine.map(idOf)] }
    : next && data.page < MAX_PAGES
    ? { ...data, cursor: next, handled: [], page: data.page + 1 }
    : data.scope + 1 < Math.min(scopes.length, 100)
    ? { sweep_id: data.sweep_id, scope: data.scope + 1, cursor: null, handled: [], page: 1 }
    : undefined;
  if (nextScan) out.push(await scanEvent(nextScan, engine.now()));
  if (out.length) await bus.publishAll(out);
  return { matched: matched.length, handled };
}
