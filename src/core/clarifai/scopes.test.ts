import { describe, expect, it } from "vitest";
import { missingScopes, normalizeScope, REQUIRED_SCOPES, scopesFor } from "./scopes.ts";

describe("scopes", () => {
  it("normalises the docs' colon spelling to the proto's underscore", () => {
    expect(normalizeScope("Keys:Get")).toBe("Keys_Get");
    expect(normalizeScope(" Keys_Get ")).toBe("Keys_Get");
  });

  it("accepts both spellings on either side", () => {
    expect(missingScopes(["Keys:Add", "Keys_Get", "Apps:Get"], REQUIRED_SCOPES.createKey)).toEqual([]);
    expect(missingScopes(["Keys_Get"], ["Keys:Get"])).toEqual([]);
  });

  it("lets All cover everything", () => {
    expect(missingScopes(["All"], scopesFor("createKey", "deleteKey", "patchSecrets"))).toEqual([]);
    expect(missingScopes(["All"], ["Anything_Else"])).toEqual([]);
  });

  it("names what is missing, once each", () => {
    expect(missingScopes(["Keys_Get"], REQUIRED_SCOPES.deleteKey)).toEqual(["Keys_Add", "Keys_Delete"]);
    expect(missingScopes([], ["Keys:Get", "Keys_Get"])).toEqual(["Keys_Get"]);
    expect(missingScopes(["Keys_Get"], REQUIRED_SCOPES.createKey)).toEqual(["Keys_Add", "Apps_Get"]);
  });

  it("needs nothing for the credential checks", () => {
    expect(missingScopes([], REQUIRED_SCOPES.myScopes)).toEqual([]);
    expect(missingScopes([], REQUIRED_SCOPES.myUserScopes)).toEqual([]);
  });

  it("unions the scopes of several operations", () => {
    expect(scopesFor("createKey", "deleteKey").sort()).toEqual(["Apps_Get", "Keys_Add", "Keys_Delete", "Keys_Get"]);
  });
});
