/**
 * Contract cases: the wire requests Clarifai's official JSON client makes, written down so no Python
 * is needed, and what the emulator must answer. Read from Clarifai/clarifai-python-grpc:
 * - clarifai_grpc/channel/grpc_json_channel.py: the request message becomes a dict with proto field
 *   names (`preserving_proto_field_name`), enums by name; path fields are filled from it and only
 *   top-level ones deleted, so `user_app_id` (whose `user_id` filled the path) stays in the request.
 * - clarifai_grpc/channel/http_client.py: every request carries `Content-Type: application/json`,
 *   `X-Clarifai-gRPC-Client` and `Authorization: Key <token>`. GET sends the fields as query
 *   parameters (`_encode_get_params`: nested dicts flattened with ".", numbers and booleans as
 *   Python's `str()`, so `True`/`False`); POST, PATCH and DELETE send them as a JSON body, DELETE
 *   included.
 * Answers are checked against Clarifai's published examples (Clarifai/docs,
 * code_snippets/api-guide/authentication/secrets_*_output.txt).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { createEmulator, type Emulator } from "./index.ts";

let emu: Emulator;
let pat: string;
const USER = "alfrick";

/** Exactly what the official client puts on the wire for one call. */
function official(
  method: "GET" | "POST" | "PATCH" | "DELETE",
  path: string,
  fields: Record<string, unknown>,
  token = pat,
) {
  const headers = {
    "content-type": "application/json",
    "x-clarifai-grpc-client": "python:11.0.5",
    "python-client": "linux:3.11.4",
    authorization: `Key ${token}`,
  };
  if (method === "GET") {
    const q = new URLSearchParams();
    const flatten = (prefix: string, value: unknown) => {
      if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value)) flatten(prefix ? `${prefix}.${k}` : k, v);
      } else if (Array.isArray(value)) {
        for (const v of value) q.append(prefix, String(v));
      } else if (typeof value === "boolean") {
        q.append(prefix, value ? "True" : "False"); // Python's str(bool)
      } else {
        q.append(prefix, String(value));
      }
    };
    flatten("", fields);
    const qs = q.toString();
    return emu.fetch(`http://e${path}${qs ? `?${qs}` : ""}`, { headers });
  }
  return emu.fetch(`http://e${path}`, { method, headers, body: JSON.stringify(fields) });
}

const userAppId = { user_app_id: { user_id: USER } };
const json = async (res: Response) => ({ status: res.status, body: await res.json<any>() });

beforeEach(() => {
  emu = createEmulator();
  pat = emu.seed({ userId: USER, appId: "app1" }).pat;
});

describe("the official client's key calls", () => {
  it("ListKeys with not_expired=True (as str(True) sends it) leaves expired keys out; False keeps them", async () => {
    const expired = await (
      await emu.fetch("http://e/_emulator/users/alfrick/keys", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          type: "app_specific_key",
          scopes: ["Predict"],
          apps: [{ id: "app1", user_id: USER }],
          description: "old",
          expires_at: "2001-01-01T00:00:00Z",
        }),
      })
    ).json<any>();
    const listed = (notExpired: boolean) =>
      official("GET", `/v2/users/${USER}/keys`, { ...userAppId, page: 1, per_page: 10, not_expired: notExpired }).then(
        json,
      );

    const live = await listed(true);
    expect(live.status).toBe(200);
    expect(live.body.status.code).toBe(10000);
    expect(live.body.keys.map((k: any) => k.id)).not.toContain(expired.key.id);
    expect((await listed(false)).body.keys.map((k: any) => k.id)).toContain(expired.key.id);
  });

  it("accepts every spelling of a boolean Go's strconv.ParseBool does, and refuses others with 11100", async () => {
    for (const v of ["1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"]) {
      const res = await emu.fetch(`http://e/v2/users/${USER}/keys?not_expired=${v}`, {
        headers: { authorization: `Key ${pat}` },
      });
      expect(res.status, v).toBe(200);
    }
    const bad = await json(
      await emu.fetch(`http://e/v2/users/${USER}/keys?not_expired=yes`, { headers: { authorization: `Key ${pat}` } }),
    );
    expect(bad.status).toBe(400);
    expect(bad.body.status.code).toBe(11100);
    expect(bad.body.keys).toEqual([]);
  });

  it("GetKey and DeleteKey: user_app_id rides along (query for GET, JSON body for DELETE)", async () => {
    const got = await json(await official("GET", `/v2/users/${USER}/keys/${pat}`, userAppId));
    expect(got.body.key.id).toBe(pat);
    const made = await json(
      await official("POST", `/v2/users/${USER}/keys`, {
        ...userAppId,
        keys: [{ description: "doomed", scopes: ["All"], type: "personal_access_token" }],
      }),
    );
    const doomed = made.body.keys[0].id as string;
    const deleted = await json(await official("DELETE", `/v2/users/${USER}/keys/${doomed}`, userAppId));
    expect(deleted.body.status.code).toBe(10000);
    expect(emu.state.keys.has(doomed)).toBe(false);
  });
});

describe("the official client's secret calls", () => {
  const create = () =>
    official("POST", `/v2/users/${USER}/secrets`, {
      ...userAppId,
      secrets: [{
        id: "OPENAI_KEY_2025",
        value: "your_super_secret_api_key_here",
        description: "My OpenAI key for experiments",
      }],
    }).then(json);

  it("PostSecrets answers version 1 and the epoch expiry, as the published example", async () => {
    const made = await create();
    expect(made.body.secrets[0]).toMatchObject({
      id: "OPENAI_KEY_2025",
      user_id: USER,
      value: "your_super_secret_api_key_here",
      version: 1,
      description: "My OpenAI key for experiments",
      expires_at: "1970-01-01T00:00:00Z",
    });
    expect(made.body.secrets[0].modified_at).toBe(made.body.secrets[0].created_at);
  });

  it("PatchSecrets overwrite answers the new value and description with version and modified_at unchanged", async () => {
    const made = (await create()).body.secrets[0];
    const patched = await json(
      await official("PATCH", `/v2/users/${USER}/secrets`, {
        ...userAppId,
        secret: [{ id: "OPENAI_KEY_2025", value: "new_secret_value", description: "Updated Secret Description" }],
        action: "overwrite",
      }),
    );
    expect(patched.body.status).toMatchObject({ code: 10000, description: "Ok" });
    expect(patched.body.secrets).toEqual([
      {
        id: "OPENAI_KEY_2025",
        user_id: USER,
        value: "new_secret_value",
        version: 1,
        description: "Updated Secret Description",
        created_at: made.created_at,
        modified_at: made.created_at,
        expires_at: "1970-01-01T00:00:00Z",
      },
    ]);
    const read = await json(await official("GET", `/v2/users/${USER}/secrets/OPENAI_KEY_2025`, userAppId));
    expect(read.body.secret).toMatchObject({ value: "new_secret_value", version: 1 });
  });

  it("GetSecret answers `secret`, and its errors carry no `secrets` field", async () => {
    await create();
    const ok = await json(await official("GET", `/v2/users/${USER}/secrets/OPENAI_KEY_2025`, userAppId));
    expect(Object.keys(ok.body).sort()).toEqual(["secret", "status"]);
    const missing = await json(await official("GET", `/v2/users/${USER}/secrets/NOPE`, userAppId));
    expect(missing.body.status.code).toBe(11101);
    expect(Object.keys(missing.body)).toEqual(["status"]);
    const unauthenticated = await json(
      await official("GET", `/v2/users/${USER}/secrets/OPENAI_KEY_2025`, userAppId, "0".repeat(32)),
    );
    expect(unauthenticated.body.status.code).toBe(11008);
    expect(Object.keys(unauthenticated.body)).toEqual(["status"]);
  });

  it("ListSecrets (page, per_page as str(int)) and DeleteSecrets (ids in a DELETE body); list errors keep `secrets: []`", async () => {
    await create();
    const listed = await json(
      await official("GET", `/v2/users/${USER}/secrets`, { ...userAppId, page: 1, per_page: 10 }),
    );
    expect(listed.body.secrets.map((s: any) => s.id)).toEqual(["OPENAI_KEY_2025"]);
    const refused = await json(await official("GET", `/v2/users/${USER}/secrets`, userAppId, "0".repeat(32)));
    expect(refused.body.secrets).toEqual([]);
    const deleted = await json(
      await official("DELETE", `/v2/users/${USER}/secrets`, { ...userAppId, ids: ["OPENAI_KEY_2025"] }),
    );
    expect(deleted.body.status.code).toBe(10000);
    expect((await json(await official("GET", `/v2/users/${USER}/secrets`, userAppId))).body.secrets).toEqual([]);
  });
});
