/**
 * Who has read which value of a credential over the service binding (RekeyCredentials,
 * src/worker.ts): each consumer's last read, one record per (credential, consumer). A port: on
 * Workers the credential's Durable Object keeps them beside its record
 * (src/adapters/workers-consumer-reads.ts); Deno has no service bindings, so no pull path and no
 * reads.
 *
 * Runtime-neutral.
 */
import * as z from "zod/mini";
import { consumerNameSchema } from "../bus/fields.ts";
import { isoTimeSchema } from "../time.ts";

export const consumerReadSchema = z.object({
  consumer: consumerNameSchema,
  /** The value read, by fingerprint (a keyed MAC, never the value). */
  fingerprint: z.string(),
  read_at: isoTimeSchema,
});
export type ConsumerRead = z.infer<typeof consumerReadSchema>;

export interface ConsumerReads {
  /** One consumer's last read, with the version a `record` compares against; null before its first. */
  last(credentialId: string, consumer: string): Promise<{ read: ConsumerRead; version: number } | null>;
  /** Compare-and-swap: `expected` null means "no read recorded yet". False on conflict. */
  record(credentialId: string, read: ConsumerRead, expected: number | null): Promise<boolean>;
  /** Every consumer's last read of the credential. */
  list(credentialId: string): Promise<ConsumerRead[]>;
}
