/**
 * GitHub secret scanning alerts from the customer's own repositories, once they reported a managed
 * value: the credential remembers each alert (`github_alerts`, by fingerprint), and once that value
 * is dead at Clarifai the alert is resolved at GitHub as `revoked`, with a comment naming the
 * rotation and the replacement's fingerprint prefix (never a value).
 *
 * Resolution runs on the bus (core/subscribers/handlers.ts, `github-resolver`), from two events:
 * - `credential.revoked`: the moment a value dies (the engine, a leaked previous value revoked, an
 *   owed revocation paid by the sweep);
 * - `github.alert_linked`: the moment an alert is remembered, for a value that was already dead.
 * Either finds the alerts on the record; whichever runs while the value is still live does
 * nothing. A failed PATCH (GitHub down, throttled) fails the handler, and the bus retries it with
 * backoff; a resolved alert is dropped from the record, so a retry never resolves twice. The
 * cron backstop (./backstop.ts) links an alert again each sweep while it is open, so an alert the
 * bus gave up on is resolved by a later sweep when its scope is listed in GITHUB_ALERT_SCOPES.
 *
 * Runtime-neutral.
 */
import type { EventBus } from "../bus/bus.ts";
import { deriveId, newEvent } from "../bus/new-event.ts";
import type { BusEvent } from "../bus/events.ts";
import { type CredentialRecord, type GithubAlertLink, MAX_GITHUB_ALERTS } from "../credentials/credential.ts";
import { fingerprintPrefix } from "../crypto/fingerprint.ts";
import { matchRecord } from "../alerts/match-leak.ts";
import { isFailure } from "../failure.ts";
import type { EngineServices } from "../rotation/engine-services.ts";
import { updateCredential } from "../rotation/update-credential.ts";
import { iso } from "../time.ts";

/**
 * Remembers `link` on its credential (compare-and-swap), unless it is already there. False when
 * the credential is gone or already remembers MAX_GITHUB_ALERTS other alerts (the value is still
 * contained; only the automatic resolution is skipped, and logged).
 */
export async function linkAlert(
  engine: EngineServices,
  credentialId: string,
  link: Omit<GithubAlertLink, "linked_at">,
): Promise<boolean> {
  let linked = false;
  await updateCredential(engine, credentialId, (rec) => {
    const links = rec.github_alerts ?? [];
    if (links.some((l) => l.alert_id === link.alert_id && l.fingerprint === link.fingerprint)) {
      linked = true;
      return rec;
    }
    if (links.length >= MAX_GITHUB_ALERTS) return rec;
    linked = true;
    return { ...rec, github_alerts: [...links, { ...link, linked_at: iso(engine.now()) }] };
  });
  if (!linked) {
    console.warn(JSON.stringify({ level: "warn", msg: "github.alert_not_linked", credential_id: credentialId }));
  }
  return linked;
}

/** Who replaced a dead value, and with what: from the record, and the rotation that superseded it. */
async function replacementOf(engine: EngineServices, rec: CredentialRecord, fp: string) {
  const prev = rec.previous.find((p) => p.fingerprint === fp);
  if (!prev) return { rotationId: rec.last_rotation?.id, newFingerprint: undefined };
  const rotation = await engine.store.getRotation(rec.id, prev.rotation_id);
  return { rotationId: prev.rotation_id, newFingerprint: rotation?.value.new_fingerprint };
}

/** GitHub keeps the comment for good; it names ids and fingerprint prefixes only. */
function resolutionComment(leaked: string, rotationId?: string, newFingerprint?: string): string {
  const by = rotationId ? ` by rotation ${rotationId}` : "";
  const replaced = newFingerprint
    ? ` Replacement fingerprint prefix: ${fingerprintPrefix(newFingerprint)}.`
    : " It was not replaced.";
  return `rekey revoked the leaked Clarifai credential (fingerprint prefix ${
    fingerprintPrefix(leaked)
  })${by}.${replaced}`;
}

/**
 * Resolves, at GitHub, the alerts remembered for the credential's values starting with `prefix`
 * (only `alertId`, when given) whose value is dead, then forgets them and announces each
 * (`github.alert_resolved`). Throws the first failure after trying every alert, so the bus
 * retries what is left; an alert GitHub no longer has (404) is forgotten.
 */
export async function resolveLinkedAlerts(
  engine: EngineServices,
  bus: EventBus,
  data: { credential_id: string; fingerprint_prefix: string; alert_id?: string },
): Promise<number> {
  const github = engine.github;
  if (!github) return 0;
  const rec = (await engine.store.getCredential(data.credential_id))?.value;
  const links = (rec?.github_alerts ?? []).filter((l) =>
    l.fingerprint.startsWith(data.fingerprint_prefix) && (!data.alert_id || l.alert_id === data.alert_id)
  );
  if (!rec || links.length === 0) return 0;
  const done: GithubAlertLink[] = [];
  const events: BusEvent[] = [];
  let failure: unknown;
  for (const link of links) {
    // Only a dead value's alert is resolved; a live one waits for its `credential.revoked`.
    if (matchRecord(rec, link.fingerprint).kind !== "already_revoked") continue;
    const { rotationId, newFingerprint } = await replacementOf(engine, rec, link.fingerprint);
    try {
      await github.resolveAlert(
        link.repository,
        link.number,
        resolutionComment(link.fingerprint, rotationId, newFingerprint),
        link.installation_id,
      );
    } catch (error) {
      if (isFailure(error, "github") && error.detail.kind === "not_found") {
        done.push(link); // the alert or its repository is gone: nothing left to resolve
        continue;
      }
      failure ??= error;
      continue;
    }
    done.push(link);
    events.push(
      newEvent("github.alert_resolved", {
        credential_id: rec.id,
        fingerprint_prefix: fingerprintPrefix(link.fingerprint),
        alert_id: link.alert_id,
        alert_number: link.number,
        ...(rotationId ? { rotation_id: rotationId } : {}),
        ...(newFingerprint ? { new_fingerprint_prefix: fingerprintPrefix(newFingerprint) } : {}),
      }, {
        source: "/rekey/github",
        subject: `credential/${rec.id}`,
        id: await deriveId("evt", "github-resolved", link.alert_id, link.fingerprint),
        now: engine.now(),
      }),
    );
  }
  if (done.length) {
    const gone = (l: GithubAlertLink) => done.some((d) => d.alert_id === l.alert_id && d.fingerprint === l.fingerprint);
    await updateCredential(engine, rec.id, (c) => {
      const kept = (c.github_alerts ?? []).filter((l) => !gone(l));
      const { github_alerts: _, ...rest } = c;
      return kept.length ? { ...c, github_alerts: kept } : rest;
    });
  }
  if (events.length) await bus.publishAll(events);
  if (failure) throw failure;
  return events.length;
}
