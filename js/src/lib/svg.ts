// Small SVG helpers for the views drawn as SVG (bars, line plots). Text goes in through
// textContent only, never as markup.

export const SVG_NS = "http://www.w3.org/2000/svg";

/** A new SVG element with attributes (numbers are written as they print) and optional text. */
export function svgEl<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  text?: string,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** An SVG path through the points (x[i], y[i]) in pixels; empty for no points. */
export function linePath(xs: ArrayLike<number>, ys: ArrayLike<number>): string {
  const n = Math.min(xs.length, ys.length);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`${i === 0 ? "M" : "L"}${round(xs[i]!)},${round(ys[i]!)}`);
  return parts.join("");
}

/** A closed SVG path of the area between two lines over the same xs (low forwards, high back). */
export function bandPath(xs: ArrayLike<number>, low: ArrayLike<number>, high: ArrayLike<number>): string {
  const n = Math.min(xs.length, low.length, high.length);
  if (n === 0) return "";
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`${i === 0 ? "M" : "L"}${round(xs[i]!)},${round(low[i]!)}`);
  for (let i = n - 1; i >= 0; i--) parts.push(`L${round(xs[i]!)},${round(high[i]!)}`);
  return `${parts.join("")}Z`;
}

/** A value with 4 significant digits and no trailing zeros ("0.7341", "12", "-0.05"). */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

const round = (v: number) => Math.round(v * 100) / 100;
