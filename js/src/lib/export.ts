// Image export of a view, as vector SVG and as PNG, from the toolbar and on the kernel's request
// (view.save_image in Python; docs/export.md). Three parts:
// - RecordingContext: the subset of CanvasRenderingContext2D the canvas views draw with, writing
//   SVG elements instead of pixels, so a canvas view re-runs its own drawing code into it. A
//   pixel image (putImageData: the density splat) becomes a grid of vector rects, never <image>.
// - snapshotSvg: one SVG of a mounted view: its <svg> elements cloned with their computed
//   styles inlined, its canvases re-drawn through their painters, and its visible text and
//   coloured boxes at their laid-out positions. Text always goes in through textContent.
// - attachExport: the "PNG" "SVG" buttons (a download named after the view) and the answer to
//   the kernel's {"type": "export"} message: the file's bytes, as a binary buffer.
import { el, message } from "./dom";
import { SVG_NS } from "./svg";

/** The part of the 2D canvas context the views draw with; a real context and a RecordingContext both are one. */
export type DrawContext = Pick<
  CanvasRenderingContext2D,
  | "beginPath"
  | "closePath"
  | "moveTo"
  | "lineTo"
  | "arc"
  | "rect"
  | "stroke"
  | "fill"
  | "fillRect"
  | "strokeRect"
  | "fillText"
  | "setLineDash"
  | "save"
  | "restore"
  | "createImageData"
  | "putImageData"
  | "strokeStyle"
  | "fillStyle"
  | "lineWidth"
  | "lineCap"
  | "lineJoin"
  | "globalAlpha"
  | "font"
  | "textAlign"
  | "textBaseline"
>;

/** Draws a view's canvas content, in CSS pixels, into any DrawContext. */
export type Painter = (ctx: DrawContext) => void;

interface DrawState {
  strokeStyle: string | CanvasGradient | CanvasPattern;
  fillStyle: string | CanvasGradient | CanvasPattern;
  lineWidth: number;
  lineCap: CanvasLineCap;
  lineJoin: CanvasLineJoin;
  globalAlpha: number;
  font: string;
  textAlign: CanvasTextAlign;
  textBaseline: CanvasTextBaseline;
  dash: number[];
}

const TEXT_ANCHOR: Record<CanvasTextAlign, string> = { left: "start", start: "start", center: "middle", right: "end", end: "end" };
const BASELINE: Record<CanvasTextBaseline, string> = {
  alphabetic: "alphabetic",
  top: "hanging",
  hanging: "hanging",
  middle: "central",
  ideographic: "ideographic",
  bottom: "text-after-edge",
};

/** Colour levels per channel when a pixel image is turned into rects: equal neighbours merge into one rect. */
const PIXEL_LEVELS = 32;

const num = (v: number): string => String(Math.round(v * 100) / 100);

/**
 * A 2D context that records what is drawn as SVG elements, in CSS pixels, into `group`.
 * Paths become <path>, fillRect <rect>, fillText <text> (textContent), alpha and dashes
 * attributes; putImageData becomes rects of `pixelRatio` image pixels per CSS pixel.
 */
export class RecordingContext implements DrawContext {
  readonly group: SVGGElement;
  strokeStyle: string | CanvasGradient | CanvasPattern = "#000";
  fillStyle: string | CanvasGradient | CanvasPattern = "#000";
  lineWidth = 1;
  lineCap: CanvasLineCap = "butt";
  lineJoin: CanvasLineJoin = "miter";
  globalAlpha = 1;
  font = "10px sans-serif";
  textAlign: CanvasTextAlign = "start";
  textBaseline: CanvasTextBaseline = "alphabetic";
  private dash: number[] = [];
  private path: string[] = [];
  private current: [number, number] | null = null;
  private stack: DrawState[] = [];

  /** `width` and `height` are the drawing's CSS size: putImageData scales an image of any pixel size to it. */
  constructor(
    readonly width: number,
    readonly height: number,
    doc: Document = document,
  ) {
    this.group = doc.createElementNS(SVG_NS, "g");
  }

  beginPath(): void {
    this.path = [];
    this.current = null;
  }

  closePath(): void {
    if (this.path.length) this.path.push("Z");
  }

  moveTo(x: number, y: number): void {
    this.path.push(`M${num(x)},${num(y)}`);
    this.current = [x, y];
  }

  lineTo(x: number, y: number): void {
    this.path.push(`${this.current ? "L" : "M"}${num(x)},${num(y)}`);
    this.current = [x, y];
  }

  rect(x: number, y: number, w: number, h: number): void {
    this.path.push(`M${num(x)},${num(y)}h${num(w)}v${num(h)}h${num(-w)}Z`);
    this.current = [x, y];
  }

  arc(x: number, y: number, r: number, start: number, end: number, anticlockwise = false): void {
    const at = (a: number): [number, number] => [x + r * Math.cos(a), y + r * Math.sin(a)];
    const [sx, sy] = at(start);
    this.path.push(`${this.current ? "L" : "M"}${num(sx)},${num(sy)}`);
    let sweep = anticlockwise ? start - end : end - start;
    if (sweep >= 2 * Math.PI) {
      // a full circle: two half arcs (one SVG arc cannot end where it starts)
      const [mx, my] = at(start + (anticlockwise ? -Math.PI : Math.PI));
      const flag = anticlockwise ? 0 : 1;
      this.path.push(`A${num(r)},${num(r)} 0 1 ${flag} ${num(mx)},${num(my)}`, `A${num(r)},${num(r)} 0 1 ${flag} ${num(sx)},${num(sy)}`);
      this.current = [sx, sy];
      return;
    }
    sweep = ((sweep % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI);
    const [ex, ey] = at(end);
    this.path.push(`A${num(r)},${num(r)} 0 ${sweep > Math.PI ? 1 : 0} ${anticlockwise ? 0 : 1} ${num(ex)},${num(ey)}`);
    this.current = [ex, ey];
  }

  stroke(): void {
    if (!this.path.length) return;
    const node = this.element("path", { d: this.path.join(""), fill: "none" });
    this.strokeAttributes(node);
  }

  fill(): void {
    if (!this.path.length) return;
    this.element("path", { d: this.path.join(""), fill: String(this.fillStyle), ...this.opacity("fill-opacity") });
  }

  fillRect(x: number, y: number, w: number, h: number): void {
    this.element("rect", { ...box(x, y, w, h), fill: String(this.fillStyle), ...this.opacity("fill-opacity") });
  }

  strokeRect(x: number, y: number, w: number, h: number): void {
    this.strokeAttributes(this.element("rect", { ...box(x, y, w, h), fill: "none" }));
  }

  fillText(text: string, x: number, y: number): void {
    const node = this.element("text", {
      x: num(x),
      y: num(y),
      fill: String(this.fillStyle),
      "text-anchor": TEXT_ANCHOR[this.textAlign] ?? "start",
      "dominant-baseline": BASELINE[this.textBaseline] ?? "alphabetic",
      ...fontAttributes(this.font),
      ...this.opacity("fill-opacity"),
    });
    node.textContent = String(text); // never parsed as markup
  }

  setLineDash(segments: Iterable<number>): void {
    this.dash = Array.from(segments, Number).filter((v) => Number.isFinite(v) && v >= 0);
  }

  save(): void {
    const { strokeStyle, fillStyle, lineWidth, lineCap, lineJoin, globalAlpha, font, textAlign, textBaseline } = this;
    this.stack.push({ strokeStyle, fillStyle, lineWidth, lineCap, lineJoin, globalAlpha, font, textAlign, textBaseline, dash: [...this.dash] });
  }

  restore(): void {
    const state = this.stack.pop();
    if (!state) return;
    const { dash, ...rest } = state;
    Object.assign(this, rest);
    this.dash = dash;
  }

  createImageData(widthOrImage: number | ImageData, height?: number): ImageData {
    const w = typeof widthOrImage === "number" ? Math.abs(Math.round(widthOrImage)) : widthOrImage.width;
    const h = typeof widthOrImage === "number" ? Math.abs(Math.round(height ?? 0)) : widthOrImage.height;
    return { data: new Uint8ClampedArray(w * h * 4), width: w, height: h, colorSpace: "srgb" } as ImageData;
  }

  /** The image as rects: each row's runs of one (quantised) colour become one rect, in CSS pixels. */
  putImageData(image: ImageData, dx: number, dy: number): void {
    const scale = image.width / Math.max(1e-9, this.width); // image pixels per CSS pixel
    const grid = this.group.ownerDocument.createElementNS(SVG_NS, "g");
    grid.setAttribute("class", "rnnw-export-pixels");
    grid.setAttribute("shape-rendering", "crispEdges");
    for (const run of colourRuns(image)) {
      const node = this.group.ownerDocument.createElementNS(SVG_NS, "rect");
      const attrs = { ...box(dx / scale + run.x / scale, dy / scale + run.y / scale, run.length / scale, 1 / scale), fill: run.fill };
      for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
      if (run.alpha < 1) node.setAttribute("fill-opacity", num(run.alpha));
      grid.append(node);
    }
    this.group.append(grid);
  }

  private opacity(name: string): Record<string, string> {
    return this.globalAlpha < 1 ? { [name]: num(Math.max(0, this.globalAlpha)) } : {};
  }

  private strokeAttributes(node: SVGElement): void {
    const attrs: Record<string, string> = {
      stroke: String(this.strokeStyle),
      "stroke-width": num(this.lineWidth),
      "stroke-linecap": this.lineCap,
      "stroke-linejoin": this.lineJoin,
      ...this.opacity("stroke-opacity"),
    };
    if (this.dash.length) attrs["stroke-dasharray"] = this.dash.map(num).join(" ");
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  }

  private element(tag: "path" | "rect" | "text", attrs: Record<string, string>): SVGElement {
    const node = this.group.ownerDocument.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    this.group.append(node);
    return node;
  }
}

function box(x: number, y: number, w: number, h: number): Record<string, string> {
  // canvas allows negative sizes; SVG does not
  return { x: num(Math.min(x, x + w)), y: num(Math.min(y, y + h)), width: num(Math.abs(w)), height: num(Math.abs(h)) };
}

/** "bold 12px Fira Code, monospace" as SVG font attributes. */
export function fontAttributes(font: string): Record<string, string> {
  const match = /(?:^|\s)(\d+(?:\.\d+)?)px\s+(.+)$/.exec(font.trim());
  if (!match) return {};
  const attrs: Record<string, string> = { "font-size": match[1]!, "font-family": match[2]! };
  if (/\bbold\b/.test(font)) attrs["font-weight"] = "bold";
  return attrs;
}

interface ColourRun {
  x: number;
  y: number;
  length: number;
  fill: string;
  alpha: number;
}

/** Runs of equal quantised colour along each row of an RGBA image; transparent pixels are skipped. */
export function colourRuns(image: Pick<ImageData, "data" | "width" | "height">): ColourRun[] {
  const { data, width, height } = image;
  const step = 255 / (PIXEL_LEVELS - 1); // 0 and 255 stay exact: opaque stays opaque
  const q = (v: number) => Math.round(Math.round(v / step) * step);
  const runs: ColourRun[] = [];
  for (let y = 0; y < height; y++) {
    let open: ColourRun | null = null;
    let key = "";
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      const a = data[p + 3]!;
      const k = a === 0 ? "" : `${q(data[p]!)},${q(data[p + 1]!)},${q(data[p + 2]!)},${q(a)}`;
      if (open && k === key) {
        open.length++;
        continue;
      }
      open = null;
      key = k;
      if (k === "") continue;
      open = { x, y, length: 1, fill: `rgb(${q(data[p]!)},${q(data[p + 1]!)},${q(data[p + 2]!)})`, alpha: Math.min(1, q(a) / 255) };
      runs.push(open);
    }
  }
  return runs;
}

// ---------------------------------------------------------------- snapshot of a mounted view

/** The computed style properties copied onto cloned SVG elements, so the file looks as on screen without the page's CSS. */
const SVG_STYLE_PROPERTIES = [
  "fill",
  "fill-opacity",
  "stroke",
  "stroke-width",
  "stroke-opacity",
  "stroke-dasharray",
  "stroke-linecap",
  "stroke-linejoin",
  "opacity",
  "font-family",
  "font-size",
  "font-weight",
  "text-anchor",
  "dominant-baseline",
  "visibility",
  "display",
];

/** Controls are not part of a figure: never exported. */
const FORM_CONTROLS = new Set(["BUTTON", "SELECT", "INPUT", "TEXTAREA"]);
/** Nor is a view's help panel (the gestures its `?` button shows, lib/view.ts). */
const HELP_CLASS = "rnnw-help";

export interface SnapshotOptions {
  /** Painters of the view's canvases: each canvas is re-drawn through its painter as vectors. */
  painters?: Map<HTMLCanvasElement, Painter>;
  /** Elements left out, with everything inside them (toolbars, buttons, tooltips). */
  skip?: (element: Element) => boolean;
}

/** The view under `root` as one standalone SVG element, sized as it is laid out. */
export function snapshotSvg(root: HTMLElement, options: SnapshotOptions = {}): SVGSVGElement {
  const doc = root.ownerDocument;
  const skip = (node: Element) => FORM_CONTROLS.has(node.tagName) || node.classList.contains(HELP_CLASS) || (options.skip?.(node) ?? false);
  const origin = keptBox(root, skip); // a skipped toolbar leaves no empty band
  const width = Math.max(1, Math.ceil(origin.width));
  const height = Math.max(1, Math.ceil(origin.height));
  const svg = doc.createElementNS(SVG_NS, "svg");
  for (const [name, value] of Object.entries({ width: String(width), height: String(height), viewBox: `0 0 ${width} ${height}` })) {
    svg.setAttribute(name, value);
  }
  svg.append(svgNode(doc, "rect", { x: "0", y: "0", width: String(width), height: String(height), fill: backgroundOf(root) }));
  const at = (r: DOMRect) => ({ x: r.left - origin.left, y: r.top - origin.top });

  const walk = (node: Element, into: Element): void => {
    if (skip(node) || isHidden(node)) return;
    const rect = node.getBoundingClientRect();
    if (node instanceof SVGSVGElement) {
      const { x, y } = at(rect);
      const clone = inlineClone(node);
      for (const [name, value] of Object.entries({ x: num(x), y: num(y), width: num(rect.width), height: num(rect.height) })) clone.setAttribute(name, value);
      into.append(clone);
      return;
    }
    if (node instanceof HTMLCanvasElement) {
      const painter = options.painters?.get(node);
      if (!painter) return;
      const { x, y } = at(rect);
      const ctx = new RecordingContext(rect.width || node.width, rect.height || node.height, doc);
      painter(ctx);
      ctx.group.setAttribute("transform", `translate(${num(x)},${num(y)})`);
      into.append(ctx.group);
      return;
    }
    const style = computed(node);
    const fill = style?.backgroundColor ?? "";
    if (rect.width > 0 && rect.height > 0 && fill && !isTransparent(fill)) {
      const { x, y } = at(rect);
      into.append(svgNode(doc, "rect", { x: num(x), y: num(y), width: num(rect.width), height: num(rect.height), fill }));
    }
    swatch(node, rect, into);
    for (const child of Array.from(node.childNodes)) {
      if (child.nodeType === 3) textNode(child as Text, style, into);
      else if (child instanceof Element) walk(child, into);
    }
  };

  const textNode = (text: Text, style: CSSStyleDeclaration | null, into: Element): void => {
    if ((text.textContent ?? "").trim() === "") return;
    const range = doc.createRange();
    range.selectNodeContents(text);
    if (typeof range.getBoundingClientRect !== "function") return; // jsdom: no layout
    const box = range.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) return;
    const wrapped = range.getClientRects().length > 1;
    for (const line of wrapped ? textLines(text) : [{ text: text.textContent ?? "", rect: box }]) {
      const content = clipped(line.text.replace(/\s+/g, " ").trim(), text.parentElement);
      if (content === "") continue;
      const { x, y } = at(line.rect);
      const node = svgNode(doc, "text", {
        x: num(x),
        y: num(y + line.rect.height / 2),
        "dominant-baseline": "central",
        fill: style?.color || "#222",
        "font-family": style?.fontFamily || "sans-serif",
        "font-size": style?.fontSize || "12px",
        ...(style?.fontWeight && Number(style.fontWeight) >= 600 ? { "font-weight": "bold" } : {}),
      });
      node.textContent = content; // never parsed as markup
      into.append(node);
    }
  };

  let rampCount = 0; // gradient ids, unique in the file
  /** A legend's ::before swatch (a dot, a square, a line or a colour ramp) at the start of its element. */
  const swatch = (node: Element, rect: DOMRect, into: Element): void => {
    const before = computed(node, "::before");
    if (!before || before.content === "none" || before.content === "normal" || before.display === "none") return;
    const w = Number.parseFloat(before.width) || 0;
    const h = Number.parseFloat(before.height) || 0;
    const line = Number.parseFloat(before.borderTopWidth) || 0;
    const { x: left, y: top } = at(rect);
    const x = left + (Number.parseFloat(computed(node)?.paddingLeft ?? "") || 0);
    const y = top + rect.height / 2;
    const ramp = rampColours(before.backgroundImage);
    if (ramp.length > 1 && w > 0 && h > 0) {
      const id = `rnnw-ramp-${rampCount++}`;
      const gradient = svgNode(doc, "linearGradient", { id });
      ramp.forEach((colour, i) => gradient.append(svgNode(doc, "stop", { offset: String(i / (ramp.length - 1)), "stop-color": colour })));
      into.append(gradient, svgNode(doc, "rect", { x: num(x), y: num(y - h / 2), width: num(w), height: num(h), fill: `url(#${id})` }));
    } else if (!isTransparent(before.backgroundColor) && w > 0 && h > 0) {
      const round = before.borderTopLeftRadius === "50%" || Number.parseFloat(before.borderTopLeftRadius) >= Math.min(w, h) / 2;
      into.append(
        round
          ? svgNode(doc, "circle", { cx: num(x + w / 2), cy: num(y), r: num(Math.min(w, h) / 2), fill: before.backgroundColor })
          : svgNode(doc, "rect", { x: num(x), y: num(y - h / 2), width: num(w), height: num(h), fill: before.backgroundColor }),
      );
    } else if (line > 0 && w > 0 && before.borderTopStyle !== "none") {
      const dash: Record<string, string> = before.borderTopStyle === "dashed" ? { "stroke-dasharray": "4 2" } : before.borderTopStyle === "dotted" ? { "stroke-dasharray": "1 2" } : {};
      into.append(svgNode(doc, "line", { x1: num(x), x2: num(x + w), y1: num(y), y2: num(y), stroke: before.borderTopColor, "stroke-width": num(line), ...dash }));
    }
  };

  walk(root, svg);
  return svg;
}

/** A text node that the layout wrapped, as one piece of text per line (split between words). */
function textLines(text: Text): { text: string; rect: DOMRect }[] {
  const doc = text.ownerDocument;
  const source = text.textContent ?? "";
  const lines: { start: number; stop: number; rect: DOMRect }[] = [];
  for (const word of source.matchAll(/\S+/g)) {
    const start = word.index ?? 0;
    const range = doc.createRange();
    range.setStart(text, start);
    range.setEnd(text, start + word[0].length);
    const rect = range.getBoundingClientRect();
    const line = lines[lines.length - 1];
    if (line && Math.abs(rect.top - line.rect.top) < rect.height / 2) {
      line.stop = start + word[0].length;
      const right = Math.max(line.rect.right, rect.right);
      line.rect = new DOMRect(line.rect.left, line.rect.top, right - line.rect.left, line.rect.height);
    } else {
      lines.push({ start, stop: start + word[0].length, rect });
    }
  }
  return lines.map((l) => ({ text: source.slice(l.start, l.stop), rect: l.rect }));
}

/** The text as its element shows it when the element clips it (overflow hidden, perhaps with an ellipsis). */
function clipped(content: string, element: Element | null): string {
  const style = element ? computed(element) : null;
  if (!element || !style || style.overflowX === "visible" || element.scrollWidth <= element.clientWidth + 1) return content;
  const ellipsis = style.textOverflow === "ellipsis";
  const keep = Math.max(1, Math.floor((content.length * element.clientWidth) / element.scrollWidth) - (ellipsis ? 1 : 0));
  return keep >= content.length ? content : `${content.slice(0, keep)}${ellipsis ? "…" : ""}`;
}

/** The box of the element's children that are exported (all of it when none can be measured). */
function keptBox(root: HTMLElement, skip: (node: Element) => boolean): DOMRect {
  const whole = root.getBoundingClientRect();
  const kept = Array.from(root.children)
    .filter((child) => !skip(child) && !isHidden(child))
    .map((child) => child.getBoundingClientRect())
    .filter((r) => r.width > 0 || r.height > 0);
  if (kept.length === 0) return whole;
  const top = Math.min(...kept.map((r) => r.top));
  const bottom = Math.max(...kept.map((r) => r.bottom));
  return new DOMRect(whole.left, top, whole.width, bottom - top);
}

/** The colours of a CSS linear-gradient, in order; none for anything else. */
function rampColours(image: string): string[] {
  if (!/^linear-gradient\(/.test(image)) return [];
  return image.match(/rgba?\([^)]*\)|#[0-9a-f]{3,8}\b/gi) ?? [];
}

function svgNode(doc: Document, tag: string, attrs: Record<string, string>): SVGElement {
  const node = doc.createElementNS(SVG_NS, tag) as SVGElement;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

function computed(node: Element, pseudo?: string): CSSStyleDeclaration | null {
  try {
    return node.ownerDocument.defaultView?.getComputedStyle(node, pseudo) ?? null;
  } catch {
    return null;
  }
}

function isHidden(node: Element): boolean {
  if (node instanceof HTMLElement && node.hidden) return true;
  const style = computed(node);
  return style?.display === "none" || style?.visibility === "hidden";
}

function isTransparent(colour: string): boolean {
  return colour === "transparent" || /^rgba\(.*,\s*0\)$/.test(colour.replace(/\s+/g, " "));
}

/** The first opaque background at or above `node`, else white: the file's backdrop. */
function backgroundOf(node: Element): string {
  for (let at: Element | null = node; at; at = at.parentElement) {
    const colour = computed(at)?.backgroundColor ?? "";
    if (colour && !isTransparent(colour)) return colour;
  }
  return "#ffffff";
}

/** A deep clone of an SVG element with every element's computed presentation written on it. */
export function inlineClone(source: SVGSVGElement): SVGSVGElement {
  const clone = source.cloneNode(true) as SVGSVGElement;
  const from = [source, ...Array.from(source.querySelectorAll("*"))];
  const to = [clone, ...Array.from(clone.querySelectorAll("*"))];
  from.forEach((original, i) => {
    const target = to[i];
    const style = computed(original);
    if (!target || !style) return;
    const declarations = SVG_STYLE_PROPERTIES.map((p) => [p, style.getPropertyValue(p)] as const).filter(([, v]) => v !== "");
    if (declarations.length) target.setAttribute("style", declarations.map(([p, v]) => `${p}:${v}`).join(";"));
  });
  return clone;
}

/** An SVG element as a standalone file's text. */
export function serializeSvg(svg: SVGSVGElement): string {
  // XMLSerializer declares the SVG namespace of an element made with createElementNS itself;
  // an xmlns attribute set by hand would be written a second time.
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(svg)}`;
}

/** Device pixels per CSS pixel of exported PNGs. */
export const PNG_PIXEL_RATIO = 2;

/** The SVG text drawn onto a canvas at `pixelRatio` and encoded as PNG. Needs a browser (an <img> decodes the SVG). */
export async function rasterise(svgText: string, pixelRatio: number = PNG_PIXEL_RATIO): Promise<Blob> {
  const doc = new DOMParser().parseFromString(svgText, "image/svg+xml");
  const root = doc.documentElement;
  const width = Number.parseFloat(root.getAttribute("width") ?? "");
  const height = Number.parseFloat(root.getAttribute("height") ?? "");
  if (!(width > 0 && height > 0)) throw new Error("the SVG has no width and height to rasterise at");
  const url = URL.createObjectURL(new Blob([svgText], { type: "image/svg+xml" }));
  try {
    const image = new Image();
    await new Promise<void>((resolve, reject) => {
      image.onload = () => resolve();
      image.onerror = () => reject(new Error("the browser could not decode the SVG"));
      image.src = url;
    });
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(width * pixelRatio);
    canvas.height = Math.round(height * pixelRatio);
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("this browser gives no 2D canvas to draw the PNG on");
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the canvas could not be encoded as PNG"))), "image/png"),
    );
  } finally {
    URL.revokeObjectURL(url);
  }
}

// ---------------------------------------------------------------- toolbar buttons and kernel requests

export type ImageFormat = "png" | "svg";

/** The widget model calls export needs (anywidget's model has them all). */
export interface ExportModel {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  save_changes(): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
  on(eventName: string, callback: (...args: any[]) => void): void;
  off(eventName?: string | null, callback?: ((...args: any[]) => void) | null): void;
}

export interface ExportTarget {
  /** The file name's stem, e.g. "SelectView". */
  name: string;
  /** The view as one SVG element, drawn now. */
  svg: () => SVGSVGElement;
}

/** The file of a view in `format`: SVG text, or that SVG rasterised (or `svgText` when given). */
export async function exportImage(target: ExportTarget, format: ImageFormat, svgText?: string): Promise<Blob> {
  const text = svgText ?? serializeSvg(target.svg());
  return format === "svg" ? new Blob([text], { type: "image/svg+xml" }) : rasterise(text);
}

/** Saves a blob as a download named `filename` (an <a download> click). */
export function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

interface ExportRequest {
  type: "export";
  id: string;
  format: ImageFormat;
  svg?: string;
}

function isExportRequest(msg: unknown): msg is ExportRequest {
  const m = msg as Partial<ExportRequest> | null;
  return !!m && m.type === "export" && typeof m.id === "string" && (m.format === "png" || m.format === "svg");
}

/**
 * Adds the "PNG" "SVG" download buttons to `toolbar` and answers the kernel's export requests
 * for this rendering; when the model has the `_rendered` trait, counts this rendering in it so
 * the kernel knows a front end can answer. Returns the cleanup.
 */
export function attachExport(model: ExportModel, toolbar: HTMLElement, target: ExportTarget): () => void {
  const group = el("span", "rnnw-export");
  const status = el("span", "rnnw-export-status");
  status.setAttribute("role", "status");
  const buttons = (["png", "svg"] as const).map((format) => {
    const button = el("button", `rnnw-export-${format} rnnw-control`, format.toUpperCase());
    button.type = "button";
    button.title = `download this view as ${format === "svg" ? "a vector SVG" : "a PNG image"} (${target.name}.${format})`;
    button.addEventListener("click", () => void onClick(format));
    return button;
  });
  group.append(...buttons, status);
  toolbar.append(group);

  async function onClick(format: ImageFormat): Promise<void> {
    try {
      status.textContent = "";
      download(await exportImage(target, format), `${target.name}.${format}`);
    } catch (error) {
      console.error(error);
      status.textContent = `export failed: ${message(error)}`;
    }
  }

  const onMessage = (msg: unknown) => {
    if (isExportRequest(msg)) void answer(msg);
  };

  async function answer(request: ExportRequest): Promise<void> {
    try {
      const blob = await exportImage(target, request.format, request.svg);
      const bytes = await blob.arrayBuffer();
      model.send({ type: "export_result", id: request.id, ok: true, format: request.format }, undefined, [bytes]);
    } catch (error) {
      model.send({ type: "export_result", id: request.id, ok: false, error: message(error) });
    }
  }

  model.on("msg:custom", onMessage);
  const counted = model.get("_rendered") !== undefined;
  if (counted) bumpRendered(model, 1);

  return () => {
    model.off("msg:custom", onMessage);
    group.remove();
    if (counted) bumpRendered(model, -1);
  };
}

function bumpRendered(model: ExportModel, delta: number): void {
  model.set("_rendered", Math.max(0, (Number(model.get("_rendered")) || 0) + delta));
  model.save_changes();
}
