// Hit testing of points drawn at pixel positions (row-major (n, 2)).

/** The index of the point nearest to (x, y) within `tolerance` pixels, or -1. Ties: the first. */
export function nearestPoint(pixels: ArrayLike<number>, x: number, y: number, tolerance: number): number {
  let best = -1;
  let bestD = tolerance * tolerance;
  for (let i = 0, n = Math.floor(pixels.length / 2); i < n; i++) {
    const dx = pixels[i * 2]! - x, dy = pixels[i * 2 + 1]! - y;
    const d = dx * dx + dy * dy;
    if (d < bestD || (best < 0 && d === bestD && d <= tolerance * tolerance)) {
      best = i;
      bestD = d;
    }
  }
  return best;
}

/** The index of each step among `steps` (a step listed twice keeps its first index). */
export function indexOfSteps(steps: ArrayLike<number>): Map<number, number> {
  const map = new Map<number, number>();
  for (let i = 0; i < steps.length; i++) if (!map.has(steps[i]!)) map.set(steps[i]!, i);
  return map;
}

/** The radius in pixels of a fixed point: 3 px at the largest log10 q shown, 7 px at the smallest. */
export function radiusForLogQ(logQ: number, lo: number, hi: number): number {
  if (!(hi > lo) || !Number.isFinite(logQ)) return 5;
  const t = Math.min(1, Math.max(0, (hi - logQ) / (hi - lo)));
  return 3 + 4 * t;
}
