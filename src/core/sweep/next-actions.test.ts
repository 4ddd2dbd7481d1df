import { describe, expect, it } from "vitest";
import { credentialRecord } from "../../../test/support/records.ts";
import { nextActions } from "./next-actions.ts";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const DAY = 86_400_000;

describe("nextActions", () => {
  it("names the max-age rotation, not yet due, with the sweep's reason", () => {
    const rec = credentialRecord({
      policy: { max_age_days: 30, grace_hours: 24, on_compromise: "rotate", generator: "none" },
    });
    const [next, ...rest] = nextActions(rec, T0 + DAY);
    expect(rest).toEqual([]);
    expect(next).toMatchObject({ action: "rotate", reason: "older than 30 days", due: false });
    expect(Date.parse(next!.at)).toBeGreaterThanOrEqual(T0 + 30 * DAY);
  });

  it("prefers a hard expiry that comes before the max age, and marks what is due", () => {
    const expires = new Date(T0 + 10 * DAY).toISOString();
    const rec = credentialRecord({
      policy: { max_age_days: 30, expires_at: expires, grace_hours: 24, on_compromise: "rotate", generator: "none" },
    });
    expect(nextActions(rec, T0)).toMatchObject([{
      action: "revoke",
      at: expires,
      reason: "hard expiry passed",
      due: false,
    }]);
    expect(nextActions(rec, T0 + 11 * DAY)).toMatchObject([{ action: "revoke", due: true }]);
  });

  it("shows the owed revocation of a superseded value, and nothing for a revoked credential", () => {
    const after = new Date(T0 + 2 * DAY).toISOString();
    const rec = credentialRecord({
      previous: [{
        fingerprint: "ab".repeat(32),
        value: { v: 1, iv: "AAAAAAAAAAAAAAAA", ct: "AAAA" },
        rotation_id: "rot_1",
        superseded_at: new Date(T0).toISOString(),
        revoke_after: after,
        revoke_attempts: 0,
      }],
    });
    expect(nextActions(rec, T0)).toMatchObject([{ action: "revoke_previous", at: after, due: false }]);
    expect(
      nextActions(
        credentialRecord({
          state: "revoked",
          policy: { max_age_days: 1, grace_hours: 0, on_compromise: "rotate", generator: "none" },
        }),
        T0 + 5 * DAY,
      ),
    ).toEqual([]);
  });

  it("gives a self-managed PAT only its own rules: no sweep visits it to list its user's keys", () => {
    const rec = credentialRecord({
      kind: "pat",
      manager_id: undefined,
      policy: { max_age_days: 90, grace_hours: 24, on_compromise: "rotate", generator: "none" },
    });
    const actions = nextActions(rec, T0);
    expect(actions.map((a) => [a.action, a.due])).toEqual([["rotate", false]]);
  });

  it("names an owed orphan scan as due at once", () => {
    const since = new Date(T0 - 60_000).toISOString();
    const rec = credentialRecord({ orphan_scan: { rotation_ids: ["rot_01jc4kb0000000000000000001"], since } });
    expect(nextActions(rec, T0)).toMatchObject([{ action: "scan_orphans", at: since, due: true }]);
  });
});
