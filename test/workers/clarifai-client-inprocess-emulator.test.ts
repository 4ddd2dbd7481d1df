// The Clarifai client contract against an emulator created inside this workerd isolate: the client's
// fetch is the emulator's in-process fetch, so no socket is involved.
import { createEmulator } from "../../emulator/src/index.ts";
import { clarifaiContractSuite } from "../support/clarifai-contract.ts";

clarifaiContractSuite("emulator in-process", async () => {
  const emulator = createEmulator();
  const baseUrl = "http://clarifai.emulator.test";
  return {
    baseUrl,
    fetch: emulator.fetch,
    async control(path: string, body?: unknown) {
      const res = await emulator.fetch(`${baseUrl}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`Emulator control ${path} answered ${res.status}: ${await res.text()}`);
      return res.json();
    },
  };
});
