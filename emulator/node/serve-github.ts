/**
 * Node host for the GitHub emulator (emulator/github/). libsodium (`libsodium-wrappers`, the
 * reference implementation GitHub's docs use) opens the sealed boxes it receives, so what rekey
 * seals is checked by an implementation other than its own. A "drop" fault destroys the socket.
 */
import sodium from "libsodium-wrappers";
import { createGithubEmulator, type GithubEmulator, type GithubEmulatorOptions } from "../github/index.ts";
import { listen } from "./listen.ts";

export interface GithubEmulatorServer {
  url: string;
  port: number;
  emulator: GithubEmulator;
  close(): Promise<void>;
}

/** libsodium's crypto_box_seal_open, once libsodium is ready. */
export async function libsodiumOpener(): Promise<NonNullable<GithubEmulatorOptions["openSealedBox"]>> {
  await sodium.ready;
  return (sealed, publicKey, privateKey) => {
    try {
      return sodium.crypto_box_seal_open(sealed, publicKey, privateKey);
    } catch {
      return null;
    }
  };
}

export async function startGithubEmulatorServer(opts: {
  port?: number;
  host?: string;
  webhook?: { url?: string; secret?: string };
  /** The GitHub App rekey authenticates as: its id and public key (SPKI PEM). */
  app?: { id: string; publicKeyPem: string };
} = {}): Promise<GithubEmulatorServer> {
  const emulator = createGithubEmulator({
    openSealedBox: await libsodiumOpener(),
    ...(opts.webhook ? { webhook: opts.webhook } : {}),
  });
  if (opts.app) {
    const res = await emulator.fetch("http://github.emulator/_emulator/app", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: opts.app.id, public_key: opts.app.publicKeyPem }),
    });
    if (!res.ok) throw new Error(`the GitHub emulator refused the App key (${res.status})`);
  }
  const { url, port, close } = await listen(
    opts.host ?? "127.0.0.1",
    opts.port ?? 0,
    (req, env) => emulator.app.fetch(req, env),
  );
  return { url, port, emulator, close };
}
