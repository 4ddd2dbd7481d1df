/**
 * A small consumer Worker: `GET /?credential=<id>` calls Clarifai (`GET /v2/myscopes`) with the
 * credential's current key, read over the REKEY binding and cached until its refresh_after
 * (../rekey-client.ts `withKey`: if Clarifai refuses the cached key, it reads the current one
 * and tries once more). It answers which key it used, by fingerprint prefix only: never the value.
 */
import { currentKey, refusalCode, type RekeyBinding, withKey } from "../rekey-client.ts";

interface Env {
  REKEY: RekeyBinding;
  /** https://api.clarifai.com, or the local emulator under `npm run demo`. */
  CLARIFAI_API_BASE: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const credential = new URL(request.url).searchParams.get("credential") ?? "";
    try {
      let attempts = 0;
      const res = await withKey(env.REKEY, credential, (key) => {
        attempts++;
        return fetch(`${env.CLARIFAI_API_BASE}/v2/myscopes`, { headers: { authorization: `Key ${key}` } });
      });
      const used = await currentKey(env.REKEY, credential);
      return Response.json({ clarifai_status: res.status, attempts, fingerprint_prefix: used.fingerprint_prefix });
    } catch (error) {
      return Response.json({ refused: refusalCode(error) ?? "unavailable" }, { status: 503 });
    }
  },
};
