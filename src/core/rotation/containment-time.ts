/**
 * Containment time for a leaked value that died after its compromise rotation's revoke step:
 * Clarifai refused the delete, the value became an owed revocation (./containment.ts), and the
 * sweep paid it later (./owed-revocations.ts). The rotation that owed it gets its `contained_at`
 * then, once it has settled: writing a running rotation would take its driver's compare-and-swap
 * away mid-step, so a rotation still running only reports the figure in the event.
 */
import type { EngineServices } from "./engine-services.ts";
import { iso } from "../time.ts";
import { containmentMs, type Rotation } from "./rotation.ts";

const MAX_CAS_TRIES = 5;

/** The containment time of `fingerprint`'s compromise rotation, recorded on it if settled; null when none applies. */
export async function recordLateContainment(
  engine: Pick<EngineServices, "store" | "now">,
  credentialId: string,
  rotationId: string,
  fingerprint: string,
): Promise<number | null> {
  for (let i = 0; i < MAX_CAS_TRIES; i++) {
    const cur = await engine.store.getRotation(credentialId, rotationId);
    const r = cur?.value;
    if (!cur || !r || r.reason !== "compromise" || r.old_fingerprint !== fingerprint || !r.alert_received_at) {
      return null;
    }
    if (r.contained_at) return containmentMs(r);
    const at = iso(engine.now());
    const next: Rotation = { ...r, contained_at: at };
    if (r.state === "running") return containmentMs(next);
    if ((await engine.store.putRotation({ ...next, updated_at: at }, cur.version)) !== null) return containmentMs(next);
  }
  return null;
}
