/**
 * The emulator's world: users, apps, keys and secrets, plus the call log, pending faults and the
 * calls a delay is holding.
 * Plain in-memory maps; one Emulator instance owns one State.
 */
import type { FaultSpec } from "./fault-routes.ts";

export interface AppRef {
  id: string;
  user_id: string;
}

export interface KeyRecord {
  id: string;
  user_id: string;
  type: "personal_access_token" | "app_specific_key";
  description: string;
  scopes: string[];
  endpoints: string[];
  apps: AppRef[];
  created_at: string;
  expires_at?: string;
  /** resources.proto `Key.authorized_idp_ids` and `organization_id` (PATs only): kept as given. */
  authorized_idp_ids?: string[];
  organization_id?: string;
}

export interface SecretRecord {
  id: string;
  user_id: string;
  value: string;
  version: number;
  description: string;
  created_at: string;
  modified_at: string;
  expires_at: string;
}

export interface CallRecord {
  method: string;
  path: string;
  status: number;
  code: number;
  time: string;
}

/** A pending fault (`FaultSpec`, see fault-routes.ts) or, on this emulator only, a redirect. */
export interface Fault extends FaultSpec {
  /** Answer a redirect (`status`, default 307) to this URL instead of serving: Clarifai never does. */
  location?: string;
}

/** A call a `delay_ms` fault is holding open right now (the host may lose its client meanwhile). */
export interface HeldCall {
  method: string;
  path: string;
  delay_ms: number;
  since: string;
}

export class State {
  users = new Map<string, { id: string; created_at: string }>();
  apps = new Map<string, { id: string; user_id: string; created_at: string }>();
  keys = new Map<string, KeyRecord>();
  secrets = new Map<string, SecretRecord>();
  calls: CallRecord[] = [];
  faults: Fault[] = [];
  /** In flight, so a reset leaves it: each entry goes when its call is served. */
  held: HeldCall[] = [];

  constructor(readonly now: () => Date) {}

  reset() {
    this.users.clear();
    this.apps.clear();
    this.keys.clear();
    this.secrets.clear();
    this.calls = [];
    this.faults = [];
  }

  /** RFC 3339 with microseconds and Z, as Clarifai writes timestamps. */
  timestamp(): string {
    return this.now().toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
  }

  addUser(id: string) {
    if (!this.users.has(id)) this.users.set(id, { id, created_at: this.timestamp() });
    return this.users.get(id)!;
  }

  addApp(userId: string, id: string) {
    this.addUser(userId);
    const k = `${userId}/${id}`;
    if (!this.apps.has(k)) this.apps.set(k, { id, user_id: userId, created_at: this.timestamp() });
    return this.apps.get(k)!;
  }

  hasApp(userId: string, appId: string) {
    return this.apps.has(`${userId}/${appId}`);
  }

  /** Key ids are the bearer tokens: 32 lowercase hex from a CSPRNG. */
  newKeyId(): string {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  secretKey(userId: string, id: string) {
    return `${userId}/${id}`;
  }
}
