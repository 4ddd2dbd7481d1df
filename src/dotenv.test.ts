import { describe, expect, it } from "vitest";
import { formatDotenv, parseDotenv } from "./dotenv.ts";

describe("parseDotenv()", () => {
  it("reads names, values, comments, quotes and JSON values", () => {
    const vars = parseDotenv('# c\nA=1\n\nB="two words"\nC={"1":"k"}\nexport D=\'x\'\nbroken line\n');
    expect(vars).toEqual({ A: "1", B: "two words", C: '{"1":"k"}', D: "x" });
  });

  it("round-trips what formatDotenv writes", () => {
    const vars = { A: 'has "quotes"', B: '{"1":"abc="}', C: "", D: "it's" };
    expect(parseDotenv(formatDotenv(vars))).toEqual(vars);
  });
});

describe("formatDotenv()", () => {
  it("refuses values it cannot write faithfully", () => {
    expect(() => formatDotenv({ A: "line\nbreak" })).toThrow('Cannot write variable "A"');
  });
});
