/**
 * A GitHub partner alert larger than one invocation's CPU allows, split across invocations.
 *
 * The Workers free plan gives an invocation 10 ms of CPU, and a token costs about 15 µs of it
 * (fingerprint, hash, hex, the bulk lookup: bench P5 measured 23 ms for a 1,000-token batch in one
 * request). The request handles the first `inlineTokens` (default {@link INLINE_TOKENS}) as it
 * always did and hands the rest to the bus as `github.tokens_deferred` events, each chunk of at
 * most `inlineTokens` tokens its own queue consumer invocation with its own CPU budget. A service
 * binding to ourselves would not help: Cloudflare bills a service binding's CPU to the top-level
 * request.
 *
 * Each chunk is sealed (AES-256-GCM, ../crypto/envelope.ts `encrypt`, under the keyring's current
 * key) with an AAD binding the alert id and the tokens' absolute positions in the alert (`first`,
 * `token_count`), so a chunk cannot be replayed as another alert's or as other tokens; its event id
 * is derived from the same three, so a chunk's id names the tokens it holds, whatever
 * GITHUB_INLINE_TOKENS was when it was cut.
 *
 * Security trade-off, made here: rekey holds third-party leaked tokens (mostly values that are not
 * ours: GitHub sends every token that looks like a Clarifai key) in the queue, sealed, for the
 * seconds until the consumer acks the chunk (or up to the queue's retention if the consumer is
 * down; a dead chunk: below). The alternative is to refuse or truncate
 * batches larger than one invocation can handle, which leaves a leaked managed key alive. Sealed
 * under the same key as the credentials' own values, a chunk is no easier to read than the store,
 * and the values never appear in clear in an event, log line, dead letter notice or audit entry
 * (the auditor keeps counts only). Dropping a key version while chunks sealed under it are queued
 * makes them unreadable: they go to the dead letters (permanent failure), as a tampered one does.
 *
 * What a dead chunk loses, plainly: its tokens are never matched. On Workers the dead-letter
 * handler raises `event.dead_lettered` (event id, alert id, token count; never the tokens) and
 * then acks the message, so the sealed tokens are gone; no `rotation.failed` is raised, as a chunk
 * names no credential. A managed key among them stays live until an operator acts on the notice
 * (README, "Deploy to Cloudflare", on dead letters: find the alert at GitHub, rotate what it may have leaked). On Deno the dead
 * chunk stays sealed under `bus-dead-chunk`, one key per chunk whatever the requeue round, until 4
 * days after its alert (adapters/deno-kv-bus.ts `deadLetterKey`; the copy Deno KV itself writes
 * after failed deliveries, `keysIfUndelivered`, takes no expiry, so the cron tick deletes it then:
 * `purgeDeadChunks`). A chunk dies at once of a permanent failure (above). One that died after its
 * retries (5, about 5 minutes of store or Durable Object trouble) is re-queued by the dead-letter
 * handler ({@link requeueDeadChunk}) while its alert is younger than {@link REQUEUE_MAX_AGE_MS};
 * only then is a human told. However many rounds, a chunk is one audit entry (the auditor writes
 * it under {@link chunkId}: ../subscribers/handlers.ts).
 *
 * A chunk's handler ({@link matchDeferredChunk}) publishes `credential.compromised` for its
 * matches with the same derived ids as the request would have (pipeline.ts `compromisedEvent`),
 * so a redelivered alert (whose chunks have the same ids when cut the same way, though a fresh IV)
 * changes nothing, and contains its first match at once, as the request contains its own
 * (pipeline.ts `reportDeferredTokens`).
 */
import * as z from "zod/mini";
import type { EventBus } from "../bus/bus.ts";
import { handlerFailure } from "../bus/errors.ts";
import type { DeadLetterInfo } from "../bus/bus.ts";
import type { BusEvent, EventOf } from "../bus/events.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { decrypt, encrypt, type SealedAad } from "../crypto/envelope.ts";
import { fingerprintAll } from "../crypto/fingerprint.ts";
import type { Keyring } from "../crypto/keyring.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import { type Alert, reportDeferredTokens } from "./pipeline.ts";

/**
 * Tokens one invocation handles: the request's inline part and each deferred chunk. A token costs
 * an invocation about 10 µs (fingerprint, hash and hex in the request, the bulk lookup), on top of
 * a fixed part: the request's signature check, JSON.parse and check of the whole body and the
 * chunks' seals; a chunk's opening, its consumer's ledger calls and the containment of its first
 * match (about as much as a matched alert's). At 200 (the default until 2026-12-03) a 1,000-token
 * request measured 6.7-9.3 ms and a chunk with a match 5.9-8.2 ms over five runs of bench P5 on one
 * host, too near the free plan's 10 ms; 100 is the lowest src/config.ts allows and takes half the
 * per-token part off both (BENCHMARKS.md, "P5 on branch s29-batch"). The price, made here: twice
 * the queue messages (a 1,000-token alert is 9 chunks, a 10,000-token one 99), feedback for the
 * first 100 tokens only, and a managed key at positions 100-199 matched one queue hop after the
 * request (by the first chunk, which contains its own first match at once). On the Paid plan (30 s
 * of CPU by default) `GITHUB_INLINE_TOKENS` can raise it up to the largest alert.
 */
export const INLINE_TOKENS = 100;

/**
 * Plaintext bytes per chunk at most (a chunk of long tokens is split further): sealed and base64
 * encoded (53,356 characters) it stays under Deno KV's 64 KiB value limit with its envelope, and
 * under Queues' 128 KB message limit.
 */
const CHUNK_MAX_BYTES = 40_000;

const utf8 = new TextEncoder();

/**
 * What a chunk's ciphertext is bound to: this alert, these tokens (the alert's `first` to
 * `first + count - 1`, by their absolute positions in the alert). Not the chunk's index: which
 * tokens chunk n holds depends on GITHUB_INLINE_TOKENS and CHUNK_MAX_BYTES, so an index-bound
 * chunk id would let a redelivery under another configuration skip tokens it never handled.
 */
function chunkAad(alertId: string, first: number, count: number): SealedAad {
  return { id: alertId, kind: "github.tokens_deferred", field: ["tokens", String(first), String(count)] };
}

/**
 * The tokens' chunks, in order: at most `size` tokens and CHUNK_MAX_BYTES of JSON each. `first`:
 * each chunk's first token's position in `tokens`.
 */
function split(tokens: readonly string[], size: number): { text: string; first: number; count: number }[] {
  const out: { text: string; first: number; count: number }[] = [];
  const add = (first: number, part: readonly string[]) => {
    const text = JSON.stringify(part);
    // UTF-16 length × 3 bounds the UTF-8 length: most chunks are decided without encoding them.
    if (part.length > 1 && text.length * 3 > CHUNK_MAX_BYTES && utf8.encode(text).length > CHUNK_MAX_BYTES) {
      const half = Math.ceil(part.length / 2);
      add(first, part.slice(0, half));
      add(first + half, part.slice(half));
    } else out.push({ text, first, count: part.length });
  };
  for (let i = 0; i < tokens.length; i += size) add(i, tokens.slice(i, i + size));
  return out;
}

/**
 * A chunk's own event id: derived from its alert and the tokens it holds, so it names the chunk
 * whatever copy carries it (a requeued copy has an id of its own: {@link requeueDeadChunk}).
 */
export const chunkId = (alertId: string, first: number, count: number): Promise<string> =>
  deriveId("evt", "deferred", alertId, String(first), String(count));

/**
 * Seals `tokens` (the alert's, from position `offset`: those after the request's inline part) into
 * `github.tokens_deferred` events, for the caller to publish before `alert.received`
 * (pipeline.ts `reportTokens`). Deterministic from the tokens each chunk holds: a redelivery
 * publishes the same event ids for the same tokens, and new ids for a chunk that holds other
 * tokens (GITHUB_INLINE_TOKENS changed between deliveries), so no token is skipped as already
 * handled. JSON.stringify escapes lone surrogates, so every chunk is well-formed text for `encrypt`.
 */
export async function sealChunks(
  keyring: Keyring,
  alert: Alert & { source: "github" },
  tokens: readonly string[],
  offset: number,
  size: number,
  now: number,
): Promise<EventOf<"github.tokens_deferred">[]> {
  const chunks = split(tokens, size);
  const events: EventOf<"github.tokens_deferred">[] = [];
  for (const [i, { text, first: at, count }] of chunks.entries()) {
    const first = offset + at;
    const sealed = await encrypt(keyring, text, chunkAad(alert.id, first, count));
    events.push(newEvent("github.tokens_deferred", {
      alert_source: alert.source,
      alert_id: alert.id,
      chunk: i + 1,
      chunks: chunks.length,
      first,
      token_count: count,
      sealed: { v: sealed.v, aad: 2, iv: sealed.iv, ct: sealed.ct },
    }, {
      source: `/rekey/hooks/${alert.source}`,
      id: await chunkId(alert.id, first, count),
      now,
    }));
  }
  return events;
}

/**
 * How long after its alert arrived (the chunk's `time`) a chunk sealed under a key version above
 * the consumer's current one is still retried: long enough for a deploy that adds a version to
 * reach every isolate (Workers: seconds to a few minutes; the queue's retries, about 5 minutes,
 * and one requeue round, ../subscribers/index.ts, fit inside it). After it the version is taken
 * to be gone, not coming: an operator rolled REKEY_ENCRYPTION_KEYS back and removed it, so no
 * consumer will ever hold it. Trade-off, made here: such a chunk then dead-letters with its notice
 * (alert id, token count) at its first delivery past 15 minutes (about 20 after its alert, with
 * the backoff), instead of failing every delivery and every requeue round for an hour
 * (REQUEUE_MAX_AGE_MS) before the same notice; the cost is that a rollout slower
 * than this (a gradual deployment held part-way) dead-letters chunks a later isolate could have
 * opened, and a human is told to act on an alert that rekey might have handled by itself.
 */
const NEWER_KEY_WAIT_MS = 15 * 60_000;

/**
 * What a chunk's consumer invocation spends besides the chunk's own work: the ledger's claim and
 * complete for each of its two handlers (rotator, auditor: ../bus/bus.ts `runOnce`), and a DLQ
 * forward should one of them fail for good. The chunk's fast path (pipeline.ts
 * `reportDeferredTokens`) runs only where it fits beside them and the chunk's sends.
 */
const CONSUMER_SUBREQUESTS = 5;

const chunkSchema = z.array(z.string().check(z.minLength(1), z.maxLength(4096))).check(
  z.minLength(1),
  z.maxLength(10_000),
);

/**
 * `github.tokens_deferred` (the rotator's side, core/subscribers/handlers.ts): open the chunk,
 * fingerprint its tokens, look them up in bulk, publish `credential.compromised` for each
 * (credential, leaked value) and contain the first at once, as the request does its own (the
 * early DELETE once the events are durable, the rotation driven to containment in this
 * invocation: pipeline.ts `reportDeferredTokens`); the rotator's replay of each event contains
 * the others and finishes the first. It re-reads the record, and does nothing for a value that
 * is already dead.
 *
 * A chunk that does not open (tampered, wrong AAD, a dropped key version) or does not parse is a
 * permanent failure: the consumer forwards it to the dead letters at once (a human is told, by
 * event id, alert id and token count, never by content) rather than retrying something that cannot
 * succeed. A chunk sealed under a key version newer than this isolate's current one is retried
 * while young ({@link NEWER_KEY_WAIT_MS}): during a deploy that adds a version, a new isolate seals
 * with it before every consumer has it.
 */
export async function matchDeferredChunk(
  engine: EngineServices,
  bus: EventBus,
  event: EventOf<"github.tokens_deferred">,
): Promise<void> {
  const { alert_id: alertId, chunk, first, token_count: count } = event.data;
  const opened = await decrypt(engine.keyring, event.data.sealed, chunkAad(alertId, first, count));
  if (!opened.ok) {
    // A version above this isolate's current one: the chunk was sealed by an isolate already running
    // a newer REKEY_ENCRYPTION_KEYS (a deploy adding a key version is rolling out), and this one will be
    // replaced within the retries. Any other failure cannot succeed later, and neither can "newer"
    // once the chunk is older than a deploy takes (NEWER_KEY_WAIT_MS): see there.
    const newer = opened.error.code === "unknown_key_version" && event.data.sealed.v > engine.keyring.currentVersion &&
      engine.now() - Date.parse(event.time) < NEWER_KEY_WAIT_MS;
    throw handlerFailure(`chunk_${opened.error.code}`, `Cannot open chunk ${chunk} of alert "${alertId}"`, {
      retryable: newer,
    });
  }
  let tokens: string[];
  try {
    tokens = chunkSchema.parse(JSON.parse(opened.value));
    if (tokens.length !== count) throw new Error("count");
  } catch {
    // Authentic but not a token list: only a bug of ours seals that. Nothing of it is quoted.
    throw handlerFailure("chunk_malformed", `Chunk ${chunk} of alert "${alertId}" is not a token list`, {
      retryable: false,
    });
  }
  const fps = await fingerprintAll(engine.fingerprintKey, tokens.map((t) => utf8.encode(t) as Uint8Array<ArrayBuffer>));
  // The alert's arrival, as the request's own events: containment is timed from it.
  const now = Date.parse(event.time);
  const alert: Alert = { source: "github", id: alertId, reason: "token_match", receivedAt: now };
  // The chunk's first match is contained in this invocation, as the request's is (waitUntil
  // there): its work is awaited here, so the handler (and the message's ack) waits for it.
  const work: Promise<unknown>[] = [];
  const rt = { bus, defer: (p: Promise<unknown>) => void work.push(p), now: engine.now };
  await reportDeferredTokens(rt, engine, alert, fps, CONSUMER_SUBREQUESTS);
  // A failed drive is the rotator's replay's to finish (its event is published), as when the
  // request's waitUntil work fails: not this chunk's failure, so not retried with it.
  await Promise.allSettled(work);
}

/**
 * How long after its alert arrived (the chunk's `time`) a chunk that ran out of retries is still
 * re-queued: a KV or Durable Object outage of an hour is then survived, about 12 rounds of retries,
 * before the dead letter's notice asks a human to act.
 */
const REQUEUE_MAX_AGE_MS = 3_600_000;

/**
 * A dead chunk to send to the main queue again, or null (the caller then raises its notice). Only
 * one whose retries ran out, and only while young: a permanent failure would fail again. The copy
 * gets a fresh id, derived from the dead one: the dead-letter handler runs once per event id, so a
 * copy under the same id that died again would be acked without anyone being told. Its `time` is
 * the alert's, unchanged, which bounds the rounds; its matches' `credential.compromised` ids are
 * derived from the alert, so a round that partly ran changes nothing twice.
 */
export async function requeueDeadChunk(event: BusEvent, info: DeadLetterInfo, now: number): Promise<BusEvent | null> {
  if (event.type !== "github.tokens_deferred" || info.reason !== "retries_exhausted") return null;
  if (!(now - Date.parse(event.time) < REQUEUE_MAX_AGE_MS)) return null;
  return { ...event, id: await deriveId("evt", "deferred-again", event.id) };
}
