/**
 * The Cloudflare emulator's world: API tokens (which accounts each may touch, and how), Workers
 * (scripts) by account, their secrets, the call log and pending faults. Plain in-memory maps.
 */
import type { FaultSpec } from "../fault-routes.ts";

export interface TokenGrant {
  /** Account ids the token may act on. */
  accounts: Set<string>;
  /** "edit": Workers Scripts Edit (read and write); "read": Workers Scripts Read. */
  permission: "edit" | "read";
}

export interface WorkerSecret {
  name: string;
  type: "secret_text";
  text: string;
  /** How many times it was written (a new Worker version each time, as Cloudflare makes one). */
  version: number;
  modified_at: string;
}

export interface CloudflareCall {
  method: string;
  path: string;
  status: number;
  /** Cloudflare's first error code, 0 on success. */
  code: number;
  time: string;
}

export class CloudflareState {
  tokens = new Map<string, TokenGrant>();
  /** `<account_id>/<script>` → its secrets by name. */
  scripts = new Map<string, Map<string, WorkerSecret>>();
  calls: CloudflareCall[] = [];
  faults: FaultSpec[] = [];

  constructor(readonly now: () => Date) {}

  timestamp(): string {
    return this.now().toISOString();
  }

  reset(): void {
    this.tokens.clear();
    this.scripts.clear();
    this.calls = [];
    this.faults = [];
  }

  grant(token: string, accounts: string[], permission: TokenGrant["permission"]): void {
    const grant = this.tokens.get(token);
    if (grant && grant.permission === permission) { for (const a of accounts) grant.accounts.add(a); }
    else this.tokens.set(token, { accounts: new Set([...(grant?.accounts ?? []), ...accounts]), permission });
  }

  addScript(accountId: string, script: string): void {
    const k = `${accountId}/${script}`;
    if (!this.scripts.has(k)) this.scripts.set(k, new Map());
  }
}
