/** Read-modify-write of a credential record under compare-and-swap, retried on conflict. */
import type { CredentialRecord } from "../credentials/credential.ts";
import type { EngineServices } from "./engine-services.ts";
import { stepFailure } from "./step-error.ts";

export async function updateCredential(
  engine: Pick<EngineServices, "store">,
  id: string,
  // May be async: promote seals the values it moves from the record it is given (values.ts).
  change: (rec: CredentialRecord) => CredentialRecord | Promise<CredentialRecord>,
): Promise<CredentialRecord | null> {
  for (let i = 0; i < 20; i++) {
    const cur = await engine.store.getCredential(id);
    if (!cur) return null;
    const next = await change(cur.value);
    if (next === cur.value) return next;
    if ((await engine.store.putCredential(next, cur.version)) !== null) return next;
  }
  throw stepFailure(true, "conflict", `Credential "${id}" kept changing under an update`);
}
