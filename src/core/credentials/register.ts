/**
 * Registering a credential: prove it against Clarifai before storing anything.
 *
 * Pre-flight is the point: a rotation that fails half way because the manager cannot delete keys
 * is exactly the "half-finished rotation" users of other tools complain about. So registration
 * reads the key's real type, scopes and apps from Clarifai, checks that the manager holds every
 * scope the later rotation and revocation will need, and refuses with a 4xx, changing nothing,
 * when any of that is missing.
 */
import * as z from "zod/mini";
import { clarifaiIdSchema } from "../clarifai/ids.ts";
import type { SinkRefusal } from "../sinks/driver.ts";
import { preflightSink, sinkManagerScopes } from "../sinks/drivers.ts";
import { type Sink, sinkSchema } from "../sinks/schemas.ts";
import { type UpstreamRefusal, upstreamRefusal } from "./upstream-refusal.ts";
import { type ClarifaiClient, type ClarifaiFailure, type Key, missingScopes, scopesFor } from "../clarifai/index.ts";
import { decrypt, encrypt } from "../crypto/envelope.ts";
import { fingerprint } from "../crypto/fingerprint.ts";
import { randomId } from "../crypto/random.ts";
import { credentialIdSchema } from "../bus/fields.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import { withoutMarkers } from "../rotation/rotation.ts";
import { err, type ErrorValue, ok, type Result } from "../result.ts";
import {
  aadFor,
  consumersSchema,
  credentialKindSchema,
  type CredentialRecord,
  CURRENT_VALUE,
  policySchema,
  withPolicyDefaults,
} from "./credential.ts";
import { iso, isoTimeSchema } from "../time.ts";

export const registerInputSchema = z.strictObject({
  kind: credentialKindSchema,
  user_id: clarifaiIdSchema,
  /** pat/app_key: the token (the Clarifai key id). secret: the current value; read from Clarifai when omitted. */
  value: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
  /** A credential id: the shape is checked first, so a token pasted here never reaches storage. */
  manager_id: z.optional(credentialIdSchema),
  app_id: z.optional(clarifaiIdSchema),
  secret_id: z.optional(clarifaiIdSchema),
  description: z.optional(z.string().check(z.maxLength(500))),
  policy: z.optional(policySchema),
  sinks: z.optional(z.array(sinkSchema).check(z.maxLength(20))),
  /** Consumer Workers allowed to read the value over the service binding (src/worker.ts RekeyCredentials). */
  consumers: z.optional(consumersSchema),
});
type RegisterInput = z.infer<typeof registerInputSchema>;
/** What callers may pass: defaults (e.g. policy fields) filled in by the schema. */
export type RegisterRequest = z.input<typeof registerInputSchema>;

/** Why registration refuses (src/http/on-error.ts gives each its HTTP status). */
export type RegisterRefusal =
  | "already_registered"
  | "conflict"
  | "secret_id_required"
  | "value_required"
  | "manager_required"
  | "manager_not_found"
  | "manager_unreadable"
  | "manager_insufficient_scopes"
  | "not_found_upstream"
  | "value_mismatch"
  | "app_mismatch"
  | UpstreamRefusal
  | SinkRefusal["code"];

export interface RegisterError extends ErrorValue<RegisterRefusal> {
  /** Set on already_registered: the id is not secret and lets a caller find the record. */
  credential_id?: string;
}

const fail = (code: RegisterRefusal, message: string, extra: { credential_id?: string } = {}) =>
  err<RegisterError>({ code, message, ...extra });

/**
 * Scopes the manager must hold, by the calls the rotation will make: a key's listing (to find a
 * create whose answer was lost), delete and create; a secret's read, overwrite and delete; each
 * sink's own.
 */
function neededScopes(input: Pick<RegisterInput, "kind" | "sinks">): string[] {
  const own = input.kind === "secret"
    ? scopesFor("getSecret", "patchSecrets", "deleteSecrets")
    : scopesFor("listKeys", "deleteKey", "createKey");
  return [...new Set([...own, ...(input.sinks ?? []).flatMap(sinkManagerScopes)])];
}

/**
 * Registration's first proof, and an update's (./update.ts) before it changes sinks: the manager
 * holds every scope the rotation and revocation will need. Null when it does.
 */
export async function checkManagerScopes(
  engine: EngineServices,
  manager: string,
  input: Pick<RegisterInput, "kind" | "sinks">,
): Promise<RegisterError | null> {
  const held = await engine.clarifai.myScopes(manager);
  if (!held.ok) return upstreamRefusal(held.error, "manager");
  const missing = missingScopes(held.value.scopes, neededScopes(input));
  if (missing.length === 0) return null;
  return {
    code: "manager_insufficient_scopes",
    message: `The manager PAT lacks scopes needed to rotate this credential: ${missing.join(", ")}`,
  };
}

/** Every sink exists and can be written (each driver's pre-flight); the first refusal names its sink. */
export async function preflightSinks(
  engine: EngineServices,
  manager: string,
  sinks: readonly Sink[],
): Promise<RegisterError | null> {
  for (const [i, sink] of sinks.entries()) {
    const refused = await preflightSink({ engine, clarifaiToken: manager }, sink, `sinks.${i}`);
    if (refused) return refused;
  }
  return null;
}

export async function registerCredential(
  engine: EngineServices,
  request: RegisterRequest,
): Promise<Result<CredentialRecord, RegisterError>> {
  const input = registerInputSchema.parse(request);
  const shape = checkShape(input);
  if (shape) return shape;
  const manager = await resolveManager(engine, input);
  if (!manager.ok) return manager;
  const c = engine.clarifai;

  const scopes = await checkManagerScopes(engine, manager.value, input);
  if (scopes) return err(scopes);
  const found = await readUpstream(c, manager.value, input);
  if (!found.ok) return found;
  const sinks = await preflightSinks(engine, manager.value, input.sinks ?? []);
  if (sinks) return err(sinks);

  const value = found.value.value;
  const fp = await fingerprint(engine.fingerprintKey, value);
  const existing = await engine.store.findCredentialByFingerprint(fp);
  if (existing) {
    return fail("already_registered", `This value is already managed as credential "${existing}"`, {
      credential_id: existing,
    });
  }

  const now = iso(engine.now());
  const id = randomId("cred", engine.now());
  const record: CredentialRecord = {
    id,
    kind: input.kind,
    state: "active",
    user_id: input.user_id,
    ...(found.value.appId ? { app_id: found.value.appId } : {}),
    ...(input.secret_id ? { secret_id: input.secret_id } : {}),
    // A key rekey minted carries its rotation's marker; the record keeps the description without it,
    // so the next replacement carries one marker, its own (core/rotation/ownership.ts markerOf).
    description: withoutMarkers(input.description ?? found.value.description),
    ...(input.manager_id ? { manager_id: input.manager_id } : {}),
    scopes: found.value.scopes,
    apps: found.value.apps,
    ...restrictionsOf(found.value),
    value: await encrypt(engine.keyring, value, aadFor({ id, kind: input.kind }, CURRENT_VALUE)),
    fingerprint: fp,
    value_created_at: found.value.createdAt ?? now,
    previous: [],
    policy: withPolicyDefaults(policySchema.parse(input.policy ?? {})),
    sinks: input.sinks ?? [],
    consumers: input.consumers ?? [],
    created_at: now,
    updated_at: now,
  };
  if ((await engine.store.putCredential(record, null)) === null) {
    return fail("conflict", "A credential with this id already exists");
  }
  return ok(record);
}

function checkShape(input: RegisterInput): Result<never, RegisterError> | undefined {
  if (input.kind === "secret" && !input.secret_id) {
    return fail("secret_id_required", 'A "secret" credential needs "secret_id"');
  }
  if (input.kind !== "secret" && !input.value) {
    return fail("value_required", `A "${input.kind}" credential needs "value"`);
  }
  if (input.kind !== "pat" && !input.manager_id) {
    return fail("manager_required", `A "${input.kind}" credential needs "manager_id" (a registered PAT)`);
  }
  return undefined;
}

async function resolveManager(engine: EngineServices, input: RegisterInput): Promise<Result<string, RegisterError>> {
  if (!input.manager_id) return ok(input.value!); // a PAT that manages itself
  const m = await engine.store.getCredential(input.manager_id);
  if (!m || m.value.kind !== "pat" || m.value.state !== "active") {
    // Messages name the field, never the value sent: a caller who pasted a token here gets it back nowhere.
    return fail("manager_not_found", 'The credential named by "manager_id" is not an active registered PAT');
  }
  const opened = await decrypt(engine.keyring, m.value.value, aadFor(m.value, CURRENT_VALUE));
  if (!opened.ok) {
    return fail("manager_unreadable", `The credential named by "manager_id" cannot be decrypted: ${opened.error.code}`);
  }
  return ok(opened.value);
}

interface Found {
  value: string;
  description: string;
  scopes: string[];
  apps: { id: string; user_id: string }[];
  appId?: string;
  createdAt?: string;
  key?: Key;
}

/** What a replacement must carry besides scopes and apps (credential.ts); nothing for a secret. */
function restrictionsOf(found: Found): Partial<CredentialRecord> {
  const k = found.key;
  if (!k) return {};
  // proto3 JSON may send an unset Timestamp as the epoch (Clarifai does so for secrets): no expiry.
  const expiry = k.expires_at && isoTimeSchema.safeParse(k.expires_at).success &&
      Date.parse(k.expires_at) > Date.parse("1970-01-02T00:00:00Z")
    ? k.expires_at
    : undefined;
  return {
    ...(k.endpoints.length ? { endpoints: k.endpoints } : {}),
    ...(k.authorized_idp_ids.length ? { authorized_idp_ids: k.authorized_idp_ids } : {}),
    ...(k.organization_id ? { organization_id: k.organization_id } : {}),
    ...(expiry ? { key_expiry_bound: expiry, key_expires_at: expiry } : {}),
  };
}

async function readUpstream(
  c: ClarifaiClient,
  manager: string,
  input: RegisterInput,
): Promise<Result<Found, RegisterError>> {
  if (input.kind === "secret") {
    const s = await c.getSecret(manager, input.user_id, input.secret_id!);
    if (!s.ok) {
      return s.error.detail.kind === "not_found"
        ? fail("not_found_upstream", `The secret named by "secret_id" does not exist at Clarifai`)
        : upstream(s.error, "secret");
    }
    const current = s.value.value ?? "";
    if (input.value !== undefined && input.value !== current) {
      return fail("value_mismatch", "The given value is not the secret's current value at Clarifai");
    }
    return ok({ value: current, description: s.value.description ?? "", scopes: [], apps: [] });
  }
  const value = input.value!;
  const keys = await c.listAllKeys(manager, input.user_id, {
    type: input.kind === "pat" ? "personal_access_token" : "app_specific_key",
  });
  if (!keys.ok) return upstream(keys.error, "manager");
  // Compare through the list rather than GET /keys/{id}: the token never appears in a URL we build.
  const key = keys.value.find((k) => k.id === value);
  if (!key) {
    return fail(
      "not_found_upstream",
      `No ${
        input.kind === "pat" ? "personal access token" : "app-specific key"
      } with this value exists for the user named by "user_id"`,
    );
  }
  const apps = key.apps.map((a) => ({ id: a.id, user_id: a.user_id ?? input.user_id }));
  const appId = input.kind === "app_key" ? apps[0]?.id : undefined;
  if (input.app_id && appId !== input.app_id) {
    return fail("app_mismatch", 'The key is not bound to the app named by "app_id"');
  }
  return ok({
    value,
    key,
    description: key.description,
    scopes: key.scopes,
    apps,
    ...(appId ? { appId } : {}),
    ...(key.created_at ? { createdAt: key.created_at } : {}),
  });
}

function upstream(e: ClarifaiFailure, who: string): Result<never, RegisterError> {
  return err<RegisterError>(upstreamRefusal(e, who));
}
