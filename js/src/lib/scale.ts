export interface LinearScale {
  (value: number): number;
  invert(pixel: number): number;
  readonly domain: readonly [number, number];
  readonly range: readonly [number, number];
  ticks(count?: number): number[];
}

/**
 * A linear map from `domain` to `range`. With `clamp`, both directions stay inside their
 * interval. A degenerate domain (d0 == d1) maps everything to the middle of the range.
 */
export function linearScale(
  domain: readonly [number, number],
  range: readonly [number, number],
  { clamp = false }: { clamp?: boolean } = {},
): LinearScale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  const fit = (v: number, a: number, b: number) => (clamp ? Math.min(Math.max(v, Math.min(a, b)), Math.max(a, b)) : v);
  const scale = ((value: number) => (span === 0 ? (r0 + r1) / 2 : fit(r0 + ((value - d0) / span) * (r1 - r0), r0, r1))) as LinearScale;
  scale.invert = (pixel: number) => (r1 === r0 ? d0 : fit(d0 + ((pixel - r0) / (r1 - r0)) * span, d0, d1));
  Object.defineProperty(scale, "domain", { value: [d0, d1] as const });
  Object.defineProperty(scale, "range", { value: [r0, r1] as const });
  scale.ticks = (count = 5) => niceTicks(d0, d1, count);
  return scale;
}

/** The "nice" step (1, 2 or 5 times a power of ten) for about `count` ticks over [lo, hi]. */
export function tickStep(lo: number, hi: number, count: number): number {
  const raw = Math.abs(hi - lo) / Math.max(1, count);
  if (!Number.isFinite(raw) || raw === 0) return 0;
  const power = 10 ** Math.floor(Math.log10(raw));
  const ratio = raw / power;
  // Thresholds at the geometric means (sqrt 50, sqrt 10, sqrt 2), as d3 does.
  return power * (ratio >= 7.07 ? 10 : ratio >= 3.16 ? 5 : ratio >= 1.41 ? 2 : 1);
}

/** Round tick values inside [lo, hi] (either order), ascending. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  const [a, b] = lo <= hi ? [lo, hi] : [hi, lo];
  const step = tickStep(a, b, count);
  if (step === 0) return Number.isFinite(a) ? [a] : [];
  const first = Math.ceil(a / step - 1e-9);
  const last = Math.floor(b / step + 1e-9);
  // Multiply and round rather than accumulate, so 0.1 * 3 gives 0.3, not 0.30000000000000004.
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toFixed(digits)));
  return ticks;
}

/** Round `value` to about 4 significant digits of `span` (a dragged threshold reads 0.412, not 0.41187...). */
export function roundTo(value: number, span: number): number {
  if (!Number.isFinite(span) || span <= 0) return value;
  const digits = Math.max(0, 3 - Math.floor(Math.log10(span)));
  return Number(value.toFixed(Math.min(digits, 12)));
}

/** A tick label with no more decimals than the step needs. */
export function formatTick(value: number, step: number): string {
  const digits = step > 0 ? Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) : 2;
  return value.toFixed(Math.min(digits, 10));
}
