/**
 * ConsumerReads on Workers: each consumer's last read is a cell (`reader:<consumer>`) in the
 * credential's Durable Object (./credential-cell.ts), beside its record, so recording a read is a
 * compare-and-swap that never touches the record's version (a consumer reading cannot make a
 * rotation's write conflict), and unmanaging the credential drops its reads with everything else.
 * Not mirrored to KV: only the credential's own page and API read them.
 */
import { type ConsumerRead, type ConsumerReads, consumerReadSchema } from "../core/credentials/reads.ts";
import type { CredentialCell } from "./credential-cell.ts";
import { durableIds } from "./durable-ids.ts";

const PREFIX = "reader:";

export class WorkersConsumerReads implements ConsumerReads {
  readonly #ids: (name: string) => DurableObjectId;

  constructor(private readonly cells: DurableObjectNamespace<CredentialCell>) {
    this.#ids = durableIds(cells);
  }

  #cell(credentialId: string) {
    return this.cells.get(this.#ids(credentialId));
  }

  async last(credentialId: string, consumer: string): Promise<{ read: ConsumerRead; version: number } | null> {
    const cell = await this.#cell(credentialId).read(`${PREFIX}${consumer}`);
    if (!cell) return null;
    const parsed = consumerReadSchema.safeParse(JSON.parse(cell.json));
    return parsed.success ? { read: parsed.data, version: cell.version } : null;
  }

  async record(credentialId: string, read: ConsumerRead, expected: number | null): Promise<boolean> {
    const version = await this.#cell(credentialId).write({
      key: `${PREFIX}${read.consumer}`,
      expected,
      json: JSON.stringify(read),
      mirror: {},
    });
    return version !== null;
  }

  async list(credentialId: string): Promise<ConsumerRead[]> {
    const cells = await this.#cell(credentialId).list(PREFIX);
    return cells.flatMap((json) => {
      const parsed = consumerReadSchema.safeParse(JSON.parse(json));
      return parsed.success ? [parsed.data] : [];
    });
  }
}
