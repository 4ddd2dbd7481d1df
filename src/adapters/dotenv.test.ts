import { describe, expect, it } from "vitest";
import { parseDotenv } from "./dotenv.ts";

describe("parseDotenv()", () => {
  it("reads names, values, comments, quotes and JSON values", () => {
    const vars = parseDotenv('# c\nA=1\n\nB="two words"\nC={"1":"k"}\nexport D=\'x\'\nbroken line\n');
    expect(vars).toEqual({ A: "1", B: "two words", C: '{"1":"k"}', D: "x" });
  });

  // Lines from dotenv's own fixtures (https://github.com/motdotla/dotenv/blob/master/tests/.env and
  // tests/.env-multiline); the expected values are what dotenv 16.3.1's parse() returns for them,
  // the version wrangler 4.86.0 bundles and reads .dev.vars with (dotenv.parse, no expansion).
  it("reads dotenv's fixtures as dotenv does", () => {
    const fixture = [
      "BASIC=basic",
      "",
      "# previous line intentionally left blank",
      "EMPTY=",
      "SINGLE_QUOTES_SPACED='    single quotes    '",
      'DOUBLE_QUOTES_SPACED="    double quotes    "',
      "DOUBLE_QUOTES_INSIDE_SINGLE='double \"quotes\" work inside single quotes'",
      'EXPAND_NEWLINES="expand\\nnew\\nlines"',
      "DONT_EXPAND_UNQUOTED=dontexpand\\nnewlines",
      "DONT_EXPAND_SQUOTED='dontexpand\\nnewlines'",
      "# COMMENTS=work",
      "INLINE_COMMENTS=inline comments # work #very #well",
      "INLINE_COMMENTS_SINGLE_QUOTES='inline comments outside of #singlequotes' # work",
      'INLINE_COMMENTS_DOUBLE_QUOTES="inline comments outside of #doublequotes" # work',
      "INLINE_COMMENTS_SPACE=inline comments start with a#space",
      "EQUAL_SIGNS=equals==",
      'RETAIN_INNER_QUOTES={"foo": "bar"}',
      "TRIM_SPACE_FROM_UNQUOTED=    some spaced out string",
      "    SPACED_KEY = parsed",
      'MULTI_DOUBLE_QUOTED="THIS',
      "IS",
      "A",
      "MULTILINE",
      'STRING"',
      "",
      "MULTI_SINGLE_QUOTED='THIS",
      "IS",
      "A",
      "MULTILINE",
      "STRING'",
    ].join("\n");
    expect(parseDotenv(fixture)).toEqual({
      BASIC: "basic",
      EMPTY: "",
      SINGLE_QUOTES_SPACED: "    single quotes    ",
      DOUBLE_QUOTES_SPACED: "    double quotes    ",
      DOUBLE_QUOTES_INSIDE_SINGLE: 'double "quotes" work inside single quotes',
      EXPAND_NEWLINES: "expand\nnew\nlines",
      DONT_EXPAND_UNQUOTED: "dontexpand\\nnewlines",
      DONT_EXPAND_SQUOTED: "dontexpand\\nnewlines",
      INLINE_COMMENTS: "inline comments",
      INLINE_COMMENTS_SINGLE_QUOTES: "inline comments outside of #singlequotes",
      INLINE_COMMENTS_DOUBLE_QUOTES: "inline comments outside of #doublequotes",
      INLINE_COMMENTS_SPACE: "inline comments start with a",
      EQUAL_SIGNS: "equals==",
      RETAIN_INNER_QUOTES: '{"foo": "bar"}',
      TRIM_SPACE_FROM_UNQUOTED: "some spaced out string",
      SPACED_KEY: "parsed",
      MULTI_DOUBLE_QUOTED: "THIS\nIS\nA\nMULTILINE\nSTRING",
      MULTI_SINGLE_QUOTED: "THIS\nIS\nA\nMULTILINE\nSTRING",
    });
  });

  it("reads 'KEY: value', backquotes, CRLF line ends and export as dotenv 16.3.1 does", () => {
    const vars = parseDotenv("COLON: value\nBACKTICK=`a 'b' \"c\"` # x\r\nCRLF=one\r\nexport EXP=1\n");
    expect(vars).toEqual({ COLON: "value", BACKTICK: "a 'b' \"c\"", CRLF: "one", EXP: "1" });
  });
});
