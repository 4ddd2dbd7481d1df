/**
 * The isolate's cache of Durable Object ids (src/adapters/durable-ids.ts) on the real namespace:
 * a kept id is the id `idFromName` gives, its stub reaches the same object, and the cache stays
 * bounded. And the stores built on it still find each credential's own cell.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { durableIds } from "../../src/adapters/durable-ids.ts";
import { WorkersStore } from "../../src/adapters/workers-store.ts";
import { credentialRecord } from "../support/records.ts";
import type { CredentialCell } from "../support/worker-under-test.ts";

const ns = env.CREDENTIAL_CELLS as unknown as DurableObjectNamespace<CredentialCell>;

describe("Durable Object ids kept per isolate", () => {
  it("gives the id idFromName gives, the same object on a second call", () => {
    const ids = durableIds(ns);
    const a = ids("cred_durable_ids_a");
    expect(a.equals(ns.idFromName("cred_durable_ids_a"))).toBe(true);
    expect(a.toString()).toBe(ns.idFromName("cred_durable_ids_a").toString());
    expect(ids("cred_durable_ids_a")).toBe(a);
    expect(ids("cred_durable_ids_b").equals(a)).toBe(false);
  });

  it("reaches the same object through a kept id as through a fresh one", async () => {
    const ids = durableIds(ns);
    const name = "cred_durable_ids_same";
    const kept = ids(name);
    const version = await ns.get(kept).write({ key: "probe", expected: null, json: '{"n":1}', mirror: {} });
    expect(version).not.toBeNull();
    expect(await ns.get(ns.idFromName(name)).read("probe")).toEqual({ json: '{"n":1}', version });
    // The same kept id, used again for a new stub after the first call ended.
    expect(await ns.get(ids(name)).read("probe")).toEqual({ json: '{"n":1}', version });
  });

  it("keeps at most its bound, evicting the oldest first", () => {
    const kept = new Map<string, DurableObjectId>();
    const ids = durableIds(ns, 3, kept);
    const first = ids("cred_evict_1");
    ids("cred_evict_2");
    ids("cred_evict_3");
    expect(ids("cred_evict_1")).toBe(first);
    ids("cred_evict_4");
    expect([...kept.keys()]).toEqual(["cred_evict_2", "cred_evict_3", "cred_evict_4"]);
    // The oldest was dropped: asked again, it is computed again (equal, a new object).
    const again = ids("cred_evict_1");
    expect(again).not.toBe(first);
    expect(again.equals(first)).toBe(true);
    expect(kept.size).toBe(3);
  });

  it("the store still reads each credential from its own cell (real KV and Durable Objects)", async () => {
    const store = new WorkersStore(env.REKEY_KV, ns);
    const a = credentialRecord();
    const b = credentialRecord();
    expect(await store.putCredential(a, null)).not.toBeNull();
    expect(await store.putCredential(b, null)).not.toBeNull();
    for (let i = 0; i < 2; i++) {
      expect((await store.getCredential(a.id))?.value.id).toBe(a.id);
      expect((await store.getCredential(b.id))?.value.id).toBe(b.id);
    }
  });
});
