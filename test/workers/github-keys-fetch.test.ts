/**
 * GitHub's secret scanning public keys fetched from GITHUB_KEYS_URL (the path used when
 * GITHUB_SECRET_SCANNING_KEYS is unset): the local receiver serves GitHub's key list format over
 * loopback and the real fetch reads it. A controlled clock drives the cache: one fetch an hour,
 * at most one refetch a minute for an unknown key id, the cached keys kept through an outage, and
 * nothing (so the route answers 503) while no key was ever known.
 */
import { describe, expect, it } from "vitest";
import { GithubKeys } from "../../src/core/alerts/github-keys.ts";
import { failNext, received, receiverUrl, serve } from "../support/receiver.ts";
import keyList from "../setup/github-test-keys.json";

const MINUTE = 60_000;

function keysAt(path: string) {
  let now = Date.parse("2026-06-01T00:00:00Z");
  const keys = new GithubKeys(undefined, `${receiverUrl()}${path}`, () => now);
  return {
    keys,
    advance: (ms: number) => void (now += ms),
    fetches: async () => (await received(path)).filter((r) => r.method === "GET").length,
  };
}

const firstKeyId = (keyList as { public_keys: Array<{ key_identifier: string }> }).public_keys[0]!.key_identifier;

describe("GitHub public keys from GITHUB_KEYS_URL", () => {
  it("fetches GitHub's key list once and serves it from the cache for an hour", async () => {
    const path = `/github/keys-${crypto.randomUUID()}`;
    await serve(path, keyList);
    const k = keysAt(path);
    expect((await k.keys.get())?.public_keys.map((x) => x.key_identifier)).toContain(firstKeyId);
    k.advance(30 * MINUTE);
    await k.keys.get();
    expect(await k.fetches()).toBe(1);
    k.advance(31 * MINUTE);
    await k.keys.get();
    expect(await k.fetches()).toBe(2);
    const sent = (await received(path))[0]!;
    expect(sent.headers.accept).toBe("application/json");
  });

  it("refetches for an unknown key id at most once a minute", async () => {
    const path = `/github/keys-${crypto.randomUUID()}`;
    await serve(path, keyList);
    const k = keysAt(path);
    await k.keys.get();
    k.advance(2 * MINUTE);
    for (let i = 0; i < 5; i++) await k.keys.get({ refresh: true }); // a burst of alerts naming an unknown key
    expect(await k.fetches()).toBe(2);
    k.advance(MINUTE);
    await k.keys.get({ refresh: true });
    expect(await k.fetches()).toBe(3);
  });

  it("keeps the cached keys through a GitHub outage", async () => {
    const path = `/github/keys-${crypto.randomUUID()}`;
    await serve(path, keyList);
    const k = keysAt(path);
    await k.keys.get();
    await failNext(path, 503, 5);
    k.advance(61 * MINUTE); // the cache has expired and GitHub is down
    expect((await k.keys.get())?.public_keys.map((x) => x.key_identifier)).toContain(firstKeyId);
    expect(await k.fetches()).toBe(2);
  });

  it("has no keys (the route's 503) while GitHub has never answered with a valid list", async () => {
    const path = `/github/keys-${crypto.randomUUID()}`;
    await failNext(path, 500, 1);
    const k = keysAt(path);
    expect(await k.keys.get()).toBeNull();
    await serve(path, { public_keys: "not a list" });
    k.advance(MINUTE);
    expect(await k.keys.get()).toBeNull();
    await serve(path, keyList);
    k.advance(MINUTE);
    expect((await k.keys.get())?.public_keys.length).toBeGreaterThan(0);
  });
});
