/**
 * The alert pipeline: what happens once a route has verified and parsed an alert. One owner for
 * match → contain → hand the work to the runtime → publish `credential.compromised` and
 * `alert.received`, so routes only verify, parse, call this and answer, and the rotator's replay
 * of `credential.compromised` matches the event with the same rules as the alert did.
 *
 * Time to containment is the headline number, so containment begins (or joins) at once and its
 * work runs after the response (`defer`, waitUntil on Workers); the durable event is the guarantee
 * when that fast path dies: the rotator contains again from the event, and whichever driver
 * arrives second finds the rotation leased or finished.
 */
import type * as z from "zod/mini";
import type { EventBus } from "../bus/bus.ts";
import type { BusEvent, eventDataSchemas } from "../bus/events.ts";
import type { ProcessedLedger } from "../bus/ledger.ts";
import type { alertSourceSchema } from "../bus/fields.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { sendBatches } from "../bus/send-batches.ts";
import { fingerprint, fingerprintPrefix } from "../crypto/fingerprint.ts";
import { linkAlert } from "../github/alert-links.ts";
import { randomId } from "../crypto/random.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import { contain, type Containment, deleteAtOnce, type EarlyDelete, mayDeleteAtOnce } from "./contain.ts";
import { type Actor, alertActor, repoAlertActor } from "../audit/actor.ts";
import { type LeakMatch, matchFingerprint, matchNamed, matchPrefix, matchRecord } from "./match-leak.ts";

/**
 * Each alert source has one name, used as its `alert_source`, its events' source
 * (`/rekey/hooks/<name>`), its derived alert ids and its replay keys: "github" (GitHub's secret
 * scanning partner alerts) and "webhook" (Standard Webhooks alerts). The requester (actor) its
 * rotations record is `alertActor`'s: `github-partner` and `webhook`; a repository's own alert
 * (`reportRepoAlert`) records the alert, `github:owner/repo#12`. The routes keep their paths (`/hooks/github/secret-scanning`, `/hooks/alerts`):
 * senders are configured with them.
 */
export type AlertSource = z.infer<typeof alertSourceSchema>;

/** What the pipeline needs from the runtime besides the engine. */
export interface AlertRuntime {
  bus: EventBus;
  /** Runs work after the response (waitUntil on Workers). */
  defer: (work: Promise<unknown>) => void;
  now: () => number;
}

export interface Alert {
  source: AlertSource;
  /** A derived `alrt_` id: the same alert (a redelivery) has the same id. */
  id: string;
  /** How the alert was tied to the credential ("operator" is for a leak reported by hand). */
  reason: Exclude<z.infer<(typeof eventDataSchemas)["credential.compromised"]>["reason"], "operator">;
  /**
   * When the route received the alert (ms): the start of the containment time its rotation
   * records, and the time of its `credential.compromised`, from which a replay begins containment.
   */
  receivedAt?: number;
}

/**
 * One event per (alert, credential, value): a redelivered alert is a duplicate for every handler.
 * Also a deferred chunk's (`reportDeferredTokens`), so its events have the ids the request's would.
 */
async function compromisedEvent(
  alert: Alert,
  credentialId: string,
  fp: string,
  now: number,
  actor?: Actor,
): Promise<BusEvent> {
  return newEvent(
    "credential.compromised",
    {
      credential_id: credentialId,
      fingerprint_prefix: fingerprintPrefix(fp),
      alert_source: alert.source,
      alert_id: alert.id,
      reason: alert.reason,
      ...(actor ? { actor } : {}),
    },
    {
      source: `/rekey/hooks/${alert.source}`,
      subject: `credential/${credentialId}`,
      id: await deriveId("evt", "compromised", alert.id, credentialId, fp),
      now,
    },
  );
}

async function receivedEvent(alert: Alert, tokenCount: number, matchedCount: number, now: number): Promise<BusEvent> {
  return newEvent("alert.received", {
    alert_source: alert.source,
    alert_id: alert.id,
    token_count: tokenCount,
    matched_count: matchedCount,
  }, {
    source: `/rekey/hooks/${alert.source}`,
    id: await deriveId("evt", "alert", alert.id),
    now,
  });
}

/**
 * Starts the leaked value's early DELETE (./contain.ts `deleteAtOnce`) and resolves once its
 * request has been issued, or given up. The work that runs beside the DELETE (the replay claim,
 * the rotation's begin, the alert's link, `alert.received`) starts only then: started before it,
 * that work's synchronous part (building and serialising records and events, each Durable Object
 * call's own) ran first while the DELETE waited for its durable event, and delayed the request
 * (bench P1). The cost: the response, which awaits that work, comes about a round trip later.
 */
async function startDelete(
  engine: EngineServices,
  match: LeakMatch,
  durable: Promise<unknown>,
): Promise<{ early: EarlyDelete | null }> {
  let sent!: () => void;
  const issued = new Promise<void>((resolve) => (sent = resolve));
  const early = deleteAtOnce(engine, match, durable, sent);
  if (early) await Promise.race([issued, early]);
  return { early };
}

/**
 * Begin (or join) containment and hand its work to the runtime. `early`: the leaked value's DELETE
 * (./contain.ts `deleteAtOnce`), already running beside the begin, or null. The work handed over
 * awaits it, so the runtime lets it finish either way.
 */
async function containNow(
  rt: AlertRuntime,
  engine: EngineServices,
  match: LeakMatch,
  alert: Alert,
  early: EarlyDelete | null,
  actor: Actor = alertActor(alert.source),
): Promise<Containment> {
  let c: Containment;
  try {
    c = await contain(engine, match, actor, alert.receivedAt, early);
  } catch (error) {
    if (early) rt.defer(early);
    throw error;
  }
  if (c.action === "rotation" || c.action === "revoke_previous") rt.defer(c.run());
  else if (early) rt.defer(early);
  return c;
}

/**
 * An alert naming one leaked value, already matched: contain it, then publish its
 * `credential.compromised` (unless the value was already dead: a repeated or second-source report
 * of a handled leak raises nothing new; or `published`: the caller already published it, beside
 * the record's read or before the early DELETE) and the alert's `alert.received`. Returns the `alert.received` id and what
 * containment did.
 */
async function reportLeak(
  rt: AlertRuntime,
  engine: EngineServices,
  match: Exclude<LeakMatch, { kind: "none" }>,
  alert: Alert,
  early: EarlyDelete | null,
  published: Promise<unknown> | null,
): Promise<{ eventId: string; action: string; rotationId?: string }> {
  const c = await containNow(rt, engine, match, alert, early);
  if (c.action !== "already_revoked" && c.action !== "none") {
    await (published ?? rt.bus.publish(
      await compromisedEvent(alert, match.credential.id, match.fingerprint, alert.receivedAt ?? rt.now()),
    ));
  } else if (published) {
    // Published before the record showed the value dead (a lagging index hint, ./match-leak.ts, or
    // a revocation racing the begin): nothing waits for it, and its handlers find nothing to do.
    rt.defer(published.catch(() => undefined));
  }
  const received = await receivedEvent(alert, 1, 1, rt.now());
  await rt.bus.publish(received);
  return { eventId: received.id, action: c.action, ...(c.action === "rotation" ? { rotationId: c.rotation.id } : {}) };
}

/** Longer than the 5-minute signature window, so a replay is refused even if completing failed. */
const CLAIM_LEASE_MS = 10 * 60_000;

/**
 * An alert naming one leaked value by credential id, fingerprint or value, delivered once under
 * the sender's delivery id (a Standard Webhooks `webhook-id`, already verified): match it, claim
 * the delivery id, then `reportLeak`.
 */
export async function reportNamedLeak(
  rt: AlertRuntime & { ledger: ProcessedLedger },
  engine: EngineServices,
  named: { credential_id?: string; fingerprint?: string; value?: string },
  delivery: { source: AlertSource; deliveryId: string; reason: Alert["reason"]; receivedAt?: number },
): Promise<
  { kind: "unmatched" } | { kind: "replayed" } | {
    kind: "accepted";
    credentialId: string;
    eventId: string;
    action: string;
    rotationId?: string;
  }
> {
  // The lookup comes first and only a matching alert spends its delivery id: one that matches
  // nothing changes nothing, so replaying it is harmless, and not recording it keeps a flood of
  // junk alerts to one read each (no ledger write). A replay of it that matches later (the value
  // was registered meanwhile) is acted on, which is right: the value did leak.
  let alert: Promise<Alert> | undefined;
  const alertOnce = () =>
    alert ??= deriveId("alrt", delivery.source, delivery.deliveryId).then((id) => ({
      source: delivery.source,
      id,
      reason: delivery.reason,
      ...(delivery.receivedAt !== undefined ? { receivedAt: delivery.receivedAt } : {}),
    }));
  // The durable `credential.compromised` of this (alert, credential, value); its id is derived
  // from the three, so publishing it again (a second alert racing this one, this delivery
  // replayed) is a duplicate every handler drops.
  const publish = (credentialId: string, fp: string) => {
    const p = alertOnce()
      .then((a) => compromisedEvent(a, credentialId, fp, a.receivedAt ?? rt.now()))
      .then((e) => rt.bus.publish(e));
    p.catch(() => undefined); // awaited below (reportLeak, the DELETE); a failure deletes nothing
    return p;
  };
  // Contain first (./contain.ts `deleteAtOnce`): the leaked value's DELETE needs the match, the
  // manager's token and the durable `credential.compromised` (so a crash right after the DELETE
  // converges through the rotator's replay of it), and nothing below waits for it.
  // - Named by value or fingerprint, a replay names A, by then previous or revoked (no DELETE
  //   here), so the event needs neither the claim nor the record: when the index says the value
  //   is its credential's current one, it is published beside the record's read (the DELETE then
  //   waits for the slower of the two, not both in turn). The index may lag (Workers KV): the
  //   record may find the value previous (its event is published anyway, the same one), already
  //   dead, or not that record's. For those two the alert itself raises nothing, and the event
  //   is harmless: the rotator's replay re-reads the record and finds nothing to contain
  //   (`replayCompromise`: none or already_revoked, no DELETE, no rotation); the auditor records
  //   an alert that did arrive. Without the hint (an entry older than it, Deno KV, memory), the
  //   event is published after the record, as before.
  // - Named by credential id, the match is whatever value is current NOW: a redelivery of this
  //   delivery (or a capture replayed inside the signature window, or a sender's retry after a
  //   lost 202) after the first one rotated A to B would name B, so the event and the DELETE wait
  //   for the claim: one round trip more, on this path only.
  const byId = named.credential_id !== undefined;
  let published: Promise<unknown> | null = null;
  const match = await matchNamed(
    engine,
    named,
    byId ? undefined : (credentialId, fp) => void (published = publish(credentialId, fp)),
  );
  // `published` is assigned in the callback above, which TypeScript's flow analysis cannot see.
  const earlyEvent = published as Promise<unknown> | null;
  if (match.kind === "none") {
    if (earlyEvent) rt.defer(earlyEvent.catch(() => undefined));
    return { kind: "unmatched" };
  }
  let early: EarlyDelete | null = null;
  published = earlyEvent;
  if (!byId && mayDeleteAtOnce(match)) {
    // The claim is issued once the DELETE is (`startDelete`): the DELETE does not wait for it.
    published ??= publish(match.credential.id, match.fingerprint);
    ({ early } = await startDelete(engine, match, published));
  }
  const theAlert = await alertOnce();
  // Claimed for the work, completed only once containment is durable (its event published): if
  // anything fails first, the claim is released and the sender's retry with the same id is
  // processed, not refused as a replay. Reprocessing is safe: event ids are derived and a second
  // begin joins the running rotation.
  const replayKey = `hooks-${delivery.source}:${delivery.deliveryId}`;
  const owner = randomId("own", rt.now());
  const claim = rt.ledger.claim(replayKey, { owner, leaseMs: CLAIM_LEASE_MS });
  if (byId && mayDeleteAtOnce(match)) {
    // The manager's record (its token) is read beside the claim, not after it.
    const managerId = match.credential.manager_id!;
    match.manager = engine.store.getCredential(managerId);
    match.manager.catch(() => undefined); // unused or failed: the DELETE reads the manager itself
  }
  // The work already started finishes whatever happens to this request (the DELETE awaits the event).
  const letFinish = () => {
    if (early) rt.defer(early);
    else if (published) rt.defer(published.catch(() => undefined));
  };
  const claimed = await claim.catch((error: unknown) => {
    letFinish();
    throw error;
  });
  if (claimed !== "new") {
    letFinish();
    return { kind: "replayed" };
  }
  if (byId && mayDeleteAtOnce(match)) {
    published = publish(match.credential.id, match.fingerprint);
    ({ early } = await startDelete(engine, match, published));
  }
  const outcome = await reportLeak(rt, engine, match, theAlert, early, published).catch(async (error: unknown) => {
    letFinish();
    await rt.ledger.release(replayKey, owner).catch(() => undefined);
    throw error;
  });
  // Off the response path: until it lands, the claim's lease already refuses a replay.
  rt.defer(rt.ledger.complete(replayKey, owner));
  return { kind: "accepted", credentialId: match.credential.id, ...outcome };
}

/** A GitHub secret scanning alert in the customer's own repositories, its secret already read from GitHub. */
export interface RepoAlert {
  /** `owner/repo`, where the alert is (and where it is resolved). */
  repository: string;
  number: number;
  /** The GitHub App installation that delivered it, when known. */
  installationId?: number;
  /** GitHub's numeric repository id, when known: the actor's name for a repository whose name cannot be one. */
  repositoryId?: number;
  /** The leaked value: fingerprinted here, and never kept, logged or put in an event. */
  secret: string;
}

/**
 * A GitHub secret scanning alert (`POST /hooks/github/events`, or the cron backstop): match its
 * secret, remember the alert on the credential for its resolution (core/github/alert-links.ts),
 * contain, and publish `credential.compromised` (unless the value is already dead),
 * `github.alert_linked` and `alert.received`. `fastPath` begins containment now and drives it after
 * the response, as every alert route does; the backstop leaves it to the rotator instead (its
 * invocation has no room for a rotation). `delivery` (the webhook's delivery id, the sweep id)
 * makes each handling's `github.alert_linked` its own event, so a reopened alert is looked at again.
 * An alert whose secret matches no managed credential changes nothing.
 */
export async function reportRepoAlert(
  rt: AlertRuntime,
  engine: EngineServices,
  found: RepoAlert,
  opts: { delivery: string; fastPath: boolean; receivedAt?: number },
): Promise<{ kind: "unmatched" } | { kind: "accepted"; credentialId: string; action: string; rotationId?: string }> {
  const fp = await fingerprint(engine.fingerprintKey, found.secret);
  const match = await matchFingerprint(engine, fp);
  if (match.kind === "none") return { kind: "unmatched" };
  const credentialId = match.credential.id;
  const alert: Alert = {
    source: "github",
    id: await deriveId("alrt", "github-alert", found.repository.toLowerCase(), String(found.number)),
    reason: "token_match",
    ...(opts.receivedAt !== undefined ? { receivedAt: opts.receivedAt } : {}),
  };
  const actor = repoAlertActor(found.repository, found.number, found.repositoryId);
  // Contain first (./contain.ts `deleteAtOnce`): on the fast path the leaked value's DELETE starts
  // right after the match and the publish of its durable `credential.compromised` (so a crash
  // right after the DELETE converges through the rotator's replay), beside remembering the alert
  // (started once the DELETE's request is issued, `startDelete`). A redelivery names the same
  // value, by then previous or revoked: no event, no DELETE.
  let published: Promise<unknown> | null = null;
  if (opts.fastPath && mayDeleteAtOnce(match)) {
    published = compromisedEvent(alert, credentialId, fp, alert.receivedAt ?? rt.now(), actor)
      .then((e) => rt.bus.publish(e));
    published.catch(() => undefined); // awaited below; a failure deletes nothing
  }
  const { early } = published ? await startDelete(engine, match, published) : { early: null };
  await linkAlert(engine, credentialId, {
    alert_id: alert.id,
    repository: found.repository,
    number: found.number,
    ...(found.installationId ? { installation_id: found.installationId } : {}),
    fingerprint: fp,
  }, { retryFailed: opts.fastPath }).catch((error: unknown) => {
    if (early) rt.defer(early);
    throw error;
  });
  let action: string = match.kind === "already_revoked" ? "already_revoked" : "queued";
  let rotationId: string | undefined;
  if (opts.fastPath) {
    const c = await containNow(rt, engine, match, alert, early, actor);
    action = c.action;
    if (c.action === "rotation") rotationId = c.rotation.id;
  }
  const now = rt.now();
  const events: BusEvent[] = [];
  if (published) await published;
  else if (action !== "already_revoked" && action !== "none") {
    events.push(await compromisedEvent(alert, credentialId, fp, alert.receivedAt ?? now, actor));
  }
  events.push(
    newEvent("github.alert_linked", {
      credential_id: credentialId,
      fingerprint_prefix: fingerprintPrefix(fp),
      alert_id: alert.id,
      alert_number: found.number,
      actor,
    }, {
      source: `/rekey/hooks/${alert.source}`,
      subject: `credential/${credentialId}`,
      id: await deriveId("evt", "github-linked", alert.id, opts.delivery),
      now,
    }),
    await receivedEvent(alert, 1, 1, now),
  );
  await rt.bus.publishAll(events);
  return { kind: "accepted", credentialId, action, ...(rotationId ? { rotationId } : {}) };
}

/**
 * The request invocation's budget under the Workers free plan's 50 subrequests (Durable Object
 * calls, queue sends and outbound fetches together; KV operations are limited apart, 1,000), and
 * a deferred chunk's consumer invocation's (`reportDeferredTokens`: the consumer's own calls in
 * place of the key fetches).
 * - GitHub's public keys: at most 2 fetches (a cached list, refreshed once on an unknown key id).
 * - The fast path: one matched credential read and contained in this invocation, its compromise
 *   rotation driven to containment in `waitUntil`: 41 subrequests measured when it drove the whole
 *   rotation (30 Durable Object calls, 4 Clarifai calls, 7 sends of the engine's events), 42 kept
 *   since it stops at containment, where an app key's costs 7 (test/workers/github-large-batch.test.ts
 *   prints the request's total, 8, and a chunk's, 12): the margin is for the longer containments
 *   (a self-managed PAT's create, a secret's propagate) and for transient Clarifai failures retried
 *   inside the drive.
 * - The alert's events: one queue send per 100 (`sendBatch`), and a split GitHub batch's sealed
 *   chunks, as many sends as ../bus/send-batches.ts groups them into (a few per 240 KB).
 * So the fast path runs only while the events fit beside it (≤ 599 matched credentials); a larger
 * alert queues everything (≤ 48 sends: 4,799 matched credentials and the `alert.received`) and the
 * consumer starts containing within its batch timeout.
 */
const SUBREQUEST_LIMIT = 50;
const KEY_FETCHES = 2;
const FAST_PATH_SUBREQUESTS = 42;
const EVENTS_PER_SEND = 100;
/** Matched credentials contained in the request's own invocation. */
const FAST_PATH_CONTAINMENTS = 1;

export interface BatchOutcome {
  /** Whether a token's fingerprint is (or was) a managed credential's. */
  matched: (fp: string) => boolean;
  /** Set when more credentials matched than one invocation can queue events for: only `queued` were. */
  overflow?: { matched: number; queued: number };
}

/**
 * An alert listing many leaked tokens (a GitHub batch of up to 10,000), given their keyed
 * fingerprints in the order the alert lists them. The work that grows with the batch is bulk:
 * one KV operation per 100 distinct fingerprints, one queue send per 100 events; only the first
 * match is read and contained in this invocation, and only while the events leave room for it.
 * `tokenCount`: the alert's tokens, when `fps` are only the part this invocation handles (a GitHub
 * batch split across invocations: ./deferred-tokens.ts). `deferred`: that batch's sealed chunks,
 * published with this alert's events and before its `alert.received`, so that a received alert
 * means every chunk was queued; if the publish fails, the log says how many chunks were (the 5xx
 * makes GitHub redeliver, and the chunks' ids are the same).
 */
export async function reportTokens(
  rt: AlertRuntime,
  engine: EngineServices,
  alert: Alert,
  fps: readonly string[],
  tokenCount: number = fps.length,
  deferred: readonly BusEvent[] = [],
): Promise<BatchOutcome> {
  const now = alert.receivedAt ?? rt.now();
  // One KV operation per 100 distinct fingerprints; no record is read for a token that matches nothing.
  const leaks = leaksOf(fps, await engine.store.findCredentialsByFingerprints(fps));
  // A split GitHub batch's chunks are sent with the events (up to ~12 sends for a 2 MiB body of
  // long tokens): reserved first. Grouped with the events, they take at most as many sends as apart.
  const reserved = deferred.length > 0 ? [...sendBatches(deferred)].length : 0;
  const fits = fastPathFits(KEY_FETCHES + reserved, leaks.size + 1);
  const fast = await readFirst(alert, engine, leaks, fits ? FAST_PATH_CONTAINMENTS : 0);
  const matched = (fp: string) => {
    const m = fast.get(fp);
    return m ? m.kind !== "none" : leaks.has(fp);
  };

  // Durable events first: once they are queued, containment no longer depends on this invocation.
  const compromised = await compromisedEvents(alert, leaks, fast, now);
  const received = await receivedEvent(alert, tokenCount, fps.filter(matched).length, now);
  const capacity = (SUBREQUEST_LIMIT - KEY_FETCHES - reserved) * EVENTS_PER_SEND - 1;
  let chunksQueued = 0;
  try {
    for (const batch of sendBatches([...compromised.slice(0, capacity), ...deferred, received])) {
      await rt.bus.publishAll(batch);
      chunksQueued += batch.filter((e) => e.type === "github.tokens_deferred").length;
    }
  } catch (error) {
    if (deferred.length > 0) {
      // Ids and counts only: never a token, sealed or not.
      console.error(JSON.stringify({
        level: "error",
        msg: `${alert.source}.defer_failed`,
        alert_id: alert.id,
        chunks: deferred.length,
        published: chunksQueued,
        error: error instanceof Error ? error.name : "unknown",
      }));
    }
    throw error;
  }
  // More managed credentials (4,800+) leaked in one alert than one invocation can queue events
  // for. The first ones are queued and will be contained; the caller tells an operator.
  if (compromised.length > capacity) return { matched, overflow: { matched: compromised.length, queued: capacity } };
  await containFirst(rt, engine, alert, fast);
  return { matched };
}

/**
 * A deferred chunk's tokens (./deferred-tokens.ts `matchDeferredChunk`), in its own consumer
 * invocation, by the request's rules (`reportTokens`) without its answer or `alert.received`: every
 * match's `credential.compromised` is published, then the chunk's first match is contained at once
 * exactly as the request contains its own (`containFirst`: read from its record, deleted at Clarifai
 * only once the events are durable, its rotation begun and driven to containment in this
 * invocation, the rest left to the rotator's replay of its event). Without it every match of a
 * chunk waited one more queue hop than the request's first. `spent`: the subrequests the
 * consumer's invocation spends besides (its handlers' ledger calls), so that the fast path runs
 * only where it fits the invocation's 50.
 */
export async function reportDeferredTokens(
  rt: AlertRuntime,
  engine: EngineServices,
  alert: Alert,
  fps: readonly string[],
  spent: number,
): Promise<void> {
  const leaks = leaksOf(fps, await engine.store.findCredentialsByFingerprints(fps));
  if (leaks.size === 0) return;
  const now = alert.receivedAt ?? rt.now();
  const fast = await readFirst(alert, engine, leaks, fastPathFits(spent, leaks.size) ? FAST_PATH_CONTAINMENTS : 0);
  const compromised = await compromisedEvents(alert, leaks, fast, now);
  if (compromised.length > 0) await rt.bus.publishAll(compromised);
  await containFirst(rt, engine, alert, fast);
}

/** Each (credential, leaked value) once, in the order the alert listed them: fingerprint → credential id. */
function leaksOf(fps: readonly string[], index: ReadonlyMap<string, string>): Map<string, string> {
  const leaks = new Map<string, string>();
  for (const fp of fps) {
    const id = index.get(fp);
    if (id && !leaks.has(fp)) leaks.set(fp, id);
  }
  return leaks;
}

/** Whether the fast path fits beside `spent` subrequests and the sends of `events` events. */
const fastPathFits = (spent: number, events: number) =>
  Math.ceil(events / EVENTS_PER_SEND) + spent <= SUBREQUEST_LIMIT - FAST_PATH_SUBREQUESTS;

/**
 * The fast path's first `n` matches, read from the strongly consistent record, which decides
 * whether the value is current, previous, already dead or (a lagging index) not this record's.
 * A record that cannot be read (a cell that fails, a record this version cannot parse) drops the
 * fast path for that match only: it is left out of the map, so its event is published like every
 * other match's and the rotator's replay (retried) contains it. Throwing instead would publish
 * nothing: the request would 5xx, a chunk would retry until it died, and every other match of
 * the alert would wait on the one record.
 */
async function readFirst(
  alert: Alert,
  engine: EngineServices,
  leaks: ReadonlyMap<string, string>,
  n: number,
): Promise<Map<string, LeakMatch>> {
  const fast = new Map<string, LeakMatch>();
  for (const [fp, id] of [...leaks].slice(0, n)) {
    let found;
    try {
      found = await engine.store.getCredential(id);
    } catch (error) {
      // Ids only: the record's text (which failed to parse) is never logged.
      console.error(JSON.stringify({
        level: "warn",
        msg: `${alert.source}.fast_path_skipped`,
        alert_id: alert.id,
        credential_id: id,
        error: error instanceof Error ? error.name : "unknown",
      }));
      continue;
    }
    const m = found ? matchRecord(found.value, fp) : { kind: "none" as const };
    if (mayDeleteAtOnce(m)) {
      // Its manager's record (the early DELETE's token) is read beside the events' publish.
      m.manager = engine.store.getCredential(m.credential.manager_id!);
      m.manager.catch(() => undefined); // failed: the early DELETE reads the manager itself
    }
    fast.set(fp, m);
  }
  return fast;
}

/**
 * Every match's `credential.compromised`, in order. A value the fast path found dead (or not
 * there) raises nothing new; every other match is re-read from its record by the rotator, which
 * does nothing for a dead value either.
 */
async function compromisedEvents(
  alert: Alert,
  leaks: ReadonlyMap<string, string>,
  fast: ReadonlyMap<string, LeakMatch>,
  now: number,
): Promise<BusEvent[]> {
  const compromised: BusEvent[] = [];
  for (const [fp, credentialId] of leaks) {
    const m = fast.get(fp);
    if (m && (m.kind === "none" || m.kind === "already_revoked")) continue;
    compromised.push(await compromisedEvent(alert, credentialId, fp, now));
  }
  return compromised;
}

/**
 * Fast path, called once every match's event is published: begin (or join) containment now and
 * drive it to containment in the runtime's `defer`. The early DELETE (./contain.ts `deleteAtOnce`)
 * comes after that publish, so a crash right after it converges through the rotator's replay of
 * `credential.compromised`; the begin starts once the DELETE's request is issued (`startDelete`).
 */
async function containFirst(
  rt: AlertRuntime,
  engine: EngineServices,
  alert: Alert,
  fast: ReadonlyMap<string, LeakMatch>,
): Promise<void> {
  for (const m of fast.values()) {
    if (m.kind !== "current" && m.kind !== "previous") continue;
    try {
      await containNow(rt, engine, m, alert, (await startDelete(engine, m, Promise.resolve())).early);
    } catch (error) {
      // The queued event contains it instead; nothing about the value is logged.
      console.error(
        JSON.stringify({
          level: "warn",
          msg: `${alert.source}.fast_path_failed`,
          alert_id: alert.id,
          credential_id: m.credential.id,
          error: error instanceof Error ? error.name : "unknown",
        }),
      );
    }
  }
}

/**
 * The rotator's replay of a `credential.compromised` event: contain again from the event alone
 * (credential id and fingerprint prefix), matched by the same rules as the alert was. The caller
 * drives the work to its end instead of deferring it. `exact`: the leaked value's whole
 * fingerprint, when the caller knows it (a rotation it joined retired that value), matched instead
 * of the prefix, which another of the record's values may share.
 */
export async function replayCompromise(
  engine: EngineServices,
  data: { credential_id: string; fingerprint_prefix: string; alert_source: AlertSource; actor?: Actor | undefined },
  receivedAt?: number,
  exact?: string,
): Promise<Containment> {
  const found = await engine.store.getCredential(data.credential_id);
  if (!found) return { action: "none" };
  const actor = data.actor ?? alertActor(data.alert_source);
  const match = exact ? matchRecord(found.value, exact) : matchPrefix(found.value, data.fingerprint_prefix);
  return contain(engine, match, actor, receivedAt);
}
