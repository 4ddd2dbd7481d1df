/** Unit test of scripts/lib/format-dotenv.ts (pure logic): what npm start writes, Deno and wrangler read back. */
import { describe, expect, it } from "vitest";
import { parseDotenv } from "../../src/adapters/dotenv.ts";
import { formatDotenv } from "../../scripts/lib/format-dotenv.ts";

describe("formatDotenv()", () => {
  it("round-trips through parseDotenv", () => {
    const vars = { A: 'has "quotes"', B: '{"1":"abc="}', C: "", D: "it's" };
    expect(parseDotenv(formatDotenv(vars))).toEqual(vars);
  });

  it("refuses values it cannot write faithfully", () => {
    expect(() => formatDotenv({ A: "line\nbreak" })).toThrow('Cannot write variable "A"');
  });
});
