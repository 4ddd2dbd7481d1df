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
 * key) with an AAD binding the alert id and the chunk index, so a chunk cannot be replayed as
 * another alert's or another index's.
 *
 * Security trade-off, made here: rekey holds third-party leaked tokens (mostly values that are not
 * ours: GitHub sends every token that looks like a Clarifai key) in the queue, sealed, for the
 * seconds until the consumer acks the chunk (or up to the queue's retention if the consumer is
 * down, or in the dead-letter queue if it failed). The alternative is to refuse or truncate
 * batches larger than one invocation can handle, which leaves a leaked managed key alive. Sealed
 * under the same key as the credentials' own values, a chunk is no easier to read than the store,
 * and the values never appear in clear in an event, log line, dead letter notice or audit entry
 * (the auditor keeps counts only). Dropping a key version while chunks sealed under it are queued
 * makes them unreadable: they go to the dead letters (permanent failure), as a tampered one does.
 *
 * A chunk's handler ({@link matchDeferredChunk}) publishes `credential.compromised` for its
 * matches with the same derived ids as the request would have (pipeline.ts `compromisedEvent`),
 * so a redelivered alert (whose chunks have the same ids, though a fresh IV) changes nothing.
 */
import * as z from "zod/mini";
import type { EventBus } from "../bus/bus.ts";
import { handlerFailure } from "../bus/errors.ts";
import type { BusEvent, EventOf } from "../bus/events.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import { decrypt, encrypt, type SealedAad } from "../crypto/envelope.ts";
import { fingerprintAll } from "../crypto/fingerprint.ts";
import type { Keyring } from "../crypto/keyring.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import { type Alert, compromisedEvent } from "./pipeline.ts";

/**
 * Tokens one invocation handles: the request's inline part and each deferred chunk. Chosen from
 * bench P5 (`npx tsx bench/p5-cpu.ts --short`, load 3-5): a token costs the request about 14 µs
 * (fingerprint, hash, hex, lookup), and a 1,000-token request costs about 6-7 ms before any of
 * that (signature, JSON.parse and zod over the whole body, GC). At 300 inline the request measured
 * 10.45 ms, at 200 11.8 ms (median 10.8 and 11.4: within the load's noise), a chunk 2-4.5 ms.
 * 200 leaves the most room the fixed part allows without multiplying queue operations (a
 * 10,000-token alert is 49 chunks). On the Paid plan (30 s of CPU by default)
 * `GITHUB_INLINE_TOKENS` can raise it up to the largest alert.
 */
export const INLINE_TOKENS = 200;

/**
 * Plaintext bytes per chunk at most (a chunk of long tokens is split further): sealed and base64
 * encoded (53,356 characters) it stays under Deno KV's 64 KiB value limit with its envelope, and
 * under Queues' 128 KB message limit.
 */
const CHUNK_MAX_BYTES = 40_000;

const utf8 = new TextEncoder();

/** What a chunk's ciphertext is bound to: this alert, this index. */
function chunkAad(alertId: string, chunk: number): SealedAad {
  return { id: alertId, kind: "github.tokens_deferred", field: ["chunk", String(chunk)] };
}

/** The tokens' chunks, in order: at most `size` tokens and CHUNK_MAX_BYTES of JSON each. */
function split(tokens: readonly string[], size: number): { text: string; count: number }[] {
  const out: { text: string; count: number }[] = [];
  const add = (part: readonly string[]) => {
    const text = JSON.stringify(part);
    // UTF-16 length × 3 bounds the UTF-8 length: most chunks are decided without encoding them.
    if (part.length > 1 && text.length * 3 > CHUNK_MAX_BYTES && utf8.encode(text).length > CHUNK_MAX_BYTES) {
      const half = Math.ceil(part.length / 2);
      add(part.slice(0, half));
      add(part.slice(half));
    } else out.push({ text, count: part.length });
  };
  for (let i = 0; i < tokens.length; i += size) add(tokens.slice(i, i + size));
  return out;
}

/**
 * Seals `tokens` (those after the request's inline part) into `github.tokens_deferred` events and
 * publishes them. Deterministic from the alert: a redelivery publishes the same event ids.
 * JSON.stringify escapes lone surrogates, so every chunk is well-formed text for `encrypt`.
 */
export async function deferTokens(
  bus: EventBus,
  keyring: Keyring,
  alert: Alert & { source: "github" },
  tokens: readonly string[],
  size: number,
  now: number,
): Promise<number> {
  const chunks = split(tokens, size);
  const events: BusEvent[] = [];
  for (const [i, { text, count }] of chunks.entries()) {
    const chunk = i + 1;
    const sealed = await encrypt(keyring, text, chunkAad(alert.id, chunk));
    events.push(newEvent("github.tokens_deferred", {
      alert_source: alert.source,
      alert_id: alert.id,
      chunk,
      chunks: chunks.length,
      token_count: count,
      sealed: { v: sealed.v, aad: 2, iv: sealed.iv, ct: sealed.ct },
    }, {
      source: `/rekey/hooks/${alert.source}`,
      id: await deriveId("evt", "deferred", alert.id, String(chunk)),
      now,
    }));
  }
  await bus.publishAll(events);
  return chunks.length;
}

const chunkSchema = z.array(z.string().check(z.minLength(1), z.maxLength(4096))).check(
  z.minLength(1),
  z.maxLength(10_000),
);

/**
 * `github.tokens_deferred` (the rotator's side, core/subscribers/handlers.ts): open the chunk,
 * fingerprint its tokens, look them up in bulk and publish `credential.compromised` for each
 * (credential, leaked value), whose rotator handler contains it. The rules are the request's
 * (pipeline.ts `reportTokens`) for every match beyond its fast path: the rotator re-reads the
 * record, and does nothing for a value that is already dead.
 *
 * A chunk that does not open (tampered, wrong AAD, a dropped key version) or does not parse is a
 * permanent failure: the consumer forwards it to the dead letters at once (a human is told, by
 * event id, never by content) rather than retrying something that cannot succeed.
 */
export async function matchDeferredChunk(
  engine: EngineServices,
  bus: EventBus,
  event: EventOf<"github.tokens_deferred">,
): Promise<void> {
  const { alert_id: alertId, chunk } = event.data;
  const opened = await decrypt(engine.keyring, event.data.sealed, chunkAad(alertId, chunk));
  if (!opened.ok) {
    throw handlerFailure(`chunk_${opened.error.code}`, `Cannot open chunk ${chunk} of alert "${alertId}"`, {
      retryable: false,
    });
  }
  let tokens: string[];
  try {
    tokens = chunkSchema.parse(JSON.parse(opened.value));
  } catch {
    // Authentic but not a token list: only a bug of ours seals that. Nothing of it is quoted.
    throw handlerFailure("chunk_malformed", `Chunk ${chunk} of alert "${alertId}" is not a token list`, {
      retryable: false,
    });
  }
  const fps = await fingerprintAll(engine.fingerprintKey, tokens.map((t) => utf8.encode(t) as Uint8Array<ArrayBuffer>));
  const index = await engine.store.findCredentialsByFingerprints(fps);
  // The alert's arrival, as the request's own events: containment is timed from it.
  const now = Date.parse(event.time);
  const alert: Alert = { source: "github", id: alertId, reason: "token_match", receivedAt: now };
  const seen = new Set<string>();
  const compromised: BusEvent[] = [];
  for (const fp of fps) {
    const id = index.get(fp);
    if (!id || seen.has(fp)) continue;
    seen.add(fp);
    compromised.push(await compromisedEvent(alert, id, fp, now));
  }
  if (compromised.length > 0) await bus.publishAll(compromised);
}
