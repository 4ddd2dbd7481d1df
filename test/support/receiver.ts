/** Reads back what the local receiver (test/setup/receiver.ts) got. */
import { inject } from "vitest";

export const receiverUrl = () => inject("receiverUrl");

export async function received(prefix: string): Promise<Array<{ method: string; path: string; headers: Record<string, string>; body: string }>> {
  const res = await fetch(`${receiverUrl()}/_received?prefix=${encodeURIComponent(prefix)}`);
  return ((await res.json()) as { requests: never[] }).requests;
}
