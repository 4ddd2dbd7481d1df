/**
 * A repository alert whose fetch from GitHub failed transiently (`POST /hooks/github/events`:
 * GitHub unreachable, 5xx, throttled), made durable instead of answered 503: GitHub does not
 * redeliver a failed delivery by itself ("Handling failed webhook deliveries": "GitHub does not
 * automatically redeliver failed deliveries"), so a 503 lost the leak unless its repository was in
 * GITHUB_ALERT_SCOPES (the cron backstop). The route publishes `github.alert_fetch_owed` and
 * answers 202 `queued`; the rotator fetches the alert again ({@link fetchOwedAlert}) with the bus's
 * backoff (5 retries over about 5 minutes, wrangler.toml) and runs it through the same pipeline
 * (./pipeline.ts `reportRepoAlert`). Those retries run out long before GitHub's hourly rate-limit
 * window or a longer outage ends, so a fetch that died of them goes round again as a new round
 * ({@link requeueOwedFetch}, from the dead-letter handler) while its webhook is younger than
 * {@link OWED_FETCH_MAX_AGE_MS}. A fetch GitHub refuses for good (the alert gone, 404; no
 * permission, 403), or one still failing past that age, dies: its dead letter notice names the
 * alert (core/subscribers/index.ts `onDeadLetter`), and the delivery's claim is released
 * ({@link releaseOwedClaim}), so a redelivery from GitHub's UI is acted on instead of answered
 * `duplicate`.
 *
 * Collapse per alert: the webhook's HMAC covers the body, not `X-GitHub-Delivery`, so one captured
 * signed body replayed under new delivery ids claims anew each time. The event's id derives from
 * the alert, the action and the hour of arrival ({@link owedFetchEvent}), not the delivery: the
 * replays within the hour are one event, and the bus runs each handler once per event id (the
 * ledger, through the one Dispatcher, on Workers and Deno alike), so one fetch that succeeds, one
 * requeue and one notice per alert, action and hour. Not fewer GETs during an outage: each copy
 * retries on its own until one succeeds (a failed run releases its handler's claim). Trade-off,
 * made here: a second genuine `reopened` of one alert within the hour is folded into the first
 * (the same alert, the same secret, already contained or being fetched). A final death releases
 * only the claim of the delivery the event carries (the first to arrive that hour).
 *
 * Double work: the route completes the delivery's claim once the fetch is queued, so a
 * redelivery answers `duplicate` while the fetch is owed. Were both to run anyway (the claim's completion lost, its lease over), the
 * pipeline's ids are derived too: the alert's from repository and number, its
 * `credential.compromised` from alert, credential and value, `alert.received` from the alert,
 * `github.alert_linked` from alert and delivery; the bus drops each repeat, and a second begin
 * joins the rotation running (or finds the value already dead: no DELETE, no rotation).
 *
 * Runtime-neutral.
 */
import type { DeadLetterInfo, EventBus } from "../bus/bus.ts";
import { handlerFailure } from "../bus/errors.ts";
import type { BusEvent, EventOf } from "../bus/events.ts";
import type { ProcessedLedger } from "../bus/ledger.ts";
import { githubDeliverySchema, repoAlertSchema } from "../bus/fields.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { isFailure } from "../failure.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import { iso } from "../time.ts";
import { reportRepoAlert } from "./pipeline.ts";

/** The webhook's alert, as the route parsed it. */
export interface OwedAlert {
  repository: string;
  number: number;
  /** The webhook's action (`created`, `reopened`, `publicly_leaked`): part of the collapse key. */
  action: string;
  installationId?: number | undefined;
  repositoryId?: number | undefined;
  /** `X-GitHub-Delivery`. */
  delivery: string;
  receivedAt: number;
}

/**
 * The owed fetch's event, or null when the repository's name cannot ride in an event (it holds
 * 32 hex characters in a row, the shape of a Clarifai key: ../bus/fields.ts `repoAlertSchema`);
 * the route then answers 503 as before, and the backstop lists the alert if its repository is
 * in scope. GitHub's numeric id would not do: its REST API addresses alerts by name only.
 */
export async function owedFetchEvent(
  alert: OwedAlert,
  now: number,
): Promise<EventOf<"github.alert_fetch_owed"> | null> {
  const actor = `github:${alert.repository}#${alert.number}`;
  if (!repoAlertSchema.safeParse(actor).success) return null;
  return newEvent("github.alert_fetch_owed", {
    actor,
    alert_number: alert.number,
    ...(alert.installationId ? { installation_id: alert.installationId } : {}),
    ...(alert.repositoryId ? { repository_id: alert.repositoryId } : {}),
    ...(githubDeliverySchema.safeParse(alert.delivery).success ? { delivery_id: alert.delivery } : {}),
    received_at: iso(alert.receivedAt),
  }, {
    source: "/rekey/hooks/github",
    id: await deriveId(
      "evt",
      "github-fetch-owed",
      alert.repository,
      String(alert.number),
      alert.action,
      String(Math.floor(alert.receivedAt / COLLAPSE_BUCKET_MS)),
    ),
    now,
  });
}

/** Owed fetches of one alert and action arriving within the same clock hour are one event. */
const COLLAPSE_BUCKET_MS = 3_600_000;

/**
 * How long after its webhook arrived (`received_at`) an owed fetch whose retries ran out goes
 * round again: 6 hours. GitHub's primary rate limit is counted per hour (`x-ratelimit-reset` is at
 * most an hour away: "Rate limits for the REST API"), a secondary limit asks for a wait of
 * minutes (`retry-after`), and GitHub's incidents mostly end within a few hours
 * (githubstatus.com history): 6 hours outlasts the hour window several times over and a long
 * outage, about 70 rounds of 5 minutes. Past it, a human is told (the notice names the alert) and
 * the delivery can be redelivered from GitHub's UI. The bus's fixed backoff ignores `retry-after`
 * and `x-ratelimit-reset`; rounds every 5 minutes through a rate-limited hour cost one GET each.
 */
const OWED_FETCH_MAX_AGE_MS = 6 * 3_600_000;

/** A hard stop besides the age: more rounds than 6 hours of 5-minute rounds take. */
const MAX_OWED_ROUNDS = 100;

/**
 * A dead owed fetch to publish again, or null (the caller then raises its notice and releases the
 * claim). Only one whose retries ran out, while young: a permanent failure would fail again. The
 * copy is one event (no fan-out) with its round counted and an id derived from the dead one's and
 * the round, so each round's death reaches the dead-letter handler (it runs once per event id);
 * its `received_at` is unchanged, which bounds the rounds with {@link MAX_OWED_ROUNDS}.
 */
export async function requeueOwedFetch(
  event: BusEvent,
  info: DeadLetterInfo,
  now: number,
): Promise<EventOf<"github.alert_fetch_owed"> | null> {
  if (event.type !== "github.alert_fetch_owed" || info.reason !== "retries_exhausted") return null;
  if (!(now - Date.parse(event.data.received_at) < OWED_FETCH_MAX_AGE_MS)) return null;
  const round = (event.data.round ?? 0) + 1;
  if (round > MAX_OWED_ROUNDS) return null;
  return {
    ...event,
    id: await deriveId("evt", "github-fetch-owed-round", event.id, String(round)),
    data: { ...event.data, round },
  };
}

/** The audit entry's id of an owed fetch and all its rounds (../subscribers/handlers.ts). */
export const owedAuditId = (d: { actor: string; received_at: string }) =>
  deriveId("evt", "github-fetch-owed-audit", d.actor, d.received_at);

/** The ledger key of a webhook delivery's claim (the route's replay refusal). */
export const deliveryClaimKey = (delivery: string) => `hooks-github-events:${delivery}`;

/**
 * Who the route completes a queued delivery's claim as: derived from the delivery, so the
 * dead-letter handler can release that claim ({@link releaseOwedClaim}) without the owner riding
 * in the event, and no other claim (a fresh one per attempt, random) is ever released by it.
 */
export const owedClaimOwner = (delivery: string) => deriveId("evt", "github-fetch-owed-claim", delivery);

/**
 * The owed fetch died for good: release its delivery's claim, so GitHub's manual redelivery is
 * acted on (fetched again) instead of answered `duplicate`. Only the delivery the event carries:
 * a replay collapsed into it (another delivery id) keeps its claim. Releasing twice, or after a
 * redelivery claimed anew (a random owner), changes nothing.
 */
export async function releaseOwedClaim(ledger: ProcessedLedger, event: BusEvent): Promise<void> {
  if (event.type !== "github.alert_fetch_owed" || !event.data.delivery_id) return;
  const delivery = event.data.delivery_id;
  await ledger.release(deliveryClaimKey(delivery), await owedClaimOwner(delivery));
}

/**
 * The rotator's handling of `github.alert_fetch_owed`: fetch the alert again and report it as the
 * webhook would have. Containment happens in this invocation (`fastPath`: the early DELETE, then
 * the drive up to containment, awaited here instead of left to a `waitUntil`), so the leaked value
 * dies as soon as GitHub answers, not a queue hop later; the rotator's replay of the
 * `credential.compromised` it publishes finishes the rotation. Budget (Workers free plan, 50
 * subrequests): the fetch (one call, two more for an App's installation token when not cached),
 * the fast path up to containment, the alert's events (one send): 17 for an app key, counted on
 * the real bindings by test/workers/github-owed-fetch.test.ts.
 */
export async function fetchOwedAlert(
  rt: { bus: EventBus; now: () => number },
  engine: EngineServices,
  event: EventOf<"github.alert_fetch_owed">,
): Promise<{ kind: "unmatched" } | { kind: "accepted"; action: string }> {
  const d = event.data;
  const repository = d.actor.slice("github:".length, d.actor.lastIndexOf("#"));
  if (!engine.github) {
    throw handlerFailure("not_configured", "Cannot fetch a GitHub alert: no GitHub credentials are configured", {
      retryable: false,
    });
  }
  let found: Awaited<ReturnType<NonNullable<EngineServices["github"]>["getAlert"]>>;
  try {
    found = await engine.github.getAlert(repository, d.alert_number, d.installation_id);
  } catch (error) {
    // Throttling and outages retry with the bus's backoff; a refusal (404, 403) will not pass.
    if (!isFailure(error, "github")) throw error;
    throw handlerFailure(error.code, `Cannot fetch GitHub alert ${d.alert_number} again: ${error.message}`, {
      retryable: error.retryable,
    });
  }
  if (!found.secret) return { kind: "unmatched" };
  const work: Promise<unknown>[] = [];
  let outcome: Awaited<ReturnType<typeof reportRepoAlert>>;
  try {
    outcome = await reportRepoAlert(
      { bus: rt.bus, now: rt.now, defer: (w) => void work.push(w) },
      engine,
      {
        repository,
        number: found.number,
        ...(d.installation_id ? { installationId: d.installation_id } : {}),
        ...(d.repository_id ? { repositoryId: d.repository_id } : {}),
        secret: found.secret,
      },
      { delivery: d.delivery_id ?? event.id, fastPath: true, receivedAt: Date.parse(d.received_at) },
    );
  } catch (error) {
    // An early DELETE may have started before the pipeline threw: let it finish in this
    // invocation (its outcome is the retry's to find) before the failure is the bus's.
    await Promise.allSettled(work);
    throw error;
  }
  // The containment work, awaited in this invocation. A failure in it is not this event's: the
  // `credential.compromised` is already queued, and the rotator's replay of it contains instead.
  for (const r of await Promise.allSettled(work)) {
    if (r.status === "rejected") {
      console.warn(JSON.stringify({
        level: "warn",
        msg: "github.owed_fast_path_failed",
        event_id: event.id,
        error: r.reason instanceof Error ? r.reason.name : "unknown",
      }));
    }
  }
  return outcome.kind === "unmatched" ? outcome : { kind: "accepted", action: outcome.action };
}
