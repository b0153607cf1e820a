// StateSpaceView: visited states in PCA coordinates (a canvas point cloud coloured by a label),
// trajectories of chosen sequences, fixed points by class and q with their top eigenvector, the
// readout direction, faint grid trajectories, and the spectrum of a clicked fixed point. Hover
// shares `hovered_step` with every view through the Selection. The kernel <-> browser contract
// is docs/state_space_view_contract.md. Text goes in as textContent only.
import type { AnyWidget, RenderProps } from "@anywidget/types";
import { decode, type PackedArray } from "../lib/binary";
import { sizeCanvas, themeColors, type Theme } from "../lib/canvas";
import { binColor, binOf, categoryColor, NUMERIC_BINS, STABILITY, STABILITY_COLORS } from "../lib/colormap";
import { el, fmt, message } from "../lib/dom";
import { attachHelp, createErrorBox, createNoticeBox, domListeners, guardedRender, legendItem, modelListeners, showErrorText, watchWidth, type Gesture } from "../lib/view";
import { watchTheme } from "../lib/theme";
import { bounds, fitBounds, pixelOf, toPixels, toPlane, type Bounds, type Fit } from "../lib/projection";
import { indexOfSteps, nearestPoint, radiusForLogQ } from "../lib/points";
import { followSelection, throttle, type SelectionModel } from "../lib/selection";
import { parseColor, splat } from "../lib/splat";
import { svgEl } from "../lib/svg";
import { attachExport, snapshotSvg, type DrawContext, type ExportModel } from "../lib/export";

type Maybe<T> = T | null;

export interface LabelPayload {
  labels: Maybe<PackedArray>;
  values: Maybe<PackedArray>;
  categories: string[];
  range: Maybe<[number, number]>;
}
export interface CloudPayload extends LabelPayload {
  xy: PackedArray;
  steps: PackedArray;
}
export interface TrajectoriesPayload extends CloudPayload {
  offsets: PackedArray;
  sequences: number[];
}
export interface FixedPayload {
  xy: PackedArray;
  index: PackedArray;
  stability: PackedArray;
  log_q: PackedArray;
  attractor: PackedArray;
  modes: Maybe<PackedArray>;
}
export interface SpectrumPayload {
  index: number;
  real: PackedArray;
  imag: PackedArray;
  time_constants: PackedArray;
  stability: string;
  q: number;
  attractor: number;
  condition: number;
}

export type StateSpaceState = {
  selection: string;
  condition: number;
  dims: number;
  sequences: number[];
  spectrum_point: number | null;
  height: number;
  error: string;
  /** A notice that is not an error (a size clamped to its bound), shown in place. */
  message?: string;
  _conditions: string[];
  _axes: string[];
  _cloud: Maybe<CloudPayload>;
  _trajectories: Maybe<TrajectoriesPayload>;
  _fixed: Maybe<FixedPayload>;
  _readout: Maybe<{ origin: PackedArray; direction: PackedArray }>;
  _portrait: Maybe<{ lines: PackedArray }>;
  _spectrum: Maybe<SpectrumPayload>;
  _hovered: Maybe<{ step: number; xy: PackedArray }>;
};

/** The plot width used before the element has been laid out (and in jsdom). */
export const FALLBACK_WIDTH = 640;
export const POINT_TOLERANCE = 6;
export const HOVER_SAVE_MS = 60;
const DRAG_RADIANS_PER_PX = 0.01;
const CLOUD_ALPHA = 0.35;
const CLOUD_POINT_PX = 2;
const SPECTRUM_SIZE = 220;
/** The colour of the visited states when they have no label. */
export const UNLABELLED = "#7a8ca3";
/** Eigenvalues inside the unit circle (decaying modes) and outside it (growing), in the spectrum. */
export const EIGEN_INSIDE = "#1565c0";
export const EIGEN_OUTSIDE = "#c62828";

/** The gestures the `?` button lists. */
export const GESTURES: readonly Gesture[] = [
  ["hover a point", "shows its step and label, and marks the step in every linked view"],
  ["click a fixed point", "shows its eigenvalue spectrum (× closes it)"],
  ["drag (3-D view)", "rotates the view"],
  ["input: …", "the input condition whose fixed points and grid trajectories are drawn"],
  ["view: …", "2-D or 3-D (the first two or three principal components)"],
  ["PNG / SVG", "download the view as drawn"],
];

/** Points with a colour group each, and an order that lists them group by group. */
interface Labelled {
  xy: Float32Array;
  steps: Uint32Array;
  group: Uint8Array; // category code, or numeric bin; 0 without labels
  categories: string[];
  numeric: boolean;
  order: Uint32Array;
  starts: number[]; // starts[g] .. starts[g + 1] in order: the points of group g
  labelText: (i: number) => string;
}

interface Decoded {
  dims: number;
  cloud: Maybe<Labelled>;
  traj: Maybe<Labelled & { offsets: Uint32Array; sequences: number[] }>;
  fixed: Maybe<{ xy: Float32Array; index: Uint32Array; stability: Uint8Array; logQ: Float32Array; attractor: Int32Array; modes: Maybe<Float32Array>; qRange: [number, number] }>;
  readout: Maybe<{ origin: Float32Array; direction: Float32Array }>;
  portrait: Maybe<{ lines: Float32Array; nStarts: number; length: number }>;
}

function decodeLabelled(payload: CloudPayload, dims: number, range: Maybe<[number, number]>): Labelled {
  const xy = decode(payload.xy, "float32").array;
  const steps = decode(payload.steps, "uint32").array;
  const n = steps.length;
  if (xy.length !== n * dims) throw new RangeError(`xy has ${xy.length} values for ${n} points of ${dims} dims`);
  const group = new Uint8Array(n);
  let numeric = false;
  let labelText = (_i: number) => "";
  const categories = (payload.categories ?? []).map(String);
  if (payload.labels) {
    const codes = decode(payload.labels, "uint8").array;
    if (codes.length !== n) throw new RangeError(`labels has ${codes.length} values for ${n} points`);
    group.set(codes);
    labelText = (i) => categories[codes[i]!] ?? String(codes[i]);
  } else if (payload.values) {
    const values = decode(payload.values, "float32").array;
    if (values.length !== n) throw new RangeError(`values has ${values.length} values for ${n} points`);
    const [lo, hi] = range ?? payload.range ?? [0, 1];
    numeric = true;
    for (let i = 0; i < n; i++) group[i] = binOf(values[i]!, lo, hi);
    labelText = (i) => values[i]!.toPrecision(3);
  }
  const nGroups = numeric ? NUMERIC_BINS : Math.max(1, categories.length);
  const counts = new Array<number>(nGroups + 1).fill(0);
  for (let i = 0; i < n; i++) counts[Math.min(group[i]!, nGroups - 1) + 1]! += 1;
  const starts = counts.map((_, g) => counts.slice(0, g + 1).reduce((a, b) => a + b, 0));
  const fill = starts.slice();
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[fill[Math.min(group[i]!, nGroups - 1)]!++] = i;
  return { xy, steps, group, categories, numeric, order, starts, labelText };
}

/** Decode every payload; throws with a message on a malformed one. */
export function decodeState(get: <K extends keyof StateSpaceState>(key: K) => StateSpaceState[K]): Decoded {
  const dims = Number(get("dims")) === 3 ? 3 : 2;
  const cloudPayload = get("_cloud");
  const cloud = cloudPayload ? decodeLabelled(cloudPayload, dims, null) : null;
  const trajPayload = get("_trajectories");
  const range = cloudPayload?.range ?? null;
  const traj = trajPayload
    ? { ...decodeLabelled(trajPayload, dims, range), offsets: decode(trajPayload.offsets, "uint32").array, sequences: (trajPayload.sequences ?? []).map(Number) }
    : null;
  const f = get("_fixed");
  let fixed: Decoded["fixed"] = null;
  if (f) {
    const xy = decode(f.xy, "float32").array;
    const index = decode(f.index, "uint32").array;
    const logQ = decode(f.log_q, "float32").array;
    let lo = Infinity, hi = -Infinity;
    for (const v of logQ) if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    fixed = {
      xy,
      index,
      stability: decode(f.stability, "uint8").array,
      logQ,
      attractor: decode(f.attractor, "int32").array,
      modes: f.modes ? decode(f.modes, "float32").array : null,
      qRange: [lo, hi],
    };
    if (xy.length !== index.length * dims) throw new RangeError(`fixed points: ${xy.length} values for ${index.length} points`);
  }
  const r = get("_readout");
  const readout = r ? { origin: decode(r.origin, "float32").array, direction: decode(r.direction, "float32").array } : null;
  const p = get("_portrait");
  let portrait: Decoded["portrait"] = null;
  if (p) {
    const lines = decode(p.lines, "float32");
    portrait = { lines: lines.array, nStarts: lines.shape[0] ?? 0, length: lines.shape[1] ?? 0 };
  }
  return { dims, cloud, traj, fixed, readout, portrait };
}

/** The sequence index drawn for a trajectory point, from the offsets of the drawn sequences. */
export function trajectoryOf(offsets: ArrayLike<number>, point: number): number {
  for (let t = 0; t + 1 < offsets.length; t++) if (point < offsets[t + 1]!) return t;
  return -1;
}

type Props = Pick<RenderProps<StateSpaceState>, "model" | "el">;

const render = guardedRender<Props>("StateSpaceView", mount);

type Hit = { kind: "fixed" | "traj" | "cloud"; index: number } | null;

async function mount({ model, el: host }: Props): Promise<() => void> {
  const listeners = domListeners(); // every DOM listener is added with its signal
  const { on } = listeners;

  // ---------------------------------------------------------------- DOM
  const root = el("div", "rnnw-state-space-view rnnw-view");
  root.dataset.renderCount = "0";
  root.dataset.hoveredStep = "";
  const header = el("div", "rnnw-ssv-header");
  const pickerLabel = el("label", "rnnw-ssv-picker-label", "input: ");
  const picker = el("select", "rnnw-ssv-condition rnnw-control");
  picker.title = "the input condition whose fixed points and grid trajectories are drawn";
  pickerLabel.append(picker);
  const dimsLabel = el("label", "rnnw-ssv-dims-label", "view: ");
  const dimsPicker = el("select", "rnnw-ssv-dims rnnw-control");
  for (const d of ["2", "3"]) dimsPicker.append(Object.assign(el("option", "", `${d}-D`), { value: d }));
  dimsLabel.append(dimsPicker);
  const summary = el("span", "rnnw-ssv-summary");
  const hoverBox = el("span", "rnnw-ssv-hover");
  header.append(pickerLabel, dimsLabel, summary, hoverBox);
  const errorBox = createErrorBox();
  const notice = createNoticeBox();
  const body = el("div", "rnnw-ssv-body");
  const plot = el("div", "rnnw-ssv-plot");
  const canvas = el("canvas", "rnnw-ssv-canvas");
  const overlay = el("canvas", "rnnw-ssv-overlay");
  const axes = el("div", "rnnw-ssv-axes");
  plot.append(canvas, overlay, axes);
  const panel = el("div", "rnnw-ssv-spectrum");
  panel.hidden = true;
  body.append(plot, panel);
  const legend = el("div", "rnnw-ssv-legend rnnw-legend");
  root.append(header, errorBox, notice, body, legend);
  host.append(root);

  // ---------------------------------------------------------------- state
  let sel: SelectionModel | null = null;
  let data: Maybe<Decoded> = null;
  let dataError = "";
  let selectionError = "";
  let disposed = false;
  let measuredWidth = 0;
  let yaw = 0.6;
  let pitch = 0.35;
  let fit: Fit = fitBounds({ x0: -1, x1: 1, y0: -1, y1: 1 }, FALLBACK_WIDTH, 400);
  let px: { cloud: Float32Array; traj: Float32Array; fixed: Float32Array } = { cloud: new Float32Array(0), traj: new Float32Array(0), fixed: new Float32Array(0) };
  let cloudIndex = new Map<number, number>();
  let trajIndex = new Map<number, number>();
  let hit: Hit = null;
  let rotating: { x: number; y: number; yaw: number; pitch: number } | null = null;
  let frame = 0;
  let renderCount = 0;
  let namesKey = "";
  let legendKey = "";
  let theme: Theme = themeColors(root);

  const width = () => {
    const w = measuredWidth || plot.clientWidth;
    return w > 0 ? w : FALLBACK_WIDTH;
  };
  const height = () => Math.max(120, Number(model.get("height")) || 420);
  const hoverSave = throttle(() => sel?.save_changes(), HOVER_SAVE_MS);

  function local(e: MouseEvent): { x: number; y: number } {
    const box = overlay.getBoundingClientRect();
    return { x: e.clientX - box.left, y: e.clientY - box.top };
  }

  // ---------------------------------------------------------------- geometry
  function plane(xy: Maybe<Float32Array>, dims: number): Float32Array {
    return xy ? toPlane(xy, dims, yaw, pitch) : new Float32Array(0);
  }

  /** The data's box: in 3-D a sphere around the origin (the mean), so rotating never rescales. */
  function dataBounds(d: Decoded): Bounds {
    const all = [d.cloud?.xy, d.traj?.xy, d.fixed?.xy].filter((a): a is Float32Array => !!a);
    if (d.dims === 2) return bounds(...all);
    let r = 0;
    for (const a of all) for (let i = 0; i + 2 < a.length; i += 3) r = Math.max(r, Math.hypot(a[i]!, a[i + 1]!, a[i + 2]!));
    r = r || 1;
    return { x0: -r, x1: r, y0: -r, y1: r };
  }

  function project(): void {
    if (!data) return;
    fit = fitBounds(dataBounds(data), width(), height());
    px = {
      cloud: toPixels(plane(data.cloud?.xy ?? null, data.dims), fit),
      traj: toPixels(plane(data.traj?.xy ?? null, data.dims), fit),
      fixed: toPixels(plane(data.fixed?.xy ?? null, data.dims), fit),
    };
  }

  function pixelOfVector(origin: ArrayLike<number>, offset: ArrayLike<number> | null, dims: number, sign = 1): [number, number] {
    const v = Array.from({ length: dims }, (_, k) => (origin[k] ?? 0) + sign * (offset ? offset[k] ?? 0 : 0));
    const p = toPlane(v, dims, yaw, pitch);
    return pixelOf(p[0]!, p[1]!, fit);
  }

  // ---------------------------------------------------------------- drawing
  function showError(): void {
    const text = String(model.get("error") ?? "") || dataError || selectionError;
    showErrorText(errorBox, text);
    showErrorText(notice, String(model.get("message") ?? ""));
  }

  function updateHeader(): void {
    const names = (model.get("_conditions") ?? []).map(String);
    const key = JSON.stringify(names);
    if (key !== namesKey) {
      namesKey = key;
      picker.replaceChildren(...names.map((n, i) => Object.assign(el("option", "", n), { value: String(i) })));
    }
    picker.value = String(model.get("condition") ?? 0);
    pickerLabel.hidden = names.length < 2;
    dimsPicker.value = String(data?.dims ?? 2);
    const d = data;
    const nFixed = d?.fixed?.index.length ?? 0;
    summary.textContent = d
      ? `${fmt(d.cloud?.steps.length ?? 0)} states · ${fmt(d.traj?.sequences.length ?? 0)} trajectories · ${fmt(nFixed)} fixed points`
      : "";
    root.dataset.nPoints = String(d?.cloud?.steps.length ?? 0);
    root.dataset.nFixed = String(nFixed);
    root.dataset.condition = String(model.get("condition") ?? 0);
    root.dataset.dims = String(d?.dims ?? 2);
    const labels = (model.get("_axes") ?? []).map(String);
    axes.textContent = d?.dims === 3 ? `${labels.join(" · ")} — drag to rotate` : labels.length >= 2 ? `x: ${labels[0]} · y: ${labels[1]}` : "";
    updateLegend();
  }

  /** Names every colour drawn: the labels, the lines, the brushed range, the hovered step, fixed points by class. */
  function updateLegend(): void {
    const d = data;
    const cloud = d?.cloud;
    const key = JSON.stringify([cloud?.categories, cloud?.numeric, model.get("_cloud")?.range ?? null, !!cloud, !!d?.traj, !!d?.fixed, !!d?.fixed?.modes, !!d?.readout, !!d?.portrait]);
    if (key === legendKey) return;
    legendKey = key;
    legend.replaceChildren();
    if (!d) return;
    const add = (text: string, swatch: Parameters<typeof legendItem>[1], color: string, className: string) => legend.append(legendItem(text, swatch, color, className));
    if (cloud && !cloud.numeric && cloud.categories.length > 0) {
      cloud.categories.forEach((name, code) => add(name, "dot", categoryColor(code), "rnnw-ssv-legend-item rnnw-ssv-legend-label"));
    } else if (cloud?.numeric) {
      const range = (model.get("_cloud")?.range ?? [0, 1]) as [number, number];
      const ramp = [0, NUMERIC_BINS >> 1, NUMERIC_BINS - 1].map(binColor).join(", ");
      add(`${range[0].toPrecision(3)} … ${range[1].toPrecision(3)}`, "ramp", ramp, "rnnw-ssv-legend-item rnnw-ssv-legend-ramp");
    } else if (cloud) {
      add("visited states", "dot", UNLABELLED, "rnnw-ssv-legend-item rnnw-ssv-legend-label");
    }
    if (d.traj) {
      add("trajectory", "line", "var(--rnnw-foreground)", "rnnw-ssv-legend-key");
      add("brushed range", "line", "var(--rnnw-accent)", "rnnw-ssv-legend-key");
    }
    add("hovered step", "frame", "var(--rnnw-hover)", "rnnw-ssv-legend-key rnnw-legend-dot");
    if (d.readout) add("readout direction", "line", "var(--rnnw-threshold)", "rnnw-ssv-legend-key");
    if (d.portrait) add("grid trajectories", "line", "var(--rnnw-grid-trajectory)", "rnnw-ssv-legend-key");
    if (d.fixed) {
      // Attractors (stable, marginal) are drawn filled, the others as rings.
      STABILITY.forEach((name, code) => add(name, code <= 1 ? "dot" : "frame", STABILITY_COLORS[code]!, `rnnw-ssv-legend-item rnnw-ssv-legend-fixed${code <= 1 ? "" : " rnnw-legend-dot"}`));
      if (d.fixed.modes) add("top eigenvectors", "line", "var(--rnnw-foreground)", "rnnw-ssv-legend-key");
    }
  }

  function draw(): void {
    updateHeader();
    showError();
    theme = themeColors(root);
    // What the canvas is painted with, for checks of the theme (tests/browser/test_themes_browser.py).
    canvas.dataset.background = theme.background;
    canvas.dataset.ink = theme.foreground;
    drawCanvas();
  }

  /** The canvas alone (a rotation frame): the header and theme stay as they are. */
  function drawCanvas(): void {
    frame = 0;
    renderCount += 1;
    root.dataset.renderCount = String(renderCount);
    const w = width(), h = height();
    const ctx = sizeCanvas(canvas, w, h);
    project();
    drawOverlay();
    if (!ctx || !data) return;
    paintScene(ctx, data, w, h, canvas.width / w);
  }

  /** The scene under the overlay, into any context (the canvas, or an SVG export at `dpr` 1). */
  function paintScene(ctx: DrawContext, d: Decoded, w: number, h: number, dpr: number): void {
    splatCloud(ctx, d.cloud, w, h, dpr);
    drawPortrait(ctx, d);
    drawTrajectories(ctx, d, theme);
    drawReadout(ctx, d, theme);
    drawFixed(ctx, d, theme);
  }

  function schedule(): void {
    if (frame || disposed) return;
    frame = requestAnimationFrame(() => drawCanvas());
  }

  function drawPortrait(ctx: DrawContext, d: Decoded): void {
    const p = d.portrait;
    if (!p || p.length < 2) return;
    ctx.strokeStyle = theme.muted;
    ctx.globalAlpha = 0.3;
    ctx.lineWidth = 1;
    ctx.beginPath();
    const pixels = toPixels(toPlane(p.lines, d.dims, yaw, pitch), fit);
    for (let s = 0; s < p.nStarts; s++) {
      for (let t = 0; t < p.length; t++) {
        const i = (s * p.length + t) * 2;
        if (t === 0) ctx.moveTo(pixels[i]!, pixels[i + 1]!);
        else ctx.lineTo(pixels[i]!, pixels[i + 1]!);
      }
    }
    ctx.stroke();
    ctx.globalAlpha = 1;
  }

  function groupColor(points: Labelled, g: number): string {
    if (points.numeric) return binColor(g);
    return points.categories.length ? categoryColor(g) : UNLABELLED;
  }

  /** The visited states, written into the canvas's pixels (the bottom layer). */
  function splatCloud(ctx: DrawContext, points: Maybe<Labelled>, w: number, h: number, dpr: number): void {
    if (!points || points.steps.length === 0) return;
    const image = ctx.createImageData(Math.round(w * dpr), Math.round(h * dpr));
    const target = { data: image.data, width: image.width, height: image.height };
    for (let g = 0; g + 1 < points.starts.length; g++) {
      const from = points.starts[g]!, to = points.starts[g + 1]!;
      if (from < to) splat(target, px.cloud, points.order, from, to, parseColor(groupColor(points, g)), CLOUD_ALPHA, CLOUD_POINT_PX, dpr);
    }
    ctx.putImageData(image, 0, 0);
  }

  function drawCloud(ctx: DrawContext, points: Maybe<Labelled>, pixels: Float32Array, alpha: number, size: number): void {
    if (!points) return;
    ctx.globalAlpha = alpha;
    const half = size / 2;
    for (let g = 0; g + 1 < points.starts.length; g++) {
      const from = points.starts[g]!, to = points.starts[g + 1]!;
      if (from === to) continue;
      ctx.fillStyle = groupColor(points, g);
      for (let k = from; k < to; k++) {
        const i = points.order[k]!;
        ctx.fillRect(pixels[i * 2]! - half, pixels[i * 2 + 1]! - half, size, size);
      }
    }
    ctx.globalAlpha = 1;
  }

  function drawTrajectories(ctx: DrawContext, d: Decoded, theme: Theme): void {
    const t = d.traj;
    if (!t) return;
    ctx.lineWidth = 1.5;
    for (let s = 0; s + 1 < t.offsets.length; s++) {
      ctx.strokeStyle = theme.foreground;
      ctx.globalAlpha = 0.6;
      ctx.beginPath();
      for (let i = t.offsets[s]!; i < t.offsets[s + 1]!; i++) {
        if (i === t.offsets[s]) ctx.moveTo(px.traj[i * 2]!, px.traj[i * 2 + 1]!);
        else ctx.lineTo(px.traj[i * 2]!, px.traj[i * 2 + 1]!);
      }
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    drawCloud(ctx, t, px.traj, 1, 4);
  }

  function drawArrow(ctx: DrawContext, from: [number, number], to: [number, number]): void {
    const angle = Math.atan2(to[1] - from[1], to[0] - from[0]);
    ctx.beginPath();
    ctx.moveTo(...from);
    ctx.lineTo(...to);
    ctx.moveTo(to[0] - 9 * Math.cos(angle - 0.4), to[1] - 9 * Math.sin(angle - 0.4));
    ctx.lineTo(...to);
    ctx.lineTo(to[0] - 9 * Math.cos(angle + 0.4), to[1] - 9 * Math.sin(angle + 0.4));
    ctx.stroke();
  }

  function drawReadout(ctx: DrawContext, d: Decoded, theme: Theme): void {
    if (!d.readout) return;
    ctx.strokeStyle = theme.threshold;
    ctx.lineWidth = 2.5;
    const from = pixelOfVector(d.readout.origin, null, d.dims);
    const to = pixelOfVector(d.readout.origin, d.readout.direction, d.dims);
    drawArrow(ctx, from, to);
    ctx.fillStyle = theme.threshold;
    ctx.font = `12px ${theme.font}`;
    ctx.fillText("readout", to[0] + 4, to[1] - 4);
  }

  function drawFixed(ctx: DrawContext, d: Decoded, theme: Theme): void {
    const f = d.fixed;
    if (!f) return;
    const n = f.index.length;
    if (f.modes) {
      ctx.strokeStyle = theme.foreground;
      ctx.lineWidth = 1.2;
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        const origin = f.xy.subarray(i * d.dims, (i + 1) * d.dims);
        const mode = f.modes.subarray(i * d.dims, (i + 1) * d.dims);
        const a = pixelOfVector(origin, mode, d.dims, -1), b = pixelOfVector(origin, mode, d.dims, 1);
        ctx.moveTo(...a);
        ctx.lineTo(...b);
      }
      ctx.stroke();
    }
    // one path per class: stable and marginal points (attractors) filled, the others as rings
    for (let code = 0; code < STABILITY.length; code++) {
      const color = STABILITY_COLORS[code]!;
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        if (f.stability[i] !== code) continue;
        const r = radiusForLogQ(f.logQ[i]!, f.qRange[0], f.qRange[1]);
        ctx.moveTo(px.fixed[i * 2]! + r, px.fixed[i * 2 + 1]!);
        ctx.arc(px.fixed[i * 2]!, px.fixed[i * 2 + 1]!, r, 0, 2 * Math.PI);
      }
      if (code <= 1) {
        ctx.fillStyle = color;
        ctx.fill();
        ctx.strokeStyle = theme.background; // a ring of the backdrop sets the dot apart
        ctx.lineWidth = 1;
      } else {
        ctx.strokeStyle = color;
        ctx.lineWidth = 2;
      }
      ctx.stroke();
    }
  }

  /** Where the hovered step's state is drawn (pixels), or null when this view cannot place it. */
  function hoveredPixel(step: number): [number, number] | null {
    const t = trajIndex.get(step);
    if (t !== undefined) return [px.traj[t * 2]!, px.traj[t * 2 + 1]!];
    const c = cloudIndex.get(step);
    if (c !== undefined) return [px.cloud[c * 2]!, px.cloud[c * 2 + 1]!];
    const h = model.get("_hovered");
    if (h && Number(h.step) === step && data) {
      try {
        const xy = decode(h.xy, "float32").array;
        return pixelOfVector(xy, null, data.dims);
      } catch {
        return null;
      }
    }
    return null;
  }

  /** The Selection's brushed range `[start, stop)`, or null when none is selected. */
  function selectedRange(): [number, number] | null {
    const start = Number(sel?.get("start") ?? 0), stop = Number(sel?.get("stop") ?? 0);
    return stop > start ? [start, stop] : null;
  }

  function inRange(step: number, range: [number, number]): boolean {
    return step >= range[0] && step < range[1];
  }

  function countRangePoints(range: [number, number]): number {
    const steps = data?.traj?.steps;
    if (!steps) return 0;
    let n = 0;
    for (let i = 0; i < steps.length; i++) if (inRange(steps[i]!, range)) n++;
    return n;
  }

  /** The brushed range's part of the drawn trajectories, thick in the accent colour. */
  function drawRange(ctx: DrawContext, range: [number, number]): void {
    const t = data?.traj;
    if (!t) return;
    ctx.strokeStyle = theme.accent;
    ctx.fillStyle = theme.accent;
    ctx.lineWidth = 4;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    for (let i = 0; i < t.steps.length; i++) {
      const step = t.steps[i]!;
      if (!inRange(step, range)) continue;
      const x = px.traj[i * 2]!, y = px.traj[i * 2 + 1]!;
      const continues = i > 0 && t.steps[i - 1] === step - 1 && inRange(step - 1, range);
      if (continues) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
      ctx.fillRect(x - 3, y - 3, 6, 6);
    }
    ctx.stroke();
  }

  function drawOverlay(): void {
    const ctx = sizeCanvas(overlay, width(), height());
    const raw = sel?.get("hovered_step");
    const step = raw === null || raw === undefined ? null : Number(raw);
    const at = step === null ? null : hoveredPixel(step);
    root.dataset.hoveredStep = at && step !== null ? String(step) : "";
    root.dataset.hoveredPoint = hit?.kind === "fixed" && data?.fixed ? String(data.fixed.index[hit.index]) : "";
    const range = selectedRange();
    root.dataset.rangePoints = String(range ? countRangePoints(range) : 0);
    if (!ctx) return;
    if (range) drawRange(ctx, range);
    if (at) {
      ctx.strokeStyle = theme.hover;
      ctx.lineWidth = 2.5;
      ctx.beginPath();
      ctx.arc(at[0], at[1], 8, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(at[0] - 13, at[1]);
      ctx.lineTo(at[0] - 9, at[1]);
      ctx.moveTo(at[0] + 9, at[1]);
      ctx.lineTo(at[0] + 13, at[1]);
      ctx.stroke();
    }
    if (hit?.kind === "fixed") {
      ctx.strokeStyle = theme.foreground;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(px.fixed[hit.index * 2]!, px.fixed[hit.index * 2 + 1]!, 10, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }

  // ---------------------------------------------------------------- spectrum panel
  function drawSpectrum(): void {
    const s = model.get("_spectrum");
    panel.replaceChildren();
    if (!s) {
      panel.hidden = true;
      root.dataset.spectrumPoint = "";
      return;
    }
    let real: Float32Array, imag: Float32Array, tau: Float32Array;
    try {
      real = decode(s.real, "float32").array;
      imag = decode(s.imag, "float32").array;
      tau = decode(s.time_constants, "float32").array;
    } catch (error) {
      panel.hidden = false;
      panel.append(el("div", "rnnw-error", `bad spectrum: ${message(error)}`));
      return;
    }
    panel.hidden = false;
    panel.dataset.nEigenvalues = String(real.length);
    root.dataset.spectrumPoint = String(s.index);
    const close = el("button", "rnnw-ssv-close", "×");
    close.title = "close the spectrum";
    on(close, "click", () => {
      model.set("spectrum_point", null);
      model.save_changes();
    });
    const title = el("div", "rnnw-ssv-spectrum-title", `fixed point ${s.index} · ${s.stability} · q ${s.q.toExponential(2)} · attractor ${s.attractor < 0 ? "none" : s.attractor}`);
    let radius = 1.1;
    for (let i = 0; i < real.length; i++) radius = Math.max(radius, 1.05 * Math.hypot(real[i]!, imag[i]!));
    const size = SPECTRUM_SIZE, half = size / 2, k = (half - 8) / radius;
    const svg = svgEl("svg", { class: "rnnw-ssv-spectrum-svg", width: size, height: size, viewBox: `0 0 ${size} ${size}` });
    svg.append(
      svgEl("line", { class: "rnnw-ssv-spectrum-axis", x1: 0, x2: size, y1: half, y2: half }),
      svgEl("line", { class: "rnnw-ssv-spectrum-axis", x1: half, x2: half, y1: 0, y2: size }),
      svgEl("circle", { class: "rnnw-ssv-unit-circle", cx: half, cy: half, r: k }),
    );
    for (let i = 0; i < real.length; i++) {
      const outside = Math.hypot(real[i]!, imag[i]!) > 1;
      const dot = svgEl("circle", { class: `rnnw-ssv-eig${outside ? " rnnw-ssv-eig-unstable" : ""}`, cx: half + real[i]! * k, cy: half - imag[i]! * k, r: 3 });
      dot.append(svgEl("title", {}, `λ = ${real[i]!.toFixed(4)} ${imag[i]! < 0 ? "−" : "+"} ${Math.abs(imag[i]!).toFixed(4)}i · |λ| ${Math.hypot(real[i]!, imag[i]!).toFixed(4)} · τ ${formatTau(tau[i]!)} steps`));
      svg.append(dot);
    }
    const top = Array.from(tau.slice(0, 5), formatTau).join(", ");
    const taus = el("div", "rnnw-ssv-tau", `τ (steps) of the top modes: ${top}`);
    const caption = el("div", "rnnw-ssv-spectrum-caption", `${real.length} eigenvalues of J_rec, unit circle dashed`);
    const key = el("div", "rnnw-legend rnnw-ssv-spectrum-legend");
    key.append(legendItem("|λ| ≤ 1: decays", "dot", EIGEN_INSIDE), legendItem("|λ| > 1: grows", "dot", EIGEN_OUTSIDE));
    panel.append(close, title, svg, taus, caption, key);
  }

  function formatTau(t: number): string {
    return Number.isFinite(t) ? (t >= 100 ? t.toFixed(0) : t.toPrecision(3)) : "∞";
  }

  // ---------------------------------------------------------------- gestures
  function hitAt(x: number, y: number): Hit {
    const f = data?.fixed;
    if (f) {
      const i = nearestPoint(px.fixed, x, y, POINT_TOLERANCE + 3);
      if (i >= 0) return { kind: "fixed", index: i };
    }
    const t = nearestPoint(px.traj, x, y, POINT_TOLERANCE);
    if (t >= 0) return { kind: "traj", index: t };
    const c = nearestPoint(px.cloud, x, y, POINT_TOLERANCE / 2);
    return c >= 0 ? { kind: "cloud", index: c } : null;
  }

  function hoverText(h: Hit): string {
    if (!h || !data) return "";
    if (h.kind === "fixed" && data.fixed) {
      const f = data.fixed;
      const attractor = f.attractor[h.index]!;
      return `fixed point ${f.index[h.index]} · ${STABILITY[f.stability[h.index]!] ?? "?"} · log10 q ${f.logQ[h.index]!.toFixed(1)} · attractor ${attractor < 0 ? "none" : attractor} — click: spectrum`;
    }
    const points = h.kind === "traj" ? data.traj : data.cloud;
    if (!points) return "";
    const label = points.labelText(h.index);
    const seq = h.kind === "traj" && data.traj ? ` · sequence ${data.traj.sequences[trajectoryOf(data.traj.offsets, h.index)]}` : "";
    return `step ${fmt(points.steps[h.index]!)}${seq}${label ? ` · ${label}` : ""}`;
  }

  function setHoveredStep(step: number | null): void {
    if (!sel || (sel.get("hovered_step") ?? null) === step) return;
    sel.set("hovered_step", step);
    hoverSave();
  }

  function onPointerMove(e: PointerEvent): void {
    const { x, y } = local(e);
    if (rotating && data) {
      yaw = rotating.yaw + (x - rotating.x) * DRAG_RADIANS_PER_PX;
      pitch = Math.max(-1.5, Math.min(1.5, rotating.pitch + (y - rotating.y) * DRAG_RADIANS_PER_PX));
      root.dataset.yaw = yaw.toFixed(3);
      schedule();
      return;
    }
    hit = hitAt(x, y);
    hoverBox.textContent = hoverText(hit);
    overlay.style.cursor = hit?.kind === "fixed" ? "pointer" : data?.dims === 3 ? "grab" : "";
    if (hit && hit.kind !== "fixed") {
      const points = hit.kind === "traj" ? data?.traj : data?.cloud;
      if (points) setHoveredStep(points.steps[hit.index]!);
    }
    drawOverlay();
  }

  function onPointerLeave(): void {
    hit = null;
    hoverBox.textContent = "";
    setHoveredStep(null);
    drawOverlay();
  }

  function onPointerDown(e: PointerEvent): void {
    if (e.button !== 0 || !data || data.dims !== 3) return;
    const { x, y } = local(e);
    if (hitAt(x, y)?.kind === "fixed") return;
    rotating = { x, y, yaw, pitch };
    const view = root.ownerDocument.defaultView ?? window;
    const stop = () => {
      rotating = null;
      view.removeEventListener("pointerup", stop);
    };
    view.addEventListener("pointerup", stop, { signal: listeners.signal });
  }

  function onClick(e: MouseEvent): void {
    if (!data?.fixed) return;
    const { x, y } = local(e);
    const h = hitAt(x, y);
    if (h?.kind !== "fixed") return;
    model.set("spectrum_point", data.fixed.index[h.index]!);
    model.save_changes();
  }

  function onPick(): void {
    model.set("condition", Number(picker.value));
    model.save_changes();
  }

  function onDims(): void {
    model.set("dims", Number(dimsPicker.value));
    model.save_changes();
  }

  // ---------------------------------------------------------------- model listeners
  const onData = () => {
    try {
      data = decodeState((key) => model.get(key));
      dataError = "";
      cloudIndex = data.cloud ? indexOfSteps(data.cloud.steps) : new Map();
      trajIndex = data.traj ? indexOfSteps(data.traj.steps) : new Map();
    } catch (error) {
      data = null;
      dataError = `StateSpaceView received bad data: ${message(error)}`;
    }
    hit = null;
    draw();
  };
  const dataEvents = ["_cloud", "_trajectories", "_fixed", "_readout", "_portrait", "dims"];
  const redrawOn = ["_conditions", "_axes", "condition", "height", "error", "message"];
  const onRedraw = () => draw();
  const onSpectrum = () => drawSpectrum();
  const onHovered = () => drawOverlay();
  const unwatchTheme = watchTheme(root, () => draw()); // the canvases read the palette when drawn
  const selection = followSelection({
    model,
    view: "StateSpaceView",
    events: { "change:hovered_step": onHovered, "change:start": onHovered, "change:stop": onHovered },
    assign: (next, error) => {
      sel = next;
      selectionError = error;
    },
    settled: () => draw(),
  });
  const onSelectionRef = () => void selection.rebind();

  const modelEvents = modelListeners(model);
  modelEvents.on(dataEvents, onData);
  modelEvents.on(redrawOn, onRedraw);
  modelEvents.on("_spectrum", onSpectrum);
  modelEvents.on("_hovered", onHovered);
  modelEvents.on("selection", onSelectionRef);
  on(overlay, "pointermove", onPointerMove);
  on(overlay, "pointerleave", onPointerLeave);
  on(overlay, "pointerdown", onPointerDown);
  on(overlay, "click", onClick);
  on(picker, "change", onPick);
  on(dimsPicker, "change", onDims);

  const resize = watchWidth(plot, (w) => {
    measuredWidth = w;
    if (!disposed) draw();
  });

  /** The scene and the brushed range (the overlay's lasting part) for an export, as vectors. */
  function paintExport(ctx: DrawContext): void {
    if (!data) return;
    paintScene(ctx, data, width(), height(), 1);
    const range = selectedRange();
    if (range) drawRange(ctx, range);
  }

  const dropExport = attachExport(model as unknown as ExportModel, header, {
    name: "StateSpaceView",
    svg: () =>
      snapshotSvg(root, {
        painters: new Map([[canvas, paintExport]]),
        skip: (node) => node === header || node === overlay,
      }),
  });
  attachHelp(header, "StateSpaceView", GESTURES, on);

  onData();
  drawSpectrum();
  await selection.rebind();

  return () => {
    disposed = true;
    unwatchTheme();
    selection.dispose();
    if (frame) cancelAnimationFrame(frame);
    hoverSave.cancel();
    listeners.abort();
    resize?.disconnect();
    modelEvents.off();
    dropExport();
    root.remove();
  };
}

export default { render } satisfies AnyWidget<StateSpaceState>;
