/** Reads back what the local receiver (test/setup/receiver.ts) got. */
import { inject } from "vitest";

export const receiverUrl = () => inject("receiverUrl");

export async function received(
  prefix: string,
): Promise<Array<{ method: string; path: string; headers: Record<string, string>; body: string }>> {
  const res = await fetch(`${receiverUrl()}/_received?prefix=${encodeURIComponent(prefix)}`);
  return ((await res.json()) as { requests: never[] }).requests;
}

/** Makes the receiver answer GET `path` with `body` (and forced statuses still apply first). */
export async function serve(path: string, body: unknown): Promise<void> {
  await fetch(`${receiverUrl()}/_serve`, { method: "POST", body: JSON.stringify({ path, body }) });
}

/** The next `count` requests to `path` answer `status`. */
export async function failNext(path: string, status: number, count = 1): Promise<void> {
  await fetch(`${receiverUrl()}/_status`, { method: "POST", body: JSON.stringify({ path, status, count }) });
}
