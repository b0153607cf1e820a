// The views' palette: read from CSS variables at draw time, so a view follows JupyterLab's theme.
//
// lib/view.css defines the palette (`--rnnw-background`, `--rnnw-foreground`, ...) on every view
// root (`.rnnw-view`) from JupyterLab's own variables (`--jp-layout-color0`, `--jp-ui-font-color1`,
// ...), with the light theme's values as fallbacks, and overrides the few colours a dark
// background needs under `body[data-jp-theme-light="false"]`. Where no JupyterLab theme exists
// (a notebook saved as HTML, a front end without `--jp-*` variables) the fallbacks give the light
// palette. SVG and HTML parts use the variables in CSS and follow a theme change by themselves;
// canvases read them here and are redrawn when `watchTheme` reports a change.
//
// The signal for a change is JupyterLab's: its theme manager sets `data-jp-theme-light` and
// `data-jp-theme-name` on <body> once the new theme's CSS is in place. The browser's
// prefers-color-scheme is not it: JupyterLab's theme is chosen in JupyterLab.

/** The colours (and the font) a view draws with. */
export interface Theme {
  /** The view's backdrop. */
  background: string;
  /** Text and strong lines. */
  foreground: string;
  /** Secondary text: ticks, axis labels, captions (readable, at least 4.5:1 on the background). */
  muted: string;
  /** Grid lines. */
  grid: string;
  /** The selection: selected cells, the brushed range's trajectory. */
  accent: string;
  /** What the pointer is over. */
  hover: string;
  /** The threshold line and its handle. */
  threshold: string;
  /** The brushed range's band. */
  band: string;
  /** A positive labelled example (label by example). */
  positive: string;
  /** A negative labelled example. */
  negative: string;
  font: string;
}

/** Each palette entry: its CSS variable (lib/view.css) and the light-theme value used without one. */
export const PALETTE_VARIABLES: Record<keyof Theme, [string, string]> = {
  background: ["--rnnw-background", "#ffffff"],
  foreground: ["--rnnw-foreground", "#222222"],
  muted: ["--rnnw-muted", "#616161"],
  grid: ["--rnnw-grid", "#e0e0e0"],
  accent: ["--rnnw-accent", "#1976d2"],
  hover: ["--rnnw-hover", "#f57c00"],
  threshold: ["--rnnw-threshold", "#d32f2f"],
  band: ["--rnnw-band", "#bbdefb"],
  positive: ["--rnnw-positive", "#2e7d32"],
  negative: ["--rnnw-negative", "#8e24aa"],
  font: ["--rnnw-font", "monospace"],
};

/** The value of the CSS variable `name` in effect at `el`, or `fallback` when it is not set. */
export function cssVariable(el: Element, name: string, fallback: string): string {
  let style: CSSStyleDeclaration | null = null;
  try {
    style = el.ownerDocument.defaultView?.getComputedStyle(el) ?? null;
  } catch {
    style = null; // a detached element in a browser that refuses, or jsdom without layout
  }
  return style?.getPropertyValue(name).trim() || fallback;
}

/** The palette in effect at `el` (read now: call it at draw time), with light-theme fallbacks. */
export function themeColors(el: Element): Theme {
  const theme = {} as Theme;
  for (const key of Object.keys(PALETTE_VARIABLES) as (keyof Theme)[]) {
    const [variable, fallback] = PALETTE_VARIABLES[key];
    theme[key] = cssVariable(el, variable, fallback);
  }
  return theme;
}

/** JupyterLab's theme on the page holding `el`: "dark", "light", or "none" outside JupyterLab. */
export function pageTheme(el: Element): "dark" | "light" | "none" {
  const light = el.ownerDocument?.body?.dataset.jpThemeLight;
  return light === "false" ? "dark" : light === "true" ? "light" : "none";
}

/**
 * Calls `onChange` whenever JupyterLab switches its theme (the attributes its theme manager sets
 * on <body> once the new CSS applies). Returns what stops watching; a no-op without a body or
 * a MutationObserver.
 */
export function watchTheme(el: Element, onChange: () => void): () => void {
  const body = el.ownerDocument?.body;
  if (!body || typeof MutationObserver !== "function") return () => {};
  const observer = new MutationObserver(() => onChange());
  observer.observe(body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });
  return () => observer.disconnect();
}

/** An opaque or translucent colour as [r, g, b, a] (0..255, alpha 0..1); null when unreadable. */
export function parseRgba(color: string): [number, number, number, number] | null {
  const c = color.trim().toLowerCase();
  return parseWritten(c) ?? viaCanvas(c);
}

/** Hex, rgb(), rgba(), white and black, as written; null for anything else. */
function parseWritten(c: string): [number, number, number, number] | null {
  const hex = /^#([0-9a-f]{3,8})$/.exec(c);
  if (hex) {
    let h = hex[1]!;
    if (h.length === 3 || h.length === 4) h = [...h].map((x) => x + x).join("");
    if (h.length !== 6 && h.length !== 8) return null;
    const n = (i: number) => parseInt(h.slice(i, i + 2), 16);
    return [n(0), n(2), n(4), h.length === 8 ? n(6) / 255 : 1];
  }
  const rgb = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)$/.exec(c);
  if (rgb) {
    const alpha = rgb[4] === undefined ? 1 : rgb[4].endsWith("%") ? Number(rgb[4].slice(0, -1)) / 100 : Number(rgb[4]);
    return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3]), alpha];
  }
  if (c === "white") return [255, 255, 255, 1];
  if (c === "black") return [0, 0, 0, 1];
  return null;
}

let probe: CanvasRenderingContext2D | null | undefined;

/** Any other CSS colour (a name, hsl(), ...) as the browser's canvas normalises it; null without a canvas. */
function viaCanvas(color: string): [number, number, number, number] | null {
  if (probe === undefined) {
    try {
      probe = typeof document === "undefined" ? null : document.createElement("canvas").getContext("2d");
    } catch {
      probe = null;
    }
  }
  if (!probe) return null;
  probe.fillStyle = "#010203"; // a sentinel: an invalid colour leaves it unchanged
  probe.fillStyle = color;
  const normal = String(probe.fillStyle);
  if (normal === "#010203" && color !== "#010203") return null;
  return parseWritten(normal.toLowerCase());
}

/** `top` (perhaps translucent) composited over the opaque `bottom`, as [r, g, b]. */
export function over(top: readonly number[], bottom: readonly number[]): [number, number, number] {
  const a = top[3] ?? 1;
  return [0, 1, 2].map((i) => top[i]! * a + bottom[i]! * (1 - a)) as [number, number, number];
}

/** `a` weighted `t` and `b` weighted `1 - t`, channel by channel, rounded: [r, g, b]. */
export function mix(a: readonly number[], b: readonly number[], t: number): [number, number, number] {
  return [0, 1, 2].map((i) => Math.round(a[i]! * t + b[i]! * (1 - t))) as [number, number, number];
}

/** [r, g, b] as "rgb(r, g, b)" (how the browser writes a colour back). */
export function rgbText(rgb: readonly number[]): string {
  return `rgb(${Math.round(rgb[0]!)}, ${Math.round(rgb[1]!)}, ${Math.round(rgb[2]!)})`;
}

/** WCAG 2 relative luminance of an sRGB colour (0..255 channels). */
export function luminance(rgb: readonly number[]): number {
  const channel = (v: number) => {
    const s = v / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(rgb[0]!) + 0.7152 * channel(rgb[1]!) + 0.0722 * channel(rgb[2]!);
}

/** WCAG 2 contrast ratio of two opaque colours (1 .. 21). */
export function contrast(a: readonly number[], b: readonly number[]): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** Black or white, whichever reads better on the opaque background `rgb` (always at least 4.5:1). */
export function textOn(rgb: readonly number[]): "#000000" | "#ffffff" {
  return contrast(rgb, [0, 0, 0]) >= contrast(rgb, [255, 255, 255]) ? "#000000" : "#ffffff";
}
