import { describe, expect, it } from "vitest";
import { duration, relative } from "./time.ts";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const DAY = 86_400_000;

describe("durations", () => {
  it("is coarse and signed by direction", () => {
    expect(duration(30_000)).toBe("< 1 min");
    expect(duration(3 * DAY + 4 * 3_600_000 + 5 * 60_000)).toBe("3d 4h");
    expect(relative(new Date(T0 + 25 * 60_000).toISOString(), T0)).toBe("in 25 min");
    expect(relative(new Date(T0 - 2 * 3_600_000).toISOString(), T0)).toBe("2h ago");
  });
});
