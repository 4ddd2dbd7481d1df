/**
 * Registering a credential: prove it against Clarifai before storing anything.
 *
 * Pre-flight is the point: a rotation that fails half way because the manager cannot delete keys
 * is exactly the "half-finished rotation" users of other tools complain about. So registration
 * reads the key's real type, scopes and apps from Clarifai, checks that the manager holds every
 * scope the later rotation and revocation will need, and refuses with a 4xx, changing nothing,
 * when any of that is missing.
 */
import * as z from "zod";
import { clarifaiIdSchema } from "../clarifai/ids.ts";
import { preflightSink, sinkManagerScopes } from "../sinks/drivers.ts";
import { type Sink, sinkSchema } from "../sinks/schemas.ts";
import { upstreamRefusal } from "./upstream-refusal.ts";
import { type ClarifaiClient, type ClarifaiError, type Key, missingScopes } from "../clarifai/index.ts";
import { decrypt, encrypt } from "../crypto/envelope.ts";
import { fingerprint } from "../crypto/fingerprint.ts";
import { randomId } from "../crypto/random.ts";
import { credentialIdSchema } from "../bus/fields.ts";
import type { EngineDeps } from "../rotation/engine-deps.ts";
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

export const registerInputSchema = z.strictObject({
  kind: credentialKindSchema,
  user_id: clarifaiIdSchema,
  /** pat/app_key: the token (the Clarifai key id). secret: the current value; read from Clarifai when omitted. */
  value: z.string().min(1).max(4096).optional(),
  /** A credential id: the shape is checked first, so a token pasted here never reaches storage. */
  manager_id: credentialIdSchema.optional(),
  app_id: clarifaiIdSchema.optional(),
  secret_id: clarifaiIdSchema.optional(),
  description: z.string().max(500).optional(),
  policy: policySchema.optional(),
  sinks: z.array(sinkSchema).max(20).optional(),
  /** Consumer Workers allowed to read the value over the service binding (src/worker.ts RekeyCredentials). */
  consumers: consumersSchema.optional(),
});
type RegisterInput = z.infer<typeof registerInputSchema>;
/** What callers may pass: defaults (e.g. policy fields) filled in by the schema. */
export type RegisterRequest = z.input<typeof registerInputSchema>;

export interface RegisterError extends ErrorValue {
  status: 404 | 409 | 422 | 503;
  /** Set on already_registered: the id is not secret and lets a caller find the record. */
  credential_id?: string;
}

const fail = (status: RegisterError["status"], code: string, message: string, extra: { credential_id?: string } = {}) =>
  err<RegisterError>({ status, code, message, ...extra });

/** Scopes the manager must hold, by what the rotation will do. */
function neededScopes(input: Pick<RegisterInput, "kind" | "sinks">): string[] {
  const keys = ["Keys_Get", "Keys_Add", "Keys_Delete", "Apps_Get"];
  const own = input.kind === "secret" ? ["Secrets_Get", "Secrets_Add", "Secrets_Delete"] : keys;
  return [...new Set([...own, ...(input.sinks ?? []).flatMap(sinkManagerScopes)])];
}

/**
 * Registration's first proof, and an update's (./update.ts) before it changes sinks: the manager
 * holds every scope the rotation and revocation will need. Null when it does.
 */
export async function checkManagerScopes(
  deps: EngineDeps,
  manager: string,
  input: Pick<RegisterInput, "kind" | "sinks">,
): Promise<RegisterError | null> {
  const held = await deps.clarifai.myScopes(manager);
  if (!held.ok) return upstreamRefusal(held.error, "manager");
  const missing = missingScopes(held.value.scopes, neededScopes(input));
  if (missing.length === 0) return null;
  return {
    status: 422,
    code: "manager_insufficient_scopes",
    message: `The manager PAT lacks scopes needed to rotate this credential: ${missing.join(", ")}`,
  };
}

/** Every sink exists and can be written (each driver's pre-flight); the first refusal names its sink. */
export async function preflightSinks(
  deps: EngineDeps,
  manager: string,
  sinks: readonly Sink[],
): Promise<RegisterError | null> {
  for (const [i, sink] of sinks.entries()) {
    const refused = await preflightSink({ deps, clarifaiToken: manager }, sink, `sinks.${i}`);
    if (refused) return refused;
  }
  return null;
}

export async function registerCredential(
  deps: EngineDeps,
  request: RegisterRequest,
): Promise<Result<CredentialRecord, RegisterError>> {
  const input = registerInputSchema.parse(request);
  const shape = checkShape(input);
  if (shape) return shape;
  const manager = await resolveManager(deps, input);
  if (!manager.ok) return manager;
  const c = deps.clarifai;

  const scopes = await checkManagerScopes(deps, manager.value, input);
  if (scopes) return err(scopes);
  const found = await readUpstream(c, manager.value, input);
  if (!found.ok) return found;
  const sinks = await preflightSinks(deps, manager.value, input.sinks ?? []);
  if (sinks) return err(sinks);

  const value = found.value.value;
  const fp = await fingerprint(deps.fingerprintKey, value);
  const existing = await deps.store.findCredentialByFingerprint(fp);
  if (existing) {
    return fail(409, "already_registered", `This value is already managed as credential "${existing}"`, {
      credential_id: existing,
    });
  }

  const now = new Date(deps.now()).toISOString();
  const id = randomId("cred", deps.now());
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
    value: await encrypt(deps.keyring, value, aadFor({ id, kind: input.kind }, CURRENT_VALUE)),
    fingerprint: fp,
    value_created_at: found.value.createdAt ?? now,
    previous: [],
    policy: withPolicyDefaults(policySchema.parse(input.policy ?? {})),
    sinks: input.sinks ?? [],
    consumers: input.consumers ?? [],
    created_at: now,
    updated_at: now,
  };
  if ((await deps.store.putCredential(record, null)) === null) {
    return fail(409, "conflict", "A credential with this id already exists");
  }
  return ok(record);
}

function checkShape(input: RegisterInput): Result<never, RegisterError> | undefined {
  if (input.kind === "secret" && !input.secret_id) {
    return fail(422, "secret_id_required", 'A "secret" credential needs "secret_id"');
  }
  if (input.kind !== "secret" && !input.value) {
    return fail(422, "value_required", `A "${input.kind}" credential needs "value"`);
  }
  if (input.kind !== "pat" && !input.manager_id) {
    return fail(422, "manager_required", `A "${input.kind}" credential needs "manager_id" (a registered PAT)`);
  }
  return undefined;
}

async function resolveManager(deps: EngineDeps, input: RegisterInput): Promise<Result<string, RegisterError>> {
  if (!input.manager_id) return ok(input.value!); // a PAT that manages itself
  const m = await deps.store.getCredential(input.manager_id);
  if (!m || m.value.kind !== "pat" || m.value.state !== "active") {
    // Messages name the field, never the value sent: a caller who pasted a token here gets it back nowhere.
    return fail(422, "manager_not_found", 'The credential named by "manager_id" is not an active registered PAT');
  }
  const opened = await decrypt(deps.keyring, m.value.value, aadFor(m.value, CURRENT_VALUE));
  if (!opened.ok) {
    return fail(
      422,
      "manager_unreadable",
      `The credential named by "manager_id" cannot be decrypted: ${opened.error.code}`,
    );
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
  const expiry = k.expires_at && isoTime.safeParse(k.expires_at).success &&
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
const isoTime = z.iso.datetime({ offset: true });

async function readUpstream(
  c: ClarifaiClient,
  manager: string,
  input: RegisterInput,
): Promise<Result<Found, RegisterError>> {
  if (input.kind === "secret") {
    const s = await c.getSecret(manager, input.user_id, input.secret_id!);
    if (!s.ok) {
      return s.error.kind === "not_found"
        ? fail(422, "not_found_upstream", `The secret named by "secret_id" does not exist at Clarifai`)
        : upstream(s.error, "secret");
    }
    const current = s.value.value ?? "";
    if (input.value !== undefined && input.value !== current) {
      return fail(422, "value_mismatch", "The given value is not the secret's current value at Clarifai");
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
      422,
      "not_found_upstream",
      `No ${
        input.kind === "pat" ? "personal access token" : "app-specific key"
      } with this value exists for the user named by "user_id"`,
    );
  }
  const apps = key.apps.map((a) => ({ id: a.id, user_id: a.user_id ?? input.user_id }));
  const appId = input.kind === "app_key" ? apps[0]?.id : undefined;
  if (input.app_id && appId !== input.app_id) {
    return fail(422, "app_mismatch", 'The key is not bound to the app named by "app_id"');
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

function upstream(e: ClarifaiError, who: string): Result<never, RegisterError> {
  return err<RegisterError>(upstreamRefusal(e, who));
}
