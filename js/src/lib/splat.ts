// Points drawn straight into an RGBA pixel buffer: for tens of thousands of points this is many
// times faster than one fillRect per point on a software canvas. Each point is a square of
// `size` CSS pixels, composited over what is there with the "source-over" rule.

export interface PixelBuffer {
  data: Uint8ClampedArray;
  width: number; // device pixels
  height: number;
}

/** "#rrggbb" or "rgb(r, g, b)" as [r, g, b]; black for anything else. */
export function parseColor(color: string): [number, number, number] {
  const hex = /^#([0-9a-f]{6})$/i.exec(color.trim());
  if (hex) {
    const n = parseInt(hex[1]!, 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  const rgb = /^rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)/i.exec(color.trim());
  return rgb ? [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])] : [0, 0, 0];
}

/**
 * Composite squares of colour `rgb` at opacity `alpha` over the buffer, one per point listed in
 * `order[from:to]`, centred on `pixels[2i], pixels[2i + 1]` (CSS pixels, scaled by `dpr`).
 */
export function splat(
  target: PixelBuffer,
  pixels: ArrayLike<number>,
  order: ArrayLike<number>,
  from: number,
  to: number,
  rgb: readonly [number, number, number],
  alpha: number,
  size: number,
  dpr = 1,
): void {
  const { data, width, height } = target;
  const side = Math.max(1, Math.round(size * dpr));
  const [r, g, b] = rgb;
  for (let k = from; k < to; k++) {
    const i = order[k]!;
    const x0 = Math.round(pixels[i * 2]! * dpr - side / 2);
    const y0 = Math.round(pixels[i * 2 + 1]! * dpr - side / 2);
    for (let y = Math.max(0, y0); y < Math.min(height, y0 + side); y++) {
      for (let x = Math.max(0, x0); x < Math.min(width, x0 + side); x++) {
        const p = (y * width + x) * 4;
        const below = data[p + 3]! / 255;
        const out = alpha + below * (1 - alpha);
        const keep = (below * (1 - alpha)) / out;
        const add = alpha / out;
        data[p] = r * add + data[p]! * keep;
        data[p + 1] = g * add + data[p + 1]! * keep;
        data[p + 2] = b * add + data[p + 2]! * keep;
        data[p + 3] = out * 255;
      }
    }
  }
}
