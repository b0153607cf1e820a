// Colours for labels: a categorical palette (Tableau 10) and a diverging blue-grey-red scale.

export const CATEGORICAL = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"] as const;

/** The colour of category `code` (the palette repeats past 10). */
export function categoryColor(code: number): string {
  const n = CATEGORICAL.length;
  return CATEGORICAL[((Math.floor(code) % n) + n) % n]!;
}

/** Fixed-point classes in the order of their uint8 codes (docs/state_space_view_contract.md). */
export const STABILITY = ["stable", "marginal", "saddle", "unstable"] as const;
export const STABILITY_COLORS = ["#2e7d32", "#1565c0", "#ef6c00", "#c62828"] as const;

/** Numeric values are coloured in this many bins, so a cloud is drawn with few fillStyle changes. */
export const NUMERIC_BINS = 16;

/** The bin (0 .. NUMERIC_BINS - 1) of a value in [lo, hi] (clamped; the middle when lo == hi). */
export function binOf(value: number, lo: number, hi: number): number {
  if (!(hi > lo) || !Number.isFinite(value)) return NUMERIC_BINS >> 1;
  const t = (value - lo) / (hi - lo);
  return Math.min(NUMERIC_BINS - 1, Math.max(0, Math.floor(t * NUMERIC_BINS)));
}

/** The colour of a bin: blue (low) through grey to red (high). */
export function binColor(bin: number): string {
  const t = (bin + 0.5) / NUMERIC_BINS;
  const low = [33, 102, 172], mid = [170, 170, 170], high = [178, 24, 43];
  const [a, b, u] = t < 0.5 ? [low, mid, t * 2] : [mid, high, (t - 0.5) * 2];
  const c = a.map((v, i) => Math.round(v + (b[i]! - v) * u));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}
