/**
 * Contract test: Cloudflare's own `cloudflare` npm client (generated from Cloudflare's OpenAPI
 * description) drives the emulator, in process, for every endpoint the Worker secret sink uses.
 * What the client sends is what Cloudflare receives; what it accepts (and how it reports errors:
 * `APIError` subclasses with the status and the envelope's `errors`) is what Cloudflare answers.
 */
import Cloudflare from "cloudflare";
import { beforeEach, describe, expect, it } from "vitest";
import { type CloudflareEmulator, createCloudflareEmulator } from "./index.ts";

const ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353";
const SCRIPT = "this-is_my_script-01";
const TOKEN = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
let emu: CloudflareEmulator;

const client = (apiToken = TOKEN) =>
  new Cloudflare({
    apiToken,
    baseURL: "http://cloudflare.emulator/client/v4",
    fetch: (input, init) => emu.fetch(input as RequestInfo, init),
    maxRetries: 0,
  });

beforeEach(() => {
  emu = createCloudflareEmulator();
  emu.seed({ token: TOKEN, accountId: ACCOUNT, script: SCRIPT });
});

describe("the cloudflare client against the emulator", () => {
  it("puts a secret, reads it back by name and in the list, never with its text, and deletes it", async () => {
    const cf = client();
    const put = await cf.workers.scripts.secrets.update(SCRIPT, {
      account_id: ACCOUNT,
      name: "CLARIFAI_PAT",
      text: "the-secret-value",
      type: "secret_text",
    });
    expect(put).toEqual({ name: "CLARIFAI_PAT", type: "secret_text" });
    const got = await cf.workers.scripts.secrets.get("CLARIFAI_PAT", { account_id: ACCOUNT, script_name: SCRIPT });
    expect(got).toEqual({ name: "CLARIFAI_PAT", type: "secret_text" });
    const listed = [];
    for await (const s of cf.workers.scripts.secrets.list(SCRIPT, { account_id: ACCOUNT })) listed.push(s);
    expect(listed).toEqual([{ name: "CLARIFAI_PAT", type: "secret_text" }]);
    // Only the control surface shows the text (to tests); the API never does.
    expect(JSON.stringify([put, got, listed])).not.toContain("the-secret-value");
    const secrets = emu.state.scripts.get(`${ACCOUNT}/${SCRIPT}`)!;
    expect(secrets.get("CLARIFAI_PAT")).toMatchObject({ text: "the-secret-value", version: 1 });

    await cf.workers.scripts.secrets.update(SCRIPT, {
      account_id: ACCOUNT,
      name: "CLARIFAI_PAT",
      text: "the-next-value",
      type: "secret_text",
    });
    expect(secrets.get("CLARIFAI_PAT")).toMatchObject({ text: "the-next-value", version: 2 });

    const deleted = await cf.workers.scripts.secrets.delete("CLARIFAI_PAT", {
      account_id: ACCOUNT,
      script_name: SCRIPT,
    });
    expect(deleted).toBeNull();
    expect(secrets.has("CLARIFAI_PAT")).toBe(false);
  });

  it("answers every call in Cloudflare's envelope", async () => {
    const res = await emu.fetch(`http://e/client/v4/accounts/${ACCOUNT}/workers/scripts/${SCRIPT}/secrets`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(await res.json()).toEqual({ success: true, errors: [], messages: [], result: [] });
    const missing = await emu.fetch(`http://e/client/v4/accounts/${ACCOUNT}/workers/scripts/nope/secrets`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      success: false,
      errors: [{ code: 10007, message: "workers.api.error.script_not_found" }],
      messages: [],
      result: null,
    });
  });

  it.each([
    [
      "an unknown Worker",
      () => client().workers.scripts.secrets.get("X", { account_id: ACCOUNT, script_name: "nope" }),
      404,
      Cloudflare.NotFoundError,
      10007,
    ],
    [
      "an unknown secret",
      () => client().workers.scripts.secrets.get("NOPE", { account_id: ACCOUNT, script_name: SCRIPT }),
      404,
      Cloudflare.NotFoundError,
      10056,
    ],
    [
      "an unknown token",
      () => client("not-a-real-token-000").workers.scripts.secrets.list(SCRIPT, { account_id: ACCOUNT }),
      403,
      Cloudflare.PermissionDeniedError,
      10000,
    ],
    [
      "another account",
      () => client().workers.scripts.secrets.list(SCRIPT, { account_id: "f".repeat(32) }),
      403,
      Cloudflare.PermissionDeniedError,
      10000,
    ],
    [
      "a bad type",
      () =>
        client().workers.scripts.secrets.update(SCRIPT, {
          account_id: ACCOUNT,
          name: "X",
          text: "t",
          type: "secret_key" as never,
        }),
      400,
      Cloudflare.BadRequestError,
      10021,
    ],
  ])("reports %s as the client expects Cloudflare to", async (_name, run, status, kind, code) => {
    // Awaiting a list's PagePromise makes its first call, as awaiting the others does.
    const error = await Promise.resolve().then(run as () => Promise<unknown>).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(kind);
    expect((error as InstanceType<typeof Cloudflare.APIError>).status).toBe(status);
    expect((error as InstanceType<typeof Cloudflare.APIError>).errors).toEqual([expect.objectContaining({ code })]);
  });

  it("refuses writes to a read-only token, and a missing Authorization header with 400", async () => {
    emu.state.grant("read-only-token-0001", [ACCOUNT], "read");
    const ro = client("read-only-token-0001");
    await expect(
      ro.workers.scripts.secrets.update(SCRIPT, { account_id: ACCOUNT, name: "X", text: "t", type: "secret_text" }),
    ).rejects.toBeInstanceOf(Cloudflare.PermissionDeniedError);
    const none = await emu.fetch(`http://e/client/v4/accounts/${ACCOUNT}/workers/scripts/${SCRIPT}/secrets`);
    expect(none.status).toBe(400);
    expect((await none.json() as any).errors[0]).toMatchObject({ code: 6003, error_chain: [{ code: 6111 }] });
  });
});
