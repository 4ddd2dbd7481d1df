/**
 * Building envelopes and their ids.
 *
 * Consumers deduplicate on `source` + `id` (CloudEvents: "Consumers MAY assume that Events with
 * identical source and id are duplicates"), so the same fact must get the same id however often it
 * is published: the same webhook delivered twice, an engine transition emitted again after a crash.
 * `deriveId` gives such ids by hashing what identifies the fact; `newEventId` is for facts that
 * happen once.
 *
 * Runtime-neutral: WebCrypto only.
 */
import { encodeBase64Url } from "../crypto/encoding.ts";
import { busEventSchema, type EventData, type EventOf, type EventType, markValidated } from "./events.ts";
import { iso } from "../time.ts";

export interface NewEventOptions {
  /** `/rekey/hooks/github`, `/rekey/engine`, `/rekey/cron`, `/rekey/admin`, ... */
  source: string;
  /** `credential/<id>`, `rotation/<id>` */
  subject?: string;
  /** A derived id (see `deriveId`) to make republishing the same fact a duplicate; random if absent. */
  id?: string;
  /** Milliseconds since the epoch. */
  now: number;
}

/** A random event id: `evt_` + 128 random bits as base64url. */
export function newEventId(): string {
  return `evt_${encodeBase64Url(crypto.getRandomValues(new Uint8Array(16)))}`;
}

/** One encoder for every id derived (a batch derives one per event). */
const utf8 = new TextEncoder();

/**
 * A deterministic id `<prefix>_` + 128 bits of SHA-256 over the prefix and `parts`, e.g.
 * `deriveId("evt", "webhook", webhookId)` or `deriveId("alrt", "github", deliveryId)`.
 *
 * Parts must not be secret: an unkeyed hash of a low-entropy secret can be reversed by guessing.
 * Hash ids and digests, not tokens (if a raw alert body must be hashed, the leaked tokens in it
 * are high-entropy, but prefer the sender's delivery id).
 */
export async function deriveId(prefix: "evt" | "alrt", ...parts: string[]): Promise<string> {
  // JSON of the array keeps parts unambiguous: ["a:b"] and ["a", "b"] hash differently.
  const input = utf8.encode(JSON.stringify([prefix, ...parts]));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", input));
  return `${prefix}_${encodeBase64Url(digest.subarray(0, 16))}`;
}

/**
 * A validated envelope.
 *
 * @throws {TypeError} if `data` or an option does not match its schema: a bug in the caller, so
 *   it fails loudly; the message names the offending paths, never their values.
 */
export function newEvent<T extends EventType>(type: T, data: EventData<T>, opts: NewEventOptions): EventOf<T> {
  const parsed = busEventSchema.safeParse({
    specversion: "1.0",
    id: opts.id ?? newEventId(),
    source: opts.source,
    type,
    time: iso(opts.now),
    ...(opts.subject !== undefined ? { subject: opts.subject } : {}),
    datacontenttype: "application/json",
    data,
  });
  if (!parsed.success) {
    const paths = parsed.error.issues.map((i) => `"${i.path.join(".") || "(root)"}"`).join(", ");
    throw new TypeError(`Cannot build event "${type}": invalid ${paths}`);
  }
  return markValidated(parsed.data as EventOf<T>);
}
