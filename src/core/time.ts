/**
 * Time as rekey stores and sends it: ISO 8601 in UTC with milliseconds (`Date#toISOString`), read
 * back with an explicit offset required. One home, so records, events and API answers agree.
 *
 * Runtime-neutral.
 */
import * as z from "zod/mini";

/** Milliseconds since the epoch as the ISO 8601 string every record, event and answer carries. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** An ISO 8601 date-time with its offset, as `iso` writes it (and as Clarifai answers). */
export const isoTimeSchema = z.iso.datetime({ offset: true });
