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
 * remember the alert); a page with more continues in the next invocation at an offset. Alerts
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
import type { EngineDeps } from "../rotation/engine-deps.ts";
import { parseScope } from "./names.ts";

/** Managed values handled per invocation: three Durable Object calls each (see above). */
const MATCHES_PER_INVOCATION = 5;

const scanEvent = async (data: EventData<"github.alerts_scan">, now: number) =>
  newEvent("github.alerts_scan", data, {
    source: "/rekey/cron",
    id: await deriveId("evt", "github-scan", data.sweep_id, String(data.scope), String(data.page), String(data.offset)),
    now,
  });

/** The sweep's first backstop page, when there is a scope to list. */
export async function firstGithubScan(sweepId: string, scopes: number, now: number): Promise<BusEvent[]> {
  return scopes > 0 ? [await scanEvent({ sweep_id: sweepId, scope: 0, page: 1, offset: 0 }, now)] : [];
}

export async function processGithubScan(
  engine: EngineDeps,
  bus: EventBus,
  scopes: readonly string[],
  data: EventData<"github.alerts_scan">,
): Promise<{ matched: number; handled: number }> {
  const entry = scopes[data.scope];
  const scope = entry === undefined ? undefined : parseScope(entry);
  if (!engine.github || !scope) return { matched: 0, handled: 0 };
  const { alerts, more } = await engine.github.listOpenAlerts(scope, data.page);
  const withSecret = alerts.filter((a) => a.secret !== undefined);
  const fps = await Promise.all(withSecret.map((a) => fingerprint(engine.fingerprintKey, a.secret!)));
  const index = await engine.store.findCredentialsByFingerprints(fps);
  const matched = withSecret.filter((_, i) => index.has(fps[i]!));
  const mine = matched.slice(data.offset, data.offset + MATCHES_PER_INVOCATION);

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
  const next = matched.length > data.offset + MATCHES_PER_INVOCATION
    ? { ...data, offset: data.offset + MATCHES_PER_INVOCATION }
    : more && data.page < 1000
    ? { ...data, page: data.page + 1, offset: 0 }
    : data.scope + 1 < Math.min(scopes.length, 100)
    ? { ...data, scope: data.scope + 1, page: 1, offset: 0 }
    : undefined;
  if (next) out.push(await scanEvent(next, engine.now()));
  if (out.length) await bus.publishAll(out);
  return { matched: matched.length, handled };
}
