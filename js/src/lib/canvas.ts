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

export interface Theme {
  foreground: string;
  muted: string;
  grid: string;
  accent: string;
  hover: string;
  threshold: string;
  band: string;
  font: string;
}

// JupyterLab variables, with the light-theme values as fallbacks outside JupyterLab. Lines use
// the font colours, so they flip with a dark theme.
const VARIABLES: Record<keyof Theme, [string, string]> = {
  foreground: ["--jp-ui-font-color1", "#222"],
  muted: ["--jp-ui-font-color2", "#616161"],
  grid: ["--jp-border-color2", "#e0e0e0"],
  accent: ["--jp-brand-color1", "#1976d2"],
  hover: ["--jp-warn-color1", "#f57c00"],
  threshold: ["--jp-error-color1", "#d32f2f"],
  band: ["--jp-brand-color3", "#bbdefb"],
  font: ["--jp-code-font-family", "monospace"],
};

/** Theme colours from the CSS variables in effect at `el`, with fallbacks. */
export function themeColors(el: Element): Theme {
  let style: CSSStyleDeclaration | null = null;
  try {
    style = el.ownerDocument.defaultView?.getComputedStyle(el) ?? null;
  } catch {
    style = null;
  }
  const theme = {} as Theme;
  for (const key of Object.keys(VARIABLES) as (keyof Theme)[]) {
    const [variable, fallback] = VARIABLES[key];
    theme[key] = style?.getPropertyValue(variable).trim() || fallback;
  }
  return theme;
}
