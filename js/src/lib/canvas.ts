/**
 * Size a canvas for crisp drawing on HiDPI screens: the backing store is `dpr` times the CSS
 * size and the context is scaled so that drawing code works in CSS pixels. Returns null when
 * there is no 2D context (jsdom, or a browser that refuses one); callers then skip drawing.
 */
export function sizeCanvas(
  canvas: HTMLCanvasElement,
  width: number,
  height: number,
  dpr: number = globalThis.devicePixelRatio || 1,
): CanvasRenderingContext2D | null {
  const w = Math.max(1, Math.round(width * dpr));
  const h = Math.max(1, Math.round(height * dpr));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  let ctx: CanvasRenderingContext2D | null;
  try {
    ctx = canvas.getContext("2d");
  } catch {
    ctx = null; // jsdom without the canvas package
  }
  if (!ctx) return null;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}

// The palette moved to lib/theme.ts (read from CSS variables at draw time, light fallbacks).
export { themeColors, type Theme } from "./theme";
