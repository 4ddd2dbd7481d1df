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
import { type EventData, eventDataSchemas, type EventOf, type EventType, markValidated } from "./events.ts";
import { eventIdSchema, sourceSchema, subjectSchema } from "./fields.ts";
import { iso, isoTimeSchema } from "../time.ts";

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
 * The envelope's own fields that vary, in the order `busEventSchema`'s object checks them (so a
 * failure names the same paths in the same order). `specversion`, `datacontenttype` and `type`
 * are not checked: `newEvent` writes the first two as constants, and `type` is valid once its
 * `data` schema is found.
 */
const ENVELOPE = { id: eventIdSchema, source: sourceSchema, time: isoTimeSchema, subject: subjectSchema };

/**
 * A validated envelope: the same value, and the same TypeError, as `busEventSchema.safeParse` of
 * it would give (test: ./new-event.test.ts), without that parse. The union's parse checks the
 * envelope's constants again and walks a whole strict object for every event (bench P5); here
 * the varying fields are checked one by one and `data` by its type's own schema only.
 *
 * @throws {TypeError} if `data` or an option does not match its schema: a bug in the caller, so
 *   it fails loudly; the message names the offending paths, never their values.
 */
export function newEvent<T extends EventType>(type: T, data: EventData<T>, opts: NewEventOptions): EventOf<T> {
  // The keys in the order the union's parse writes them (the envelope's JSON is the same text).
  const event: Record<string, unknown> = {
    specversion: "1.0",
    id: opts.id ?? newEventId(),
    source: opts.source,
    type,
    time: iso(opts.now),
    ...(opts.subject !== undefined ? { subject: opts.subject } : {}),
    datacontenttype: "application/json",
    data,
  };
  const invalid: string[] = [];
  // `Object.hasOwn`: a type such as "__proto__" or "toString" names no schema.
  if (!Object.hasOwn(eventDataSchemas, type)) invalid.push("type");
  else {
    for (const [key, schema] of [...Object.entries(ENVELOPE), ["data", eventDataSchemas[type]] as const]) {
      if (!(key in event)) continue;
      const parsed = schema.safeParse(event[key]);
      if (parsed.success) event[key] = parsed.data;
      else for (const i of parsed.error.issues) invalid.push([key, ...i.path.map(String)].join("."));
    }
  }
  if (invalid.length > 0) {
    throw new TypeError(`Cannot build event "${type}": invalid ${invalid.map((p) => `"${p}"`).join(", ")}`);
  }
  return markValidated(event as unknown as EventOf<T>);
}
