/**
 * A rotation engine wired to real parts: the memory store (or any Store), the real Clarifai client,
 * and a Clarifai emulator created in-process (fresh per test, so its state and call log are the
 * test's own). Nothing is mocked; faults are injected through the emulator's own fault routes or by
 * a network proxy that loses responses after the emulator has processed them. Over the memory
 * store this is for in-memory unit tests of the engine's logic, which say so in their names; the
 * fault and crash matrices run on the real stores through test/support/matrix/.
 */
import { createEmulator } from "../../emulator/src/index.ts";
import { createClarifaiTestClient } from "./clarifai-test-client.ts";
import { importFingerprintKey } from "../../src/core/crypto/fingerprint.ts";
import { derivePurposeKey } from "../../src/core/crypto/purpose-key.ts";
import { parseKeyring } from "../../src/core/crypto/keyring.ts";
import type { EngineEvent, EngineServices } from "../../src/core/rotation/engine-services.ts";
import { MemoryStore } from "../../src/core/store/memory-store.ts";
import type { Store } from "../../src/core/store/store.ts";

export const TEST_KEYS =
  '{"1":"dGVzdC1rZXktdmVyc2lvbi1vbmUtMzItYnl0ZXMhISE=","2":"dGVzdC1rZXktdmVyc2lvbi10d28tMzItYnl0ZXMhISE="}';
export const TEST_FP_KEY = "dGVzdC1maW5nZXJwcmludC1rZXktMzItYnl0ZXMhISE=";

export interface CallHook {
  /** Called before each Clarifai call with its 0-based index; may inject a fault. */
  before?: (index: number, req: Request) => Promise<void> | void;
  /** True: the emulator processes the call but its response is lost (network drop after commit). */
  loseResponse?: (index: number, req: Request) => boolean;
}

export async function engineHarness(opts: { store?: Store; keys?: string } = {}) {
  let clock = Date.parse("2026-06-01T00:00:00Z");
  // The emulator shares the test's clock, so key creation times and rekey's ages agree.
  const emulator = createEmulator({ now: () => new Date(clock) });
  const seed = emulator.seed({ userId: "u1", appId: "app1" });
  const hook: CallHook = {};
  let calls = 0;
  const network: typeof fetch = async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    const index = calls++;
    await hook.before?.(index, req.clone());
    const res = await emulator.fetch(req.clone());
    if (hook.loseResponse?.(index, req)) throw new TypeError("Network connection lost");
    return res;
  };
  const keyring = parseKeyring(opts.keys ?? TEST_KEYS);
  const fpKey = await importFingerprintKey(TEST_FP_KEY);
  const confirmKey = await derivePurposeKey(TEST_FP_KEY, "chat_confirmation");
  if (!keyring.ok || !fpKey.ok || !confirmKey.ok) throw new Error("test keys are invalid");
  const events: EngineEvent[] = [];
  // The engine's client, with the calls only tests make (seeding secrets, reading keys back).
  const clarifai = createClarifaiTestClient({ baseUrl: "http://clarifai.emulator", fetch: network, timeoutMs: 2_000 });
  const engine: EngineServices = {
    store: opts.store ?? new MemoryStore(),
    clarifai,
    keyring: keyring.value,
    fingerprintKey: fpKey.value,
    confirmationKey: confirmKey.value,
    now: () => clock,
    sleep: async () => {},
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    leaseMs: 30_000,
    emit: async (e) => {
      events.push(e);
    },
  };
  const control = async (path: string, body?: unknown) => {
    const res = await emulator.fetch(`http://clarifai.emulator/_emulator/${path}`, {
      method: body === undefined ? "GET" : "POST",
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    return res.json() as Promise<any>;
  };
  const mintKey = async (
    type: "personal_access_token" | "app_specific_key",
    scopes: string[] = ["All"],
    description = "",
  ) =>
    (
      await control(`users/${seed.userId}/keys`, {
        type,
        scopes,
        apps: type === "app_specific_key" ? [{ id: seed.appId, user_id: seed.userId }] : [],
        description,
      })
    ).key as { id: string; scopes: string[]; apps?: { id: string }[] };
  return {
    emulator,
    seed,
    engine,
    clarifai,
    events,
    hook,
    control,
    mintKey,
    callCount: () => calls,
    advance: (ms: number) => {
      clock += ms;
    },
    state: () => control("state") as Promise<{ keys: any[]; secrets: any[]; calls: any[] }>,
  };
}

export type EngineHarness = Awaited<ReturnType<typeof engineHarness>>;
