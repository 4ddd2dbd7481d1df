import { describe, expect, it } from "vitest";
import { parseDotenv } from "./dotenv.ts";

describe("parseDotenv()", () => {
  it("reads names, values, comments, quotes and JSON values", () => {
    const vars = parseDotenv('# c\nA=1\n\nB="two words"\nC={"1":"k"}\nexport D=\'x\'\nbroken line\n');
    expect(vars).toEqual({ A: "1", B: "two words", C: '{"1":"k"}', D: "x" });
  });
});
