/**
 * The GitHub emulator's state: accounts, repositories and their environments, App installations
 * and tokens, secret scanning alerts, Actions secrets and their public keys, pending faults and
 * the call log. Names are case-insensitive, as GitHub's are: keys are lower-cased, secret names
 * stored upper-cased (GitHub shows them so).
 */

export interface Account {
  id: number;
  login: string;
  type: "Organization" | "User";
}

export interface Repository {
  id: number;
  name: string;
  full_name: string;
  owner: Account;
  environments: Map<string, { name: string }>;
}

export interface Installation {
  id: number;
  account: Account;
  /** Lower-cased full names, or "all" of the account's repositories. */
  repositories: Set<string> | "all";
  permissions: Record<string, "read" | "write">;
  created_at: string;
}

export interface Token {
  /** An installation token is limited to its installation; a personal token (GITHUB_TOKEN) is not. */
  installation?: number;
  expires_at: number;
}

export interface Alert {
  number: number;
  repository: string; // lower-cased full name
  secret: string;
  secret_type: string;
  secret_type_display_name: string;
  state: "open" | "resolved";
  resolution: string | null;
  resolution_comment: string | null;
  resolved_at: string | null;
  publicly_leaked: boolean;
  created_at: string;
  updated_at: string;
}

export interface Secret {
  name: string;
  encrypted_value: string;
  key_id: string;
  created_at: string;
  updated_at: string;
  visibility?: "all" | "private" | "selected";
  selected_repository_ids?: number[];
}

export interface SealingKey {
  key_id: string;
  /** Raw X25519 keys. The private half is the emulator's own, for the control surface to open values. */
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export interface Fault {
  method: string;
  /** `*` matches one path segment. */
  path: string;
  count: number;
  status?: number;
  delay_ms?: number;
  /** Drop the connection before serving. */
  drop?: boolean;
  /** Serve (the effect commits), then drop the connection: the answer is lost. */
  drop_after?: boolean;
  /** Answer as if done (the usual success status) without changing anything: a lost write. */
  swallow?: boolean;
  /** Answer a redirect (`status`, default 301) to this URL instead of serving. */
  location?: string;
}

export interface CallRecord {
  method: string;
  path: string;
  status: number;
  time: string;
}

export class GithubState {
  accounts = new Map<string, Account>();
  repositories = new Map<string, Repository>();
  installations = new Map<number, Installation>();
  tokens = new Map<string, Token>();
  alerts = new Map<string, Alert[]>();
  /** Scope key (`repo:o/r`, `env:o/r:e`, `org:o`) → upper-cased name → secret. */
  secrets = new Map<string, Map<string, Secret>>();
  keys = new Map<string, SealingKey>();
  faults: Fault[] = [];
  calls: CallRecord[] = [];
  app: { id: string; key: CryptoKey } | undefined;
  #ids = 1000;

  constructor(readonly now: () => Date) {}

  nextId(): number {
    return ++this.#ids;
  }

  /** Whole seconds with Z, as GitHub writes timestamps. */
  timestamp(ms = this.now().getTime()): string {
    return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
  }

  account(login: string, type: Account["type"]): Account {
    const key = login.toLowerCase();
    let a = this.accounts.get(key);
    if (!a) this.accounts.set(key, a = { id: this.nextId(), login, type });
    return a;
  }

  reset() {
    for (
      const m of [
        this.accounts,
        this.repositories,
        this.installations,
        this.tokens,
        this.alerts,
        this.secrets,
        this.keys,
      ]
    ) {
      m.clear();
    }
    this.faults = [];
    this.calls = [];
  }
}

export const scopeKey = (t: { repo?: string; environment?: string; org?: string }) =>
  t.org !== undefined
    ? `org:${t.org.toLowerCase()}`
    : t.environment !== undefined
    ? `env:${t.repo!.toLowerCase()}:${t.environment.toLowerCase()}`
    : `repo:${t.repo!.toLowerCase()}`;
