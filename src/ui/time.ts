/** Coarse relative times for the dashboard. */
const UNITS: [number, string][] = [
  [86_400_000, "d"],
  [3_600_000, "h"],
  [60_000, "min"],
];

/** `3d 4h`, `25 min`, `< 1 min`: coarse on purpose. */
export function duration(ms: number): string {
  const abs = Math.abs(ms);
  const parts: string[] = [];
  let rest = abs;
  for (const [size, unit] of UNITS) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${unit === "min" ? " min" : unit}`);
      rest %= size;
    }
  }
  return parts.length ? parts.join(" ") : "< 1 min";
}

/** `in 3d 4h` or `5 min ago`. */
export function relative(iso: string, now: number): string {
  const delta = Date.parse(iso) - now;
  return delta >= 0 ? `in ${duration(delta)}` : `${duration(delta)} ago`;
}
