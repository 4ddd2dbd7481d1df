/**
 * The processed-events ledger (core/bus/ledger.ts) on Deno KV. `claim` reads the entry and writes
 * its claim in one atomic operation checked against the versionstamp it read, so of concurrent
 * claimants exactly one commits and answers "new"; the others read again and see the claim.
 * Entries also carry `expireIn`, so Deno KV forgets them without a sweep; the `until` field
 * still decides, since expiry deletes "some time after" the deadline, not at it.
 */
import { type ClaimOptions, type ClaimState, LEDGER_TTL_MS, type ProcessedLedger } from "../core/bus/ledger.ts";

interface Entry {
  state: "in_progress" | "done";
  owner: string;
  /** in_progress: lease end; done: when it may be forgotten. */
  until: number;
}

const ledgerKey = (key: string): Deno.KvKey => ["ledger", key];
/** Far more than enough: each lost race means another claimant committed. */
const MAX_RACES = 50;

export class DenoKvLedger implements ProcessedLedger {
  constructor(
    private readonly kv: Deno.Kv,
    private readonly now: () => number = () => Date.now(),
  ) {}

  async claim(key: string, { owner, leaseMs }: ClaimOptions): Promise<ClaimState> {
    for (let race = 0; race < MAX_RACES; race++) {
      const now = this.now();
      const current = await this.kv.get<Entry>(ledgerKey(key));
      if (current.value && current.value.until > now) return current.value.state;
      const entry: Entry = { state: "in_progress", owner, until: now + leaseMs };
      const res = await this.kv
        .atomic()
        .check(current)
        .set(ledgerKey(key), entry, { expireIn: leaseMs })
        .commit();
      if (res.ok) return "new";
    }
    throw new Error(`Cannot claim "${key}": too many concurrent claimants`);
  }

  async complete(key: string, owner: string): Promise<void> {
    // Done whoever holds the claim now: the work did succeed.
    const entry: Entry = { state: "done", owner, until: this.now() + LEDGER_TTL_MS };
    await this.kv.set(ledgerKey(key), entry, { expireIn: LEDGER_TTL_MS });
  }

  async once(key: string, holdMs: number): Promise<boolean> {
    const entry: Entry = { state: "done", owner: "once", until: this.now() + holdMs };
    for (let race = 0; race < MAX_RACES; race++) {
      const current = await this.kv.get<Entry>(ledgerKey(key));
      if (current.value && current.value.until > this.now()) return false;
      const res = await this.kv.atomic().check(current).set(ledgerKey(key), entry, { expireIn: holdMs }).commit();
      if (res.ok) return true;
    }
    throw new Error(`Cannot record "${key}": too many concurrent claimants`);
  }

  async release(key: string, owner: string): Promise<void> {
    const current = await this.kv.get<Entry>(ledgerKey(key));
    if (current.value?.owner !== owner) return;
    // Checked: a claim taken over in between is someone else's, and stays.
    await this.kv.atomic().check(current).delete(ledgerKey(key)).commit();
  }
}
