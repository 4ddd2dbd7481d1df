/** When a rotation may wait for a continuation (pure logic over the rotation's fields). */
import { describe, expect, it } from "vitest";
import { mayHandOff } from "./hand-off.ts";
import type { Rotation } from "./rotation.ts";

const routine: Rotation["plan"] = ["create", "propagate", "verify", "promote", "revoke_old", "done"];
const compromise: Rotation["plan"] = ["revoke_old", "create", "propagate", "verify", "promote", "done"];
const selfManagedPat: Rotation["plan"] = ["create", "revoke_old", "propagate", "verify", "promote", "done"];

describe("mayHandOff (pure logic)", () => {
  it("lets a routine rotation wait after its delivery", () => {
    expect(mayHandOff({ reason: "scheduled", old_revoked: false, plan: routine, step: "verify" })).toBe(true);
  });

  it("lets a routine rotation wait after its promote, before a revoke_old due at once (drive.ts HAND_OFF_AFTER)", () => {
    expect(mayHandOff({ reason: "scheduled", old_revoked: false, plan: routine, step: "revoke_old" })).toBe(true);
  });

  it("keeps an escalated routine rotation, its old value live until its revoke_old, in the driver", () => {
    expect(mayHandOff({ reason: "compromise", old_revoked: false, plan: routine, step: "verify" })).toBe(false);
    expect(mayHandOff({ reason: "compromise", old_revoked: false, plan: routine, step: "revoke_old" })).toBe(false);
  });

  it("lets a compromise wait once its leaked value is deleted and its delivery is done", () => {
    expect(mayHandOff({ reason: "compromise", old_revoked: true, plan: compromise, step: "verify" })).toBe(true);
    expect(mayHandOff({ reason: "compromise", old_revoked: true, plan: selfManagedPat, step: "verify" })).toBe(true);
  });

  it("keeps a compromise whose DELETE is not recorded (owed to the sweep) in the driver", () => {
    expect(mayHandOff({ reason: "compromise", old_revoked: false, plan: compromise, step: "verify" })).toBe(false);
  });

  it("never lets a compromised secret wait before propagate overwrites it, though old_revoked is set", () => {
    // A secret's value dies at its propagate; its old_revoked is written at its first step.
    expect(mayHandOff({ reason: "compromise", old_revoked: true, plan: compromise, step: "create" })).toBe(false);
    expect(mayHandOff({ reason: "compromise", old_revoked: true, plan: compromise, step: "propagate" })).toBe(false);
  });

  it("lets a revocation, which has no propagate, wait only once its value is deleted", () => {
    const revoke: Rotation["plan"] = ["revoke_old", "done"];
    expect(mayHandOff({ reason: "compromise", old_revoked: false, plan: revoke, step: "revoke_old" })).toBe(false);
    expect(mayHandOff({ reason: "compromise", old_revoked: true, plan: revoke, step: "done" })).toBe(true);
  });
});
