import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkGithubAlert, githubAlertSchema, MAX_GITHUB_TOKENS } from "./github-alert.ts";

/** The hand check and the schema give the same verdict and, when they accept, the same value. */
function expectAgreement(input: unknown): void {
  const viaZod = githubAlertSchema.safeParse(input);
  const viaCheck = checkGithubAlert(input);
  expect(viaCheck !== undefined, "accept/reject").toBe(viaZod.success);
  if (viaZod.success) {
    // toStrictEqual: a key present with `undefined` differs from an absent key.
    expect(viaCheck).toStrictEqual(viaZod.data);
    expect(viaCheck!.map((item) => Object.keys(item))).toEqual(viaZod.data.map((item) => Object.keys(item)));
  }
}

// zod counts code points, JavaScript UTF-16 units: "😀" is one and two, so lengths near a bound
// land on either side of it in one measure or the other; a lone surrogate is one of each.
const unit = fc.constantFrom("x", "é", "😀", "\ud83d", "x\ude00");
const ofLength = (n: number) => unit.map((u) => u.repeat(Math.ceil(n / u.length)).slice(0, n));
/** A field bounded by `max` (and `min`): mostly within, often at the edges, sometimes one past or not a string. */
const field = (max: number, min = 0) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength: min, maxLength: 12 }) },
    { weight: 3, arbitrary: fc.constantFrom(min, min + 1, max - 1, max).chain(ofLength) },
    { weight: 1, arbitrary: fc.constantFrom(max + 1, max + 2, Math.max(min - 1, 0)).chain(ofLength) },
    { weight: 1, arbitrary: unit.map((u) => u.repeat(max / 2 + 1)) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constant(null),
        fc.constant(undefined),
        fc.integer(),
        fc.boolean(),
        fc.array(fc.string(), { maxLength: 2 }),
        fc.object({ maxDepth: 1 }),
      ),
    },
  );
const extraKeys = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
const item = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.tuple(
      fc.record(
        { token: field(4096, 1), type: field(256), url: field(4096), source: field(64) },
        // token and type are mostly present (so many items are valid); url and source often absent.
        { requiredKeys: [] },
      ),
      extraKeys,
      fc.boolean(),
    ).map(([known, extra, knownLast]) => (knownLast ? { ...extra, ...known } : { ...known, ...extra })),
  },
  { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.string(), fc.integer(), fc.array(fc.anything())) },
);
const body = fc.oneof(
  { weight: 8, arbitrary: fc.array(item, { minLength: 1, maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constant([]) },
  { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.string(), fc.integer(), fc.object(), item) },
);

describe("the GitHub alert body check (pure logic, no adapter)", () => {
  it("agrees with githubAlertSchema on random bodies, and on them after a JSON round trip", () => {
    fc.assert(
      fc.property(body, (input) => {
        expectAgreement(input);
        // What the route sees: JSON.parse output (undefined values dropped, no prototypes of ours).
        const text = JSON.stringify(input);
        if (text !== undefined) expectAgreement(JSON.parse(text));
      }),
      { numRuns: 1000 },
    );
  });

  it("agrees with githubAlertSchema on any value at all", () => {
    fc.assert(fc.property(fc.anything(), expectAgreement), { numRuns: 300 });
    fc.assert(fc.property(fc.array(fc.anything(), { maxLength: 3 }), expectAgreement), { numRuns: 300 });
  });

  it("agrees at the batch-size bounds (1 and MAX_GITHUB_TOKENS accepted, 0 and one more refused)", () => {
    const valid = { token: "t", type: "x", url: "https://example.test/blob", source: "content" };
    for (const n of [0, 1, MAX_GITHUB_TOKENS, MAX_GITHUB_TOKENS + 1]) {
      const input = Array.from({ length: n }, () => valid);
      expectAgreement(input);
      expect(checkGithubAlert(input) !== undefined).toBe(n >= 1 && n <= MAX_GITHUB_TOKENS);
    }
  });

  it("agrees on what JSON cannot produce: keys present but undefined, inherited keys, an array with fields", () => {
    expectAgreement([{ token: "t", type: "x", url: undefined, source: undefined }]);
    expectAgreement([Object.assign(Object.create({ url: "inherited" }), { token: "t", type: "x" })]);
    expectAgreement([Object.assign(Object.create({ source: 7 }), { token: "t", type: "x" })]);
    expectAgreement([Object.assign(Object.create(null), { token: "t", type: "x", source: "s" })]);
    // zod's objects are non-null non-arrays: an array is refused even when it has the fields.
    expectAgreement([Object.assign([], { token: "t", type: "x" })]);
  });
});
