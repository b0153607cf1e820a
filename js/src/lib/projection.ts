// Projection of PCA coordinates (2-D or 3-D) to screen pixels. 3-D points are rotated by a yaw
// (about the vertical axis) and a pitch (about the horizontal axis) and projected orthographically:
// the screen shows the rotated x and y, depth is dropped. Pure functions, no DOM.

/** Rows of the 2 x 3 matrix taking a 3-D point to the rotated screen plane (x right, y up). */
export function rotation(yaw: number, pitch: number): [number, number, number, number, number, number] {
  const cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
  // x' = R_pitch(R_yaw p): yaw mixes x and z, pitch then mixes y and the rotated z
  return [cy, 0, sy, sy * sp, cp, -cy * sp];
}

/**
 * Plane coordinates (n, 2) of points stored row-major with `dims` columns: the first two
 * columns for dims 2, the rotated screen plane for dims 3.
 */
export function toPlane(xy: ArrayLike<number>, dims: number, yaw = 0, pitch = 0): Float32Array {
  const n = Math.floor(xy.length / dims);
  const out = new Float32Array(n * 2);
  if (dims === 2) {
    for (let i = 0; i < n * 2; i++) out[i] = xy[i] ?? 0;
    return out;
  }
  const [a, b, c, d, e, f] = rotation(yaw, pitch);
  for (let i = 0; i < n; i++) {
    const x = xy[i * 3] ?? 0, y = xy[i * 3 + 1] ?? 0, z = xy[i * 3 + 2] ?? 0;
    out[i * 2] = a * x + b * y + c * z;
    out[i * 2 + 1] = d * x + e * y + f * z;
  }
  return out;
}

export interface Bounds {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** The bounding box of plane points (several arrays), or a unit box around 0 when empty. */
export function bounds(...planes: ArrayLike<number>[]): Bounds {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const plane of planes) {
    for (let i = 0; i + 1 < plane.length; i += 2) {
      const x = plane[i]!, y = plane[i + 1]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  if (x0 > x1) return { x0: -1, x1: 1, y0: -1, y1: 1 };
  return { x0, x1, y0, y1 };
}

/** A plane -> pixel map with one scale for both axes (no distortion), centred, y up. */
export interface Fit {
  scale: number;
  cx: number;
  cy: number;
  px: number;
  py: number;
}

export function fitBounds(box: Bounds, width: number, height: number, margin = 16): Fit {
  const w = Math.max(1e-12, box.x1 - box.x0), h = Math.max(1e-12, box.y1 - box.y0);
  const scale = Math.min((width - 2 * margin) / w, (height - 2 * margin) / h);
  return { scale: Math.max(scale, 1e-12), cx: (box.x0 + box.x1) / 2, cy: (box.y0 + box.y1) / 2, px: width / 2, py: height / 2 };
}

/** Pixel coordinates (n, 2) of plane points. */
export function toPixels(plane: ArrayLike<number>, fit: Fit): Float32Array {
  const out = new Float32Array(plane.length);
  for (let i = 0; i + 1 < plane.length; i += 2) {
    out[i] = fit.px + (plane[i]! - fit.cx) * fit.scale;
    out[i + 1] = fit.py - (plane[i + 1]! - fit.cy) * fit.scale;
  }
  return out;
}

/** The pixel of one plane point. */
export function pixelOf(x: number, y: number, fit: Fit): [number, number] {
  return [fit.px + (x - fit.cx) * fit.scale, fit.py - (y - fit.cy) * fit.scale];
}
