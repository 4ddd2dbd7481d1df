/**
 * Contract suite for the Clarifai client (src/core/clarifai, with the calls only tests make from
 * ./clarifai-test-client.ts) against the Clarifai emulator. The same
 * suite runs over real HTTP (emulator hosted in Node) and in-process (emulator inside workerd), so a
 * difference between the two hosts fails a test.
 *
 * The Node emulator is shared by every test file that runs in parallel: each suite works under its own
 * user ids, scopes every fault to one of its own paths, and never resets the emulator.
 *
 * Every Clarifai failure the suite sees is kept, and the last test proves none of them carries a token,
 * key id or secret value used anywhere in the suite.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClarifaiClientOptions, ClarifaiErrorKind, ClarifaiFailure } from "../../src/core/clarifai/index.ts";
import { Failure } from "../../src/core/failure.ts";
import { type ClarifaiTestClient, createClarifaiTestClient } from "./clarifai-test-client.ts";
import type { Result } from "../../src/core/result.ts";

export interface EmulatorHost {
  /** Base URL of the emulator's Clarifai API, without a trailing slash. */
  baseUrl: string;
  fetch: typeof fetch;
  /** Calls a `/_emulator/...` control route: POST with `body`, GET without; resolves to its JSON. */
  control(path: string, body?: unknown): Promise<unknown>;
  close?(): Promise<void>;
}

interface Fault {
  method: string;
  path: string;
  count?: number;
  status?: number;
  code?: number;
  delay_ms?: number;
  drop?: boolean;
  location?: string;
}

interface Seeded {
  userId: string;
  appId: string;
  pat: string;
}

const REQUEST_ID_PREFIX = "rekey-contract";

export function clarifaiContractSuite(name: string, makeHost: () => Promise<EmulatorHost>): void {
  describe(`Clarifai client contract (${name})`, () => {
    let host: EmulatorHost;
    let clarifai: ClarifaiTestClient;
    const run = crypto.randomUUID().slice(0, 8);
    let users = 0;
    /** Every token, key id and secret value the suite handles. */
    const sensitive = new Set<string>();
    /** Every Clarifai failure the suite received. */
    const seen: ClarifaiFailure[] = [];

    const client = (options: ClarifaiClientOptions = {}) =>
      createClarifaiTestClient({
        baseUrl: host.baseUrl,
        fetch: host.fetch,
        requestIdPrefix: REQUEST_ID_PREFIX,
        timeoutMs: 5_000,
        ...options,
      });

    async function value<T>(call: Promise<Result<T, ClarifaiFailure>>): Promise<T> {
      const r = await call;
      if (!r.ok) {
        seen.push(r.error);
        throw r.error;
      }
      return r.value;
    }

    async function failure(
      call: Promise<Result<unknown, ClarifaiFailure>>,
      kind: ClarifaiErrorKind,
    ): Promise<ClarifaiFailure> {
      const r = await call;
      expect(r.ok, `expected a "${kind}" failure`).toBe(false);
      if (r.ok) throw new Error("unreachable");
      seen.push(r.error);
      expect(r.error).toBeInstanceOf(Failure);
      expect(r.error.tag).toBe("clarifai");
      expect(r.error.detail.kind).toBe(kind);
      return r.error;
    }

    /** A fresh user with one app and an All-scoped PAT, under this run's own id. */
    async function newUser(): Promise<Seeded> {
      const userId = `contract-${run}-${++users}`;
      const appId = `app-${users}`;
      await host.control("/_emulator/users", { id: userId });
      await host.control(`/_emulator/users/${userId}/apps`, { id: appId });
      const pat = await mint(userId, { type: "personal_access_token", scopes: ["All"], apps: [] });
      return { userId, appId, pat };
    }

    async function mint(
      userId: string,
      key: { type: string; scopes: string[]; apps: { id: string; user_id: string }[] },
    ) {
      const res = (await host.control(`/_emulator/users/${userId}/keys`, {
        ...key,
        description: "minted by the contract suite",
      })) as {
        key: { id: string };
      };
      sensitive.add(res.key.id);
      return res.key.id;
    }

    async function fault(f: Fault) {
      await host.control("/_emulator/faults", { count: 1, ...f });
    }

    beforeAll(async () => {
      host = await makeHost();
      clarifai = client();
    });

    afterAll(async () => {
      await host?.close?.();
    });

    describe("credential checks", () => {
      it("getUser resolves `me` and an explicit id to the PAT's owner", async () => {
        const u = await newUser();
        expect((await value(clarifai.getUser(u.pat))).id).toBe(u.userId);
        expect((await value(clarifai.getUser(u.pat, "me"))).id).toBe(u.userId);
        expect((await value(clarifai.getUser(u.pat, u.userId))).id).toBe(u.userId);
      });

      it("myScopes reports a PAT's scopes and an app key's app", async () => {
        const u = await newUser();
        expect((await value(clarifai.myScopes(u.pat))).scopes).toContain("All");
        const appKey = await mint(u.userId, {
          type: "app_specific_key",
          scopes: ["Predict"],
          apps: [{ id: u.appId, user_id: u.userId }],
        });
        const info = await value(clarifai.myScopes(appKey));
        expect(info.app?.id).toBe(u.appId);
        expect(info.scopes.map((s) => s.replace(":", "_"))).toContain("Predict");
      });

      it("myUserScopes lists a PAT's scopes under `me` and its id", async () => {
        const u = await newUser();
        const narrow = await mint(u.userId, {
          type: "personal_access_token",
          scopes: ["Keys_Get", "Secrets_Get"],
          apps: [],
        });
        for (const who of ["me", u.userId]) {
          const info = await value(clarifai.myUserScopes(narrow, who));
          expect(info.scopes.map((s) => s.replace(":", "_")).sort()).toEqual(["Keys_Get", "Secrets_Get"]);
        }
      });
    });

    describe("keys", () => {
      it("creates an app key that works, reads it back, and lists it under its app", async () => {
        const u = await newUser();
        const key = await value(
          clarifai.createKey(u.pat, u.userId, {
            type: "app_specific_key",
            description: "contract app key",
            scopes: ["Predict", "Inputs_Get"],
            apps: [{ id: u.appId, user_id: u.userId }],
          }),
        );
        sensitive.add(key.id);
        expect(key).toMatchObject({ type: "app_specific_key", description: "contract app key" });
        expect(key.apps.map((a) => a.id)).toEqual([u.appId]);
        expect((await value(clarifai.getKey(u.pat, "me", key.id))).id).toBe(key.id);
        expect((await value(clarifai.myScopes(key.id))).app?.id).toBe(u.appId);
        const appKeys = await value(clarifai.listAppKeys(u.pat, u.userId, u.appId));
        expect(appKeys.map((k) => k.id)).toEqual([key.id]);
        expect((await value(clarifai.listAllAppKeys(u.pat, "me", u.appId, { perPage: 1 }))).map((k) => k.id)).toEqual([
          key.id,
        ]);
      });

      it("creates a PAT under `me` that authenticates as the same user", async () => {
        const u = await newUser();
        const pat = await value(
          clarifai.createKey(u.pat, "me", {
            type: "personal_access_token",
            description: "contract pat",
            scopes: ["All"],
          }),
        );
        sensitive.add(pat.id);
        expect(pat.type).toBe("personal_access_token");
        expect(pat.apps).toEqual([]);
        expect((await value(clarifai.getUser(pat.id))).id).toBe(u.userId);
      });

      it("pages through more keys than one page holds, and filters by type", async () => {
        const u = await newUser();
        const made: string[] = [];
        for (let i = 0; i < 5; i++) {
          const k = await value(
            clarifai.createKey(u.pat, u.userId, {
              type: "app_specific_key",
              description: `page ${i}`,
              scopes: ["Predict"],
              apps: [{ id: u.appId, user_id: u.userId }],
            }),
          );
          sensitive.add(k.id);
          made.push(k.id);
        }
        const page1 = await value(clarifai.listKeys(u.pat, u.userId, { page: 1, perPage: 2 }));
        const page2 = await value(clarifai.listKeys(u.pat, u.userId, { page: 2, perPage: 2 }));
        const page4 = await value(clarifai.listKeys(u.pat, u.userId, { page: 4, perPage: 2 }));
        expect(page1).toHaveLength(2);
        expect(page2).toHaveLength(2);
        expect(page4).toEqual([]);
        expect(new Set([...page1, ...page2].map((k) => k.id)).size).toBe(4);

        const all = await value(clarifai.listAllKeys(u.pat, "me", { perPage: 2 }));
        expect(all.map((k) => k.id).sort()).toEqual([...made, u.pat].sort());
        const apps = await value(clarifai.listAllKeys(u.pat, u.userId, { type: "app_specific_key", perPage: 3 }));
        expect(apps.map((k) => k.id).sort()).toEqual([...made].sort());
        const pats = await value(
          clarifai.listKeys(u.pat, u.userId, { type: "personal_access_token", notExpired: true }),
        );
        expect(pats.map((k) => k.id)).toEqual([u.pat]);
      });

      it("patches a key's description and scopes", async () => {
        const u = await newUser();
        const key = await value(
          clarifai.createKey(u.pat, u.userId, {
            type: "app_specific_key",
            description: "before",
            scopes: ["Predict"],
            apps: [{ id: u.appId, user_id: u.userId }],
          }),
        );
        sensitive.add(key.id);
        const patched = await value(
          clarifai.patchKeys(u.pat, "me", [{ id: key.id, description: "after", scopes: ["Predict", "Inputs_Get"] }]),
        );
        expect(patched.map((k) => k.description)).toEqual(["after"]);
        const read = await value(clarifai.getKey(u.pat, u.userId, key.id));
        expect(read.description).toBe("after");
        expect(read.scopes.map((s) => s.replace(":", "_")).sort()).toEqual(["Inputs_Get", "Predict"]);
      });

      it("deletes a key: it stops working, cannot be read, and a second delete is not_found", async () => {
        const u = await newUser();
        const doomed = await value(
          clarifai.createKey(u.pat, u.userId, {
            type: "personal_access_token",
            description: "doomed",
            scopes: ["All"],
          }),
        );
        sensitive.add(doomed.id);
        await value(clarifai.deleteKey(u.pat, u.userId, doomed.id));
        const reused = await failure(clarifai.getUser(doomed.id), "invalid_key");
        expect(reused.detail.httpStatus).toBe(401);
        expect([11008, 11009]).toContain(reused.detail.clarifaiCode);
        await failure(clarifai.getKey(u.pat, u.userId, doomed.id), "not_found");
        const again = await failure(clarifai.deleteKey(u.pat, "me", doomed.id), "not_found");
        expect(again.retryable).toBe(false);
      });
    });

    describe("secrets", () => {
      it("creates, reads, overwrites and deletes a secret", async () => {
        const u = await newUser();
        const v1 = `v1-${crypto.randomUUID()}`;
        const v2 = `v2-${crypto.randomUUID()}`;
        sensitive.add(v1).add(v2);
        const made = await value(
          clarifai.createSecret(u.pat, u.userId, { id: "OPENAI_KEY", value: v1, description: "contract" }),
        );
        expect(made).toMatchObject({ id: "OPENAI_KEY", value: v1, version: 1, description: "contract" });
        expect((await value(clarifai.getSecret(u.pat, "me", "OPENAI_KEY"))).value).toBe(v1);

        const patched = await value(
          clarifai.patchSecrets(u.pat, u.userId, [{ id: "OPENAI_KEY", value: v2 }], "overwrite"),
        );
        expect(patched.map((s) => s.value)).toEqual([v2]);
        expect((await value(clarifai.getSecret(u.pat, u.userId, "OPENAI_KEY"))).value).toBe(v2);

        await value(clarifai.deleteSecrets(u.pat, "me", ["OPENAI_KEY"]));
        await failure(clarifai.getSecret(u.pat, u.userId, "OPENAI_KEY"), "not_found");
      });

      it("removes secrets with patch action remove", async () => {
        const u = await newUser();
        const v = `rm-${crypto.randomUUID()}`;
        sensitive.add(v);
        await value(clarifai.createSecret(u.pat, u.userId, { id: "TO_REMOVE", value: v }));
        await value(clarifai.patchSecrets(u.pat, u.userId, [{ id: "TO_REMOVE" }], "remove"));
        await failure(clarifai.getSecret(u.pat, u.userId, "TO_REMOVE"), "not_found");
      });

      it("pages through secrets and deletes several in one call", async () => {
        const u = await newUser();
        const ids = ["S_A", "S_B", "S_C", "S_D", "S_E"];
        for (const id of ids) {
          const v = `${id}-${crypto.randomUUID()}`;
          sensitive.add(v);
          await value(clarifai.createSecret(u.pat, u.userId, { id, value: v }));
        }
        expect(await value(clarifai.listSecrets(u.pat, u.userId, { page: 1, perPage: 2 }))).toHaveLength(2);
        expect((await value(clarifai.listAllSecrets(u.pat, "me", { perPage: 2 }))).map((s) => s.id).sort()).toEqual(
          ids,
        );
        await value(clarifai.deleteSecrets(u.pat, u.userId, ["S_A", "S_B"]));
        expect((await value(clarifai.listAllSecrets(u.pat, u.userId))).map((s) => s.id).sort()).toEqual([
          "S_C",
          "S_D",
          "S_E",
        ]);
      });

      it("refuses a duplicate secret id as duplicate", async () => {
        const u = await newUser();
        const v = `dup-${crypto.randomUUID()}`;
        sensitive.add(v);
        await value(clarifai.createSecret(u.pat, u.userId, { id: "DUP", value: v }));
        const e = await failure(clarifai.createSecret(u.pat, u.userId, { id: "DUP", value: v }), "duplicate");
        expect(e.detail.clarifaiCode).toBe(40010);
        expect(e.retryable).toBe(false);
      });
    });

    describe("real failures", () => {
      it("refuses an app-specific key on the key and secret endpoints", async () => {
        const u = await newUser();
        const appKey = await mint(u.userId, {
          type: "app_specific_key",
          scopes: ["All"],
          apps: [{ id: u.appId, user_id: u.userId }],
        });
        for (
          const call of [
            clarifai.listKeys(appKey, u.userId),
            clarifai.getUser(appKey),
            clarifai.listSecrets(appKey, "me"),
          ]
        ) {
          const r = await call;
          expect(r.ok).toBe(false);
          if (r.ok) continue;
          seen.push(r.error);
          expect(["insufficient_scopes", "invalid_key"]).toContain(r.error.detail.kind);
          expect(r.error.retryable).toBe(false);
        }
      });

      it("refuses a PAT without the Keys scopes as insufficient_scopes", async () => {
        const u = await newUser();
        const narrow = await mint(u.userId, { type: "personal_access_token", scopes: ["Secrets_Get"], apps: [] });
        const e = await failure(
          clarifai.createKey(narrow, u.userId, {
            type: "app_specific_key",
            description: "x",
            scopes: ["Predict"],
            apps: [{ id: u.appId, user_id: u.userId }],
          }),
          "insufficient_scopes",
        );
        expect(e).toMatchObject({
          retryable: false,
          detail: { clarifaiCode: 11007, httpStatus: 403, operation: "PostKeys" },
        });
        const getOnly = await mint(u.userId, { type: "personal_access_token", scopes: ["Keys:Get"], apps: [] });
        await value(clarifai.listKeys(getOnly, u.userId));
        await failure(clarifai.deleteKey(getOnly, u.userId, u.pat), "insufficient_scopes");
      });

      it("refuses unknown and malformed tokens as invalid_key", async () => {
        const unknown = "0123456789abcdef0123456789abcdef";
        sensitive.add(unknown);
        const e = await failure(clarifai.getUser(unknown), "invalid_key");
        expect(e).toMatchObject({ retryable: false, detail: { clarifaiCode: 11008, httpStatus: 401 } });
        expect(e.detail.reqId?.startsWith(REQUEST_ID_PREFIX)).toBe(true);
        for (const bad of ["", "two words", "line\nbreak"]) {
          const local = await failure(clarifai.myScopes(bad), "invalid_key");
          expect(local.detail.httpStatus).toBeUndefined();
        }
      });

      it("answers another user's id as not_found", async () => {
        const u = await newUser();
        const other = await newUser();
        const e = await failure(clarifai.listKeys(u.pat, other.userId), "not_found");
        expect(e.detail.clarifaiCode).toBe(11101);
        await failure(clarifai.getKey(u.pat, u.userId, "ffffffffffffffffffffffffffffffff"), "not_found");
      });

      it("refuses ids that would change the path before sending", async () => {
        const u = await newUser();
        await failure(clarifai.getKey(u.pat, u.userId, ".."), "bad_request");
        await failure(clarifai.getSecret(u.pat, "", "X"), "bad_request");
      });
    });

    describe("injected faults", () => {
      const cases: [string, Partial<Fault>, ClarifaiErrorKind, boolean][] = [
        ["429/11005", { status: 429, code: 11005 }, "throttled", true],
        ["500/98004", { status: 500, code: 98004 }, "server", true],
        ["401/11008", { status: 401, code: 11008 }, "invalid_key", false],
        ["403/11007", { status: 403, code: 11007 }, "insufficient_scopes", false],
        ["404/11101", { status: 404, code: 11101 }, "not_found", false],
        ["400/11102", { status: 400, code: 11102 }, "bad_request", false],
        ["400/11100", { status: 400, code: 11100 }, "bad_request", false],
      ];
      for (const [label, f, kind, retryable] of cases) {
        it(`maps ${label} to ${kind}, and the next call succeeds`, async () => {
          const u = await newUser();
          await fault({ method: "GET", path: `/v2/users/${u.userId}/keys`, ...f });
          const e = await failure(clarifai.listKeys(u.pat, u.userId), kind);
          expect(e).toMatchObject({
            retryable,
            detail: { httpStatus: f.status, clarifaiCode: f.code, operation: "ListKeys" },
          });
          expect(await value(clarifai.listKeys(u.pat, u.userId))).toHaveLength(1);
        });
      }

      it("treats HTTP 200 with a non-success status code as an error", async () => {
        const u = await newUser();
        await fault({ method: "GET", path: `/v2/users/${u.userId}`, status: 200, code: 10020 });
        const e = await failure(clarifai.getUser(u.pat, u.userId), "unexpected");
        expect(e).toMatchObject({ retryable: false, detail: { httpStatus: 200, clarifaiCode: 10020 } });
      });

      it("maps a slow answer to timeout", async () => {
        const u = await newUser();
        await fault({ method: "GET", path: `/v2/users/${u.userId}/keys/*`, delay_ms: 1_500 });
        const started = Date.now();
        const e = await failure(client({ timeoutMs: 200 }).getKey(u.pat, u.userId, u.pat), "timeout");
        expect(Date.now() - started).toBeLessThan(1_400);
        expect(e.retryable).toBe(true);
      });

      // Issue 14 item 3: a followed redirect would carry the key id (the token) in the path to the
      // Location's host, and that host's 404 would read as "already deleted".
      for (const status of [301, 302, 307, 308]) {
        it(`never follows a ${status} redirect: a redirected delete is unexpected_redirect, not not_found, and the key lives`, async () => {
          const u = await newUser();
          const victim = await mint(u.userId, { type: "personal_access_token", scopes: ["All"], apps: [] });
          const elsewhere = `/v2/users/${u.userId}/keys/ffffffffffffffffffffffffffffffff`;
          await fault({
            method: "DELETE",
            path: `/v2/users/${u.userId}/keys/*`,
            status,
            location: `${host.baseUrl}${elsewhere}`,
          });
          const e = await failure(clarifai.deleteKey(u.pat, u.userId, victim), "unexpected_redirect");
          expect(e).toMatchObject({ retryable: false, detail: { httpStatus: status, operation: "DeleteKey" } });
          const state = (await host.control("/_emulator/state")) as { calls: { path: string }[] };
          expect(state.calls.filter((c) => c.path === elsewhere)).toEqual([]);
          expect((await value(clarifai.getUser(victim))).id).toBe(u.userId);
        });
      }

      it("maps a dropped connection to network", async () => {
        const u = await newUser();
        await fault({ method: "PATCH", path: `/v2/users/${u.userId}/secrets`, drop: true });
        const e = await failure(
          clarifai.patchSecrets(u.pat, u.userId, [{ id: "NOPE", value: "x-value-1" }]),
          "network",
        );
        expect(e.retryable).toBe(true);
        expect(e.detail.httpStatus).toBeUndefined();
      });
    });

    it("never puts a token, key id or secret value into an error", () => {
      expect(seen.length).toBeGreaterThan(20);
      for (const e of seen) {
        const rendered = [e.message, String(e), e.stack ?? "", JSON.stringify(e), e.detail.description ?? ""].join(
          "\n",
        );
        for (const s of sensitive) {
          expect(rendered.includes(s), `${e.detail.operation} error leaks a sensitive value`).toBe(false);
        }
      }
    });
  });
}
