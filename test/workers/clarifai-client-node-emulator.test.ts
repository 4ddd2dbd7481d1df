// The Clarifai client contract over real HTTP, against the emulator that global setup hosts in Node.
import { inject } from "vitest";
import { clarifaiContractSuite } from "../support/clarifai-contract.ts";

clarifaiContractSuite("emulator over HTTP", async () => {
  const baseUrl = inject("emulatorUrl").replace(/\/+$/, "");
  const call = (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init);
  return {
    baseUrl,
    fetch: call,
    async control(path: string, body?: unknown) {
      const res = await call(`${baseUrl}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`Emulator control ${path} answered ${res.status}: ${await res.text()}`);
      return res.json();
    },
  };
});

// global-setup.ts declares this too, but it is outside the workerd tsconfig.
declare module "vitest" {
  export interface ProvidedContext {
    emulatorUrl: string;
  }
}
