import { describe, expect, it } from "vitest";
import { hasScopes, missingScopes, normalizeScope, REQUIRED_SCOPES, scopesFor } from "./scopes.ts";

describe("scopes", () => {
  it("normalises the docs' colon spelling to the proto's underscore", () => {
    expect(normalizeScope("Keys:Get")).toBe("Keys_Get");
    expect(normalizeScope(" Keys_Get ")).toBe("Keys_Get");
  });

  it("accepts both spellings on either side", () => {
    expect(hasScopes(["Keys:Add", "Keys_Get", "Apps:Get"], REQUIRED_SCOPES.createKey)).toBe(true);
    expect(hasScopes(["Keys_Get"], ["Keys:Get"])).toBe(true);
  });

  it("lets All cover everything", () => {
    expect(hasScopes(["All"], scopesFor("createKey", "deleteKey", "patchSecrets"))).toBe(true);
    expect(missingScopes(["All"], ["Anything_Else"])).toEqual([]);
  });

  it("names what is missing, once each", () => {
    expect(missingScopes(["Keys_Get"], REQUIRED_SCOPES.deleteKey)).toEqual(["Keys_Add", "Keys_Delete"]);
    expect(missingScopes([], ["Keys:Get", "Keys_Get"])).toEqual(["Keys_Get"]);
    expect(hasScopes(["Keys_Get"], REQUIRED_SCOPES.createKey)).toBe(false);
  });

  it("needs nothing for the credential checks", () => {
    expect(hasScopes([], REQUIRED_SCOPES.getUser)).toBe(true);
    expect(hasScopes([], REQUIRED_SCOPES.myScopes)).toBe(true);
  });

  it("unions the scopes of several operations", () => {
    expect(scopesFor("createKey", "deleteKey").sort()).toEqual(["Apps_Get", "Keys_Add", "Keys_Delete", "Keys_Get"]);
  });
});
