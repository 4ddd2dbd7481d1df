/**
 * Who handles each event: event type → handler name → function. The handler name is part of the
 * bus's idempotency key and of a dead letter's `<handler>:<code>` (see ./index.ts): renaming one
 * re-runs every event it already handled, so names stay as they are. Every event type has a row,
 * so a new type cannot be published without deciding who handles it. ARCHITECTURE.md's events
 * table lists the same names (scripts/check-events-table.ts checks it).
 */
import type { Dispatcher, EventBus } from "../bus/bus.ts";
import { toFailure } from "../failure.ts";
import type { BusEvent, EventOf, EventType } from "../bus/events.ts";
import { auditEntryFor, type AuditLog } from "../audit/audit-log.ts";
import { openReplies, outcomeMessage, postReply } from "../chatops/reply.ts";
import { type JobServices, runReencryptBatch } from "../maintenance/reencrypt-job.ts";
import { deliver } from "../notify/deliver.ts";
import type { Target } from "../notify/targets.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import { processOrphanScanPage } from "../sweep/orphan-scan.ts";
import { processSweepBatch } from "../sweep/run.ts";
import { factOf, type StatsStore } from "../summary/stats.ts";
import { containAgain, driveRequested } from "./rotator.ts";
import { resolveLinkedAlerts } from "../github/alert-links.ts";
import { processGithubScan } from "../github/backstop.ts";
import { chunkId, matchDeferredChunk } from "../alerts/deferred-tokens.ts";
import { fetchOwedAlert, owedAuditId } from "../alerts/owed-fetch.ts";

/** What the handlers use: the entry points pass their services. */
export interface HandlerServices extends JobServices {
  engine: () => Promise<EngineServices>;
  bus: EventBus;
  audit: AuditLog;
  /** The dashboard's per-day history. */
  stats: StatsStore;
  /** Notification targets (Slack, signed webhooks): one `notify-<id>` handler each. */
  targets: readonly Target[];
  /** GITHUB_ALERT_SCOPES, for the cron backstop's pages (`github.alerts_scan`). */
  githubScopes?: readonly string[];
}

/** Resolve at GitHub the alerts remembered for a value that is now dead (core/github/alert-links.ts). */
const githubResolver = async (
  s: HandlerServices,
  e: EventOf<"credential.revoked" | "github.alert_linked">,
) => resolveLinkedAlerts(await s.engine(), s.bus, e.data);

type Handle<T extends EventType> = (services: HandlerServices, event: EventOf<T>) => Promise<unknown>;

/** Every event becomes an audit entry (idempotent by event id), except plumbing. */
const auditor = (services: HandlerServices, event: BusEvent) => services.audit.append(auditEntryFor(event));

/**
 * A deferred chunk's entry is written under the chunk's own id (derived from its alert and
 * tokens) and its alert's time, which every requeued copy of it keeps (core/alerts/deferred-tokens.ts
 * `requeueDeadChunk`): each round's auditor rewrites the one entry (same key) instead of adding
 * one, so a chunk that goes round for an hour is one entry, and its first delivery's auditor
 * failing is still made up for by a later round.
 */
const chunkAuditor = async (services: HandlerServices, event: EventOf<"github.tokens_deferred">) =>
  services.audit.append({
    ...auditEntryFor(event),
    id: await chunkId(event.data.alert_id, event.data.first, event.data.token_count),
  });

/**
 * An owed GitHub fetch's entry, likewise: under an id of its alert and arrival, which each requeue
 * round's copy keeps (core/alerts/owed-fetch.ts `requeueOwedFetch`), so 6 hours of rounds are one
 * entry (its latest round's), not one per round.
 */
const owedAuditor = async (services: HandlerServices, event: EventOf<"github.alert_fetch_owed">) =>
  services.audit.append({ ...auditEntryFor(event), id: await owedAuditId(event.data) });

/**
 * The dashboard's history, counted as things finish (core/summary/stats.ts): each rotation's
 * outcome, each compromise's containment time. Idempotent by the fact's id.
 */
async function stats(services: HandlerServices, event: BusEvent): Promise<void> {
  const fact = factOf(event);
  if (fact) await services.stats.record(fact);
}

/**
 * The notifier (Slack, signed webhooks) subscribes once per target, as "notify-<id>", so a target
 * that is down is retried on its own without repeating deliveries that already succeeded.
 */
const NOTIFIER = "notify-<target>";
const notifier = "per target" as const;

/**
 * When a rotation finishes, post its outcome to every chat conversation that asked for it
 * (core/chatops/reply.ts). Rotations nobody asked for in chat have no reply targets and cost one read.
 */
async function chatReplier(
  services: HandlerServices,
  event: EventOf<"rotation.completed" | "rotation.failed">,
): Promise<void> {
  const { credential_id: credentialId, rotation_id: rotationId } = event.data;
  if (!rotationId) return;
  const engine = await services.engine();
  const found = await engine.store.getRotation(credentialId, rotationId);
  if (!found?.value.replies?.length) return;
  const message = outcomeMessage(found.value);
  // Every conversation is posted to, whichever fails: one unreachable or expired reply URL must
  // not keep the outcome from the others. A failure is thrown after all were tried, retryable if
  // any was, so a redelivery may repeat a reply that went through (a duplicate message is the
  // lesser harm than a lost one); permanent ones (Slack's expired URLs) go to the dead letters.
  const settled = await Promise.allSettled(
    (await openReplies(engine.keyring, found.value)).map((target) => postReply(target, message)),
  );
  const failures = settled.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  if (failures.length === 0) return;
  throw failures.find((f) => toFailure(f).retryable) ?? failures[0];
}

/** Rows in subscription order: within a type, handlers run in the order listed. */
const HANDLERS = {
  "alert.received": { auditor },
  "credential.compromised": { rotator: (d, e) => containAgain(d.engine, e, d.bus), auditor },
  "rotation.requested": { rotator: (d, e) => driveRequested(d.engine, e, d.bus), auditor },
  "rotation.step": { auditor },
  "rotation.completed": { auditor, stats, [NOTIFIER]: notifier, "chat-replier": chatReplier },
  "rotation.failed": { auditor, stats, [NOTIFIER]: notifier, "chat-replier": chatReplier },
  "credential.revoked": { auditor, stats, [NOTIFIER]: notifier, "github-resolver": githubResolver },
  "revocation.overdue": { auditor, [NOTIFIER]: notifier },
  "credential.orphaned_manager": { auditor, [NOTIFIER]: notifier },
  "credential.expiring": { auditor, [NOTIFIER]: notifier },
  // One page of the cron sweep per event (core/sweep/run.ts).
  "sweep.batch": { sweeper: async (d, e) => processSweepBatch(await d.engine(), d.bus, e.data) },
  "orphan.deleted": { auditor, [NOTIFIER]: notifier },
  // One page of a credential's orphan scan per event (core/sweep/orphan-scan.ts).
  "orphan.scan": { "orphan-scanner": async (d, e) => processOrphanScanPage(await d.engine(), d.bus, e.data) },
  "orphan.suspected": { auditor, [NOTIFIER]: notifier },
  // One re-encryption batch per event (core/maintenance/reencrypt-job.ts).
  "maintenance.reencrypt": { auditor, maintainer: async (d, e) => runReencryptBatch(d, await d.engine(), e) },
  "maintenance.completed": { auditor },
  "github.alert_linked": { auditor, "github-resolver": githubResolver },
  "github.alert_resolved": { auditor },
  // One page of the cron backstop over GITHUB_ALERT_SCOPES per event (core/github/backstop.ts).
  "github.alerts_scan": {
    "github-scanner": async (d, e) => processGithubScan(await d.engine(), d.bus, d.githubScopes ?? [], e.data),
  },
  // A chunk of a GitHub alert too large for one invocation (core/alerts/deferred-tokens.ts): the
  // rotator matches it; the auditor keeps its counts, never its sealed tokens; no notifier.
  "github.tokens_deferred": {
    rotator: async (d, e) => matchDeferredChunk(await d.engine(), d.bus, e),
    auditor: chunkAuditor,
  },
  // A repository alert GitHub could not be asked for when its webhook came (core/alerts/owed-fetch.ts):
  // the rotator fetches it again, with the bus's backoff, and contains what it leaked.
  "github.alert_fetch_owed": {
    rotator: async (d, e) => fetchOwedAlert(d, await d.engine(), e),
    auditor: owedAuditor,
  },
  // A dead event, whatever its type (core/subscribers/index.ts `onDeadLetter`): a human must hear of it.
  "event.dead_lettered": { auditor, [NOTIFIER]: notifier },
  // Admin actions on the registry, and consumer Workers' first reads of a value: the trail only.
  "credential.registered": { auditor },
  "credential.updated": { auditor },
  "credential.unmanaged": { auditor },
  "credential.read": { auditor },
} satisfies { [T in EventType]: Record<string, Handle<T> | typeof notifier> };

/** The names a type's handlers run under; the notifier's as `notify-<target>`. */
export function handlerNames(type: EventType): string[] {
  return Object.keys(HANDLERS[type]);
}

/**
 * Subscribes the table's handlers to `d`; `only` (handler names, tests) limits it to some. The
 * subscription order is the table's: types in order, handlers in order within a type.
 */
export function subscribeHandlers(d: Dispatcher, services: HandlerServices, only?: readonly string[]): void {
  for (const type of Object.keys(HANDLERS) as EventType[]) {
    // Loosely typed, as the Dispatcher stores it: each handler is only called with its row's type.
    const row = HANDLERS[type] as Record<
      string,
      ((services: HandlerServices, event: BusEvent) => Promise<unknown>) | typeof notifier
    >;
    for (const [name, handle] of Object.entries(row)) {
      if (only && !only.includes(name)) continue;
      if (handle === notifier) {
        for (const target of services.targets) {
          d.subscribe(type, `notify-${target.id}`, (event) => deliver(target, event, services.now()));
        }
      } else {
        d.subscribe(type, name, async (event) => void (await handle(services, event)));
      }
    }
  }
}
