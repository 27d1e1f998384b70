/**
 * Shortest decimal text for a float32 value that parses back (through `Math.fround`) to the
 * same float32 — e.g. `0.1` rather than the float64 expansion `0.10000000149011612`.
 * At most 9 significant digits are ever needed.
 */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const f = Math.fround(v);
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  for (let p = 1; p <= 9; p++) {
    const s = f.toPrecision(p);
    if (Math.fround(Number(s)) === f) return String(Number(s));
  }
  return String(f);
}
