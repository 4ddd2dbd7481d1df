/**
 * Walking Clarifai's page/per_page lists. Clarifai gives no total and no next-page token (reference §1,
 * "Pagination"), so a walk stops at the first page shorter than `per_page`.
 *
 * Trade-off: offset pagination over a list that changes while it is walked can skip an item (one was
 * deleted from an earlier page) or return one twice (one was added). Duplicates are dropped by id;
 * a caller that must not miss anything (a sweep for orphaned keys) should walk again later.
 *
 * Runtime-neutral.
 *
 * @module
 */
import { err, ok, type Result } from "../result.ts";
import { type ClarifaiFailure, clarifaiFailure } from "./errors.ts";

/** Clarifai's largest page (reference §1). */
export const MAX_PER_PAGE = 1000;
/** Page size for walks: Clarifai's own default. */
const DEFAULT_PER_PAGE = 128;
/** Upper bound on pages per walk, so a server that ignores `page` cannot loop a walk forever. */
const DEFAULT_MAX_PAGES = 1000;

export interface WalkOptions {
  perPage?: number | undefined;
  maxPages?: number | undefined;
}

/**
 * Calls `fetchPage(page, perPage)` from page 1 until a short page, and returns every item once; the
 * first failed page, or `unexpected` if the walk does not end, is the error.
 */
export async function collectPages<T extends { id: string }>(
  operation: string,
  options: WalkOptions,
  fetchPage: (page: number, perPage: number) => Promise<Result<T[], ClarifaiFailure>>,
): Promise<Result<T[], ClarifaiFailure>> {
  const perPage = Math.min(Math.max(1, Math.trunc(options.perPage ?? DEFAULT_PER_PAGE)), MAX_PER_PAGE);
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  const items = new Map<string, T>();
  let previousFirst: string | undefined;
  for (let page = 1; page <= maxPages; page++) {
    const result = await fetchPage(page, perPage);
    if (!result.ok) return result;
    const batch = result.value;
    // A server that ignores `page` returns page 1 again; stop instead of looping to maxPages.
    if (page > 1 && batch.length > 0 && batch[0]!.id === previousFirst) {
      return err(clarifaiFailure({ kind: "unexpected", operation, reason: "pagination did not advance" }));
    }
    previousFirst = batch[0]?.id;
    for (const item of batch) if (!items.has(item.id)) items.set(item.id, item);
    if (batch.length < perPage) return ok([...items.values()]);
  }
  return err(clarifaiFailure({ kind: "unexpected", operation, reason: `more than ${maxPages} pages` }));
}
