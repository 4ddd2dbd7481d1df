/**
 * Changing a registered credential (PATCH /v1/credentials/:id): its description, policy, sinks and
 * consumers. Validated and pre-flighted as registration is (./register.ts): a new sink list is
 * proved writable, and the manager's scopes checked for it, before anything changes; a refusal
 * changes nothing.
 *
 * Semantics: each field sent replaces the stored one, except `policy`, whose fields are merged
 * into the stored policy (what is not sent stays as it was; `null` unsets a field) and the result
 * checked as a whole.
 */
import * as z from "zod/mini";
import { sinkSchema } from "../sinks/schemas.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import { updateCredential } from "../rotation/update-credential.ts";
import { settleStaleMarker } from "../rotation/settle.ts";
import { managerToken } from "../rotation/values.ts";
import { err, type ErrorValue, ok, type Result } from "../result.ts";
import { iso } from "../time.ts";
import {
  consumersSchema,
  type CredentialRecord,
  type Policy,
  type PolicyPatch,
  policyPatchSchema,
  policySchema,
  withPolicyDefaults,
} from "./credential.ts";
import { checkManagerScopes, preflightSinks, type RegisterRefusal } from "./register.ts";

export const updateInputSchema = z.strictObject({
  description: z.optional(z.string().check(z.maxLength(500))),
  policy: z.optional(policyPatchSchema),
  sinks: z.optional(z.array(sinkSchema).check(z.maxLength(20))),
  consumers: z.optional(consumersSchema),
}).check(z.refine((u) => Object.values(u).some((v) => v !== undefined), {
  message: "Send at least one of description, policy, sinks, consumers",
}));
export type UpdateInput = z.infer<typeof updateInputSchema>;

type Field = "description" | "policy" | "sinks" | "consumers";

/** Why an update refuses (src/http/on-error.ts gives each its HTTP status): registration's pre-flight, or these. */
type UpdateRefusal =
  | "credential_not_found"
  | "credential_revoked"
  | "rotation_running"
  | "invalid_request"
  | RegisterRefusal;

export interface UpdateError extends ErrorValue<UpdateRefusal> {
  /** A merged policy that does not hold together (invalid_request): the field it fails at. */
  path?: string;
}

const fail = (code: UpdateRefusal, message: string, path?: string) =>
  err<UpdateError>({ code, message, ...(path ? { path } : {}) });

export async function updateRegistration(
  engine: EngineServices,
  id: string,
  input: UpdateInput,
): Promise<Result<{ record: CredentialRecord; before: CredentialRecord; fields: Field[] }, UpdateError>> {
  let cur = await engine.store.getCredential(id);
  // A marker naming a rotation that has settled is no running rotation: settled first (its release
  // and announcements, ../rotation/settle.ts), then decided on the credential read again.
  if (cur && (await settleStaleMarker(engine, cur.value))) cur = await engine.store.getCredential(id);
  if (!cur) return fail("credential_not_found", "No such credential");
  const rec = cur.value;
  if (rec.state === "revoked") {
    return fail("credential_revoked", "The credential is revoked; nothing about it can change");
  }
  const policy = input.policy ? mergePolicy(rec.policy, input.policy) : undefined;
  if (policy && !policy.ok) return policy;
  const fields = changedFields(rec, input, policy?.value);
  if (fields.length === 0) return ok({ record: rec, before: rec, fields });
  if (fields.includes("sinks")) {
    // A rotation writes and verifies the sinks it read at each step: changing them under it would
    // fail its verify or leave a sink with the old value.
    if (rec.current_rotation) {
      return fail(
        "rotation_running",
        "A rotation is running for this credential; change its sinks once it is done",
      );
    }
    const refused = await preflightNewSinks(engine, rec, input);
    if (refused) return err(refused);
  }
  const apply = (c: CredentialRecord): CredentialRecord => ({
    ...c,
    ...(fields.includes("description") ? { description: input.description! } : {}),
    ...(fields.includes("policy") ? { policy: policy!.value } : {}),
    ...(fields.includes("sinks") ? { sinks: input.sinks! } : {}),
    ...(fields.includes("consumers") ? { consumers: input.consumers! } : {}),
    updated_at: iso(engine.now()),
  });
  // A rotation begun since the check above would be hurt by new sinks: then nothing changes.
  const next = await updateCredential(
    engine,
    id,
    (c) => (c.state === "revoked" || (fields.includes("sinks") && c.current_rotation) ? c : apply(c)),
  );
  if (!next) return fail("credential_not_found", "No such credential");
  if (next.state === "revoked") {
    return fail("credential_revoked", "The credential is revoked; nothing about it can change");
  }
  if (fields.includes("sinks") && next.current_rotation) {
    return fail("rotation_running", "A rotation began for this credential; change its sinks once it is done");
  }
  return ok({ record: next, before: rec, fields });
}

/**
 * Puts back what `updateRegistration` changed (its `fields`, from `before`) when the change's audit
 * entry could not be written: no change without its entry. Only while the record is still the one
 * the update wrote (`after.updated_at`): a later change, or a rotation, is never undone.
 */
export async function undoRegistrationUpdate(
  engine: EngineServices,
  before: CredentialRecord,
  after: CredentialRecord,
  fields: Field[],
): Promise<void> {
  await updateCredential(engine, before.id, (c) => {
    if (c.updated_at !== after.updated_at || c.fingerprint !== after.fingerprint) return c;
    const restored: CredentialRecord = { ...c, updated_at: before.updated_at };
    for (const f of fields) (restored as Record<Field, unknown>)[f] = before[f];
    return restored;
  });
}

function mergePolicy(current: Policy, patch: PolicyPatch): Result<Policy, UpdateError> {
  const next: Record<string, unknown> = { ...current, ...patch };
  // `null` unsets the field: what it was is gone, and its default (if it has one) applies.
  for (const [k, v] of Object.entries(patch)) if (v === null) delete next[k];
  const merged = policySchema.safeParse(next);
  if (merged.success) return ok(withPolicyDefaults(merged.data));
  const issue = merged.error.issues[0];
  const path = ["policy", ...(issue?.path ?? []).map(String)].join(".");
  return fail("invalid_request", `The policy would not hold together at "${path}"`, path);
}

function changedFields(rec: CredentialRecord, input: UpdateInput, policy: Policy | undefined): Field[] {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const fields: Field[] = [];
  if (input.description !== undefined && input.description !== rec.description) fields.push("description");
  if (policy && !same(policy, withPolicyDefaults(rec.policy))) fields.push("policy");
  if (input.sinks !== undefined && !same(input.sinks, rec.sinks)) fields.push("sinks");
  if (input.consumers !== undefined && !same(input.consumers, rec.consumers)) fields.push("consumers");
  return fields;
}

/** Registration's pre-flight, for the new sink list: the manager's scopes for them, then each sink. */
async function preflightNewSinks(engine: EngineServices, rec: CredentialRecord, input: UpdateInput) {
  let manager: string;
  try {
    manager = await managerToken(engine, rec);
  } catch {
    return { code: "manager_unreadable" as const, message: "The credential's manager token cannot be used" };
  }
  return (await checkManagerScopes(engine, manager, { kind: rec.kind, sinks: input.sinks ?? [] })) ??
    (await preflightSinks(engine, manager, input.sinks ?? []));
}
