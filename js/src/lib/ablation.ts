// Pure helpers of the AblationPlot view: decoding its payload, its value range and the text a
// hovered point shows. See docs/relevance_bars_contract.md.
import { decode, type PackedArray } from "./binary";
import { formatValue } from "./svg";

export interface AblationPayload {
  modes: string[];
  labels: string[];
  ks: PackedArray;
  top: PackedArray;
  random_mean: PackedArray;
  random_low: PackedArray;
  random_high: PackedArray;
  n_draws: number[];
  band: "std" | "minmax";
  baseline: number | null;
}

export interface AblationCurve {
  mode: string;
  label: string;
  top: Float32Array;
  mean: Float32Array;
  low: Float32Array;
  high: Float32Array;
  nDraws: number;
}

export interface DecodedAblation {
  ks: Float32Array;
  curves: AblationCurve[];
  band: "std" | "minmax";
  baseline: number | null;
}

/** A fixed categorical palette (Tableau 10), one colour per mode. */
export const MODE_COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

export function modeColor(index: number): string {
  return MODE_COLORS[((index % MODE_COLORS.length) + MODE_COLORS.length) % MODE_COLORS.length]!;
}

function matrix(packed: unknown, name: string, rows: number, cols: number): Float32Array {
  const { shape, array } = decode(packed, "float32");
  if (shape.length !== 2 || shape[0] !== rows || shape[1] !== cols) {
    throw new RangeError(`${name} must have shape [${rows}, ${cols}], got [${shape.join(", ")}]`);
  }
  return array;
}

/** Decode and check `_plot`; throws saying what is wrong. */
export function decodeAblation(raw: unknown): DecodedAblation | null {
  if (raw === null || raw === undefined) return null;
  const p = raw as Partial<AblationPayload>;
  if (!Array.isArray(p.modes) || p.modes.length === 0) throw new TypeError("modes must be a non-empty list");
  const ks = decode(p.ks, "float32").array;
  if (ks.length === 0) throw new RangeError("ks is empty");
  const n = p.modes.length;
  const nk = ks.length;
  const top = matrix(p.top, "top", n, nk);
  const mean = matrix(p.random_mean, "random_mean", n, nk);
  const low = matrix(p.random_low, "random_low", n, nk);
  const high = matrix(p.random_high, "random_high", n, nk);
  const labels = Array.isArray(p.labels) ? p.labels.map(String) : [];
  const draws = Array.isArray(p.n_draws) ? p.n_draws.map(Number) : [];
  const row = (a: Float32Array, i: number) => a.subarray(i * nk, (i + 1) * nk);
  const curves = p.modes.map((mode, i) => ({
    mode: String(mode),
    label: labels[i] ?? String(mode),
    top: row(top, i),
    mean: row(mean, i),
    low: row(low, i),
    high: row(high, i),
    nDraws: draws[i] ?? 0,
  }));
  const baseline = typeof p.baseline === "number" && Number.isFinite(p.baseline) ? p.baseline : null;
  return { ks, curves, band: p.band === "minmax" ? "minmax" : "std", baseline };
}

/** The metric axis: every top value, band edge and the baseline. */
export function metricDomain(plot: DecodedAblation): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  const see = (v: number) => {
    if (!Number.isFinite(v)) return;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  };
  for (const c of plot.curves) for (const a of [c.top, c.low, c.high, c.mean]) a.forEach(see);
  if (plot.baseline !== null) see(plot.baseline);
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi === lo) return [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

/** What the legend says the band is. */
export function bandText(band: "std" | "minmax", nDraws: number): string {
  const draws = `${nDraws} draw${nDraws === 1 ? "" : "s"}`;
  return band === "std" ? `mean ± 1 std over ${draws}` : `mean, band min–max over ${draws}`;
}

/** What hovering a point of the top-k line shows. */
export function topPointText(label: string, k: number, value: number): string {
  return `${label}: top ${formatValue(k)} cells ablated → ${formatValue(value)}`;
}

/** What hovering a point of the random line shows. */
export function randomPointText(label: string, k: number, mean: number, low: number, high: number): string {
  return `${label}: ${formatValue(k)} random cells ablated → mean ${formatValue(mean)} (band ${formatValue(low)} to ${formatValue(high)})`;
}
