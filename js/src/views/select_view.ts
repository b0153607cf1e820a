// SelectView: hidden-state parallel coordinates (the LSTMVis "select view") on a canvas.
// The kernel <-> browser contract is docs/select_view_contract.md. This file draws `_window`
// and the shared Selection, and turns gestures into `selection.set` (a preview every view sees
// at once) plus `save_changes` (to the kernel) at the moments the contract gives.
import type { AnyWidget, RenderProps } from "@anywidget/types";
import { el, fmt, message } from "../lib/dom";
import { attachHelp, createErrorBox, domListeners, guardedRender, legendItem, modelListeners, showErrorText, watchWidth, type Gesture } from "../lib/view";
import { categoryColor } from "../lib/colormap";
import { watchTheme } from "../lib/theme";
import { cellsToSave, decode, decodeCells, type PackedArray } from "../lib/binary";
import { sizeCanvas, themeColors, type Theme } from "../lib/canvas";
import { attachExport, snapshotSvg, type DrawContext, type ExportModel } from "../lib/export";
import { columnCenter, columnWidth, hitsThreshold, nearestCell, nearestColumn, type CellHit, type Columns } from "../lib/hit";
import { formatTick, linearScale, roundTo, tickStep, type LinearScale } from "../lib/scale";
import { onFractions, previewCells } from "../lib/select_preview";
import { addExample, exampleCounts, examplesInWindow, MAX_EXAMPLES, readExamples, removeExample, type Example } from "../lib/label_examples";
import {
  debounce,
  followSelection,
  readSelection,
  throttle,
  type SelectionModel,
  type SelectionSnapshot,
} from "../lib/selection";

export interface LayerInfo {
  layer: number;
  kinds: string[];
  n_cells: number;
  /** Cells per kind: kinds of other cell groups (a Mamba layer's) differ in width. */
  widths?: Record<string, number>;
}

export type TrackPayload =
  | { name: string; label_type: "categorical"; codes: PackedArray; categories: string[] }
  | { name: string; label_type: "numeric"; values: PackedArray; min: number; max: number };

export interface PredictionsPayload {
  labels: string[]; // row-major [n_columns, k], best first
  probabilities: PackedArray; // float32 [n_columns, k]
}

export interface WindowPayload {
  start: number;
  tokens: string[];
  values: PackedArray;
  sequence_starts: PackedArray;
  sequence: number;
  positions: PackedArray;
  value_range: [number, number];
  layer: number;
  kind: string;
  tracks?: TrackPayload[];
  predictions?: PredictionsPayload | null;
}

export type SelectViewState = {
  selection: string;
  _window: WindowPayload | null;
  window_start: number;
  window_size: number;
  height: number;
  _layers: LayerInfo[];
  _n_steps: number;
  _n_sequences: number;
  error: string;
  select_error?: string;
  message?: string;
  layer?: number | null;
  column_width?: number;
  search_query?: string;
  goto_query?: string;
  _search_request?: number;
  _goto_request?: number;
  _search_hits?: PackedArray | null;
  _plot_width?: number;
  /** Label by example: the token brush adds examples instead of selecting cells. */
  labelling?: boolean;
  /** Labelled step ranges, `{start, stop, label}` (global steps, stop exclusive; lib/label_examples.ts). */
  examples?: Example[];
};

/** Plot margins in CSS px, inside the canvas; the left one holds the tick labels and the handle. */
export const MARGIN = { top: 10, right: 12, bottom: 10, left: 46 } as const;
/** Width used when the container cannot be measured (detached, or jsdom). */
export const FALLBACK_WIDTH = 600;
export const HOVER_SAVE_MS = 150;
export const WHEEL_SAVE_MS = 100;
/** How close (px) the pointer must come to a line to hover or click it. */
export const LINE_TOLERANCE = 8;
const WHEEL_PX_PER_STEP = 40;
/** Zoom: each click multiplies or divides the column width by this, within the limits (px). */
export const ZOOM_FACTOR = 1.5;
export const MIN_COLUMN_WIDTH = 4;
export const MAX_COLUMN_WIDTH = 200;
/** After a drag is released, the preview stays until the kernel's cells arrive or this passes. */
export const PREVIEW_HOLD_MS = 1500;
const PLOT_WIDTH_SAVE_MS = 200;
/** A numeric track's colour at full strength (its cells go from faint to this). */
const TRACK_RGB = "25, 118, 210";

/** The gestures the `?` button lists. */
export const GESTURES: readonly Gesture[] = [
  ["drag across the tokens", "brushes a range: selects the cells on over it (and off around it, see pattern)"],
  ["label by example · L (view focused)", "labelling mode on or off: the brush then adds examples and leaves the selection alone"],
  ["labelling: drag across the tokens", "adds a positive example (green, +)"],
  ["labelling: Shift + drag across the tokens", "adds a negative example (purple, −)"],
  ["click an example (or Enter / Delete on it)", "removes it · clear examples removes them all"],
  ["click a line", "selects its cell, or unselects it (in every linked view)"],
  ["drag the red handle or dashed line", "moves the threshold a cell must pass to count as on"],
  ["hover the plot", "shows the token, step and the cell under the pointer; marks the step in every view"],
  ["wheel or trackpad over the plot", "scrolls through the steps"],
  ["← → · PageUp PageDown (view focused)", "scroll one step · one window"],
  ["‹ seq · seq ›", "previous or next sequence"],
  ["← → · − + buttons", "scroll half a window · zoom the columns out or in"],
  ["pattern ◂+ − · − +▸", "more or fewer steps before or after the range where the cells must be off"],
  ["go to: 120 or 3:45, Enter", "jumps to a step, or to sequence:position"],
  ["find: phrase or /regex/, Enter", "jumps to the next hit (underlined)"],
  ["PNG / SVG", "download the view as drawn"],
];

/** What the plot's colours mean, as legend items (lib/view.css draws the swatches from the palette). */
function plotLegend(): HTMLElement[] {
  return [
    legendItem("cells", "line", "var(--rnnw-muted)"),
    legendItem("selected cells", "line", "var(--rnnw-accent)"),
    legendItem("cell under the pointer", "line", "var(--rnnw-hover)"),
    legendItem("threshold", "dashed", "var(--rnnw-threshold)"),
    legendItem("brushed range", "box", "var(--rnnw-band)"),
    legendItem("must be off (pattern)", "box", "color-mix(in srgb, var(--rnnw-muted) 30%, transparent)"),
    legendItem("share of selected cells on", "ramp", "transparent, color-mix(in srgb, var(--rnnw-accent) 25%, transparent)"),
    legendItem("sequence start", "line", "color-mix(in srgb, var(--rnnw-muted) 60%, transparent)"),
    legendItem("search hit", "line", "var(--rnnw-hover)"),
    legendItem("positive example (+)", "box", "var(--rnnw-positive)", "rnnw-select-legend-example"),
    legendItem("negative example (−, Shift)", "box", "var(--rnnw-negative)", "rnnw-select-legend-example"),
  ];
}

const SELECT_HINT = "drag across the tokens to select the cells on there, or click a line";
const LABEL_HINT = "labelling: drag for a positive example, Shift + drag for a negative one; click one to remove it";

const KIND_NAMES: Record<string, string> = {
  h: "hidden",
  c: "cell",
  i: "input gate",
  f: "forget gate",
  g: "cell input",
  o: "output gate",
  r: "reset gate",
  z: "update gate",
  n: "new gate",
};

interface DecodedTrack {
  name: string;
  labelType: "categorical" | "numeric";
  values: Float32Array | Uint32Array;
  categories: string[];
  min: number;
  max: number;
}

interface DecodedPredictions {
  k: number;
  labels: string[];
  probabilities: Float32Array;
}

interface DecodedWindow {
  tracks: DecodedTrack[];
  predictions: DecodedPredictions | null;
  start: number;
  tokens: string[];
  values: Float32Array;
  nColumns: number;
  nCells: number;
  sequenceStarts: Uint32Array;
  sequence: number;
  positions: Uint32Array;
  valueRange: [number, number];
  layer: number;
  kind: string;
}

function decodeWindow(raw: unknown): DecodedWindow | null {
  if (raw === null || raw === undefined) return null;
  const w = raw as Partial<WindowPayload>;
  const values = decode(w.values, "float32");
  if (values.shape.length !== 2) throw new Error(`values must be 2-D, got shape [${values.shape.join(", ")}]`);
  const [nColumns = 0, nCells = 0] = values.shape;
  if (!Array.isArray(w.tokens) || w.tokens.length !== nColumns) {
    throw new Error(`tokens must list ${nColumns} tokens, got ${Array.isArray(w.tokens) ? w.tokens.length : typeof w.tokens}`);
  }
  const positions = decode(w.positions, "uint32").array;
  if (positions.length !== nColumns) throw new Error(`positions must have ${nColumns} entries, got ${positions.length}`);
  const sequenceStarts = decode(w.sequence_starts, "uint32").array;
  const range = Array.isArray(w.value_range) ? w.value_range.map(Number) : [];
  let lo = range[0] ?? NaN;
  let hi = range[1] ?? NaN;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new Error(`value_range must be two numbers, got ${JSON.stringify(w.value_range)}`);
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  const tracks = (Array.isArray(w.tracks) ? w.tracks : []).map((t): DecodedTrack => {
    const name = String(t?.name ?? "");
    if (t?.label_type === "categorical") {
      const codes = decode(t.codes, "uint32").array;
      if (codes.length !== nColumns) throw new Error(`track ${name} must have ${nColumns} codes, got ${codes.length}`);
      return { name, labelType: "categorical", values: codes, categories: (t.categories ?? []).map(String), min: 0, max: 0 };
    }
    const values = decode((t as { values?: unknown }).values, "float32").array;
    if (values.length !== nColumns) throw new Error(`track ${name} must have ${nColumns} values, got ${values.length}`);
    const n = t as { min?: unknown; max?: unknown };
    return { name, labelType: "numeric", values, categories: [], min: Number(n.min), max: Number(n.max) };
  });
  let predictions: DecodedPredictions | null = null;
  if (w.predictions) {
    const probs = decode(w.predictions.probabilities, "float32");
    const k = probs.shape[1] ?? 0;
    const labels = Array.isArray(w.predictions.labels) ? w.predictions.labels.map(String) : [];
    if (probs.shape[0] !== nColumns || labels.length !== nColumns * k) {
      throw new Error(`predictions must cover ${nColumns} columns, got shape [${probs.shape.join(", ")}] and ${labels.length} labels`);
    }
    predictions = { k, labels, probabilities: probs.array };
  }
  return {
    tracks,
    predictions,
    start: Number(w.start) || 0,
    tokens: w.tokens.map(String),
    values: values.array,
    nColumns,
    nCells,
    sequenceStarts,
    sequence: Number(w.sequence) || 0,
    positions,
    valueRange: [lo, hi],
    layer: Number(w.layer),
    kind: String(w.kind),
  };
}

const WHITESPACE_GLYPHS: Record<string, string> = { "\n": "⏎", "\r": "␍", "\t": "⇥", " ": "␣" };

/** How a token is shown: a whitespace-only token as visible glyphs; line breaks never break the axis. */
export function visibleToken(token: string): string {
  if (token.length > 0 && token.trim() === "") return [...token].map((c) => WHITESPACE_GLYPHS[c] ?? "·").join("");
  return token.replace(/[\n\r\t]/g, (c) => WHITESPACE_GLYPHS[c] ?? c);
}

type Props = Pick<RenderProps<SelectViewState>, "model" | "el">;

const render = guardedRender<Props>("SelectView", mount);

async function mount({ model, el: host }: Props): Promise<() => void> {
  const listeners = domListeners(); // every DOM listener is added with its signal
  const { on } = listeners;
  const windowSize = () => Math.max(1, Number(model.get("window_size")) || 1);

  // ---------------------------------------------------------------- DOM
  const root = el("div", "rnnw-select-view rnnw-view");
  root.tabIndex = 0;
  root.setAttribute("data-lm-suppress-shortcuts", "true"); // JupyterLab: notebook shortcuts off while focused
  root.dataset.renderCount = "0";
  const toolbar = el("div", "rnnw-toolbar");
  const layerSelect = el("select", "rnnw-layer rnnw-control");
  layerSelect.title = "layer";
  const kindSelect = el("select", "rnnw-kind rnnw-control");
  kindSelect.title = "state kind";
  const prevSeq = el("button", "rnnw-prev-seq rnnw-control", "‹ seq");
  prevSeq.title = "previous sequence";
  const nextSeq = el("button", "rnnw-next-seq rnnw-control", "seq ›");
  nextSeq.title = "next sequence";
  const scrollLeft = el("button", "rnnw-scroll-left rnnw-control", "←");
  scrollLeft.title = "scroll left half a window (keys: Left for a step, PageUp for a window)";
  const scrollRight = el("button", "rnnw-scroll-right rnnw-control", "→");
  scrollRight.title = "scroll right half a window (keys: Right for a step, PageDown for a window)";
  const zoomOut = el("button", "rnnw-zoom-out rnnw-control", "−");
  zoomOut.title = "zoom out: narrower columns, more steps";
  const zoomIn = el("button", "rnnw-zoom-in rnnw-control", "+");
  zoomIn.title = "zoom in: wider columns, fewer steps";
  const labelToggle = el("button", "rnnw-label-toggle rnnw-control", "label by example");
  labelToggle.title = "label by example: the brush adds positive examples (Shift + drag: negative) instead of selecting cells (key: L)";
  labelToggle.setAttribute("aria-pressed", "false");
  const clearExamples = el("button", "rnnw-examples-clear rnnw-control", "clear examples");
  clearExamples.title = "remove every labelled example";
  for (const b of [prevSeq, nextSeq, scrollLeft, scrollRight, zoomOut, zoomIn, labelToggle, clearExamples]) b.type = "button";
  const gotoInput = el("input", "rnnw-goto rnnw-control");
  gotoInput.type = "text";
  gotoInput.placeholder = "go to step or seq:pos";
  gotoInput.title = "a step number, or sequence:position; Enter to go";
  const searchInput = el("input", "rnnw-search rnnw-control");
  searchInput.type = "search";
  searchInput.placeholder = "find phrase or /regex/";
  searchInput.title = "find a phrase in the tokens, or a regular expression between slashes (/b(?=a)/); Enter for the next hit";
  const position = el("span", "rnnw-position");
  const notice = el("span", "rnnw-message");
  notice.setAttribute("role", "status");
  toolbar.append(layerSelect, kindSelect, prevSeq, nextSeq, scrollLeft, scrollRight, zoomOut, zoomIn, labelToggle, clearExamples, gotoInput, searchInput, position, notice);
  const errorBox = createErrorBox();
  const selectErrorBox = el("div", "rnnw-select-error"); // not .rnnw-error: the browser tests expect one of those
  selectErrorBox.setAttribute("role", "alert");
  selectErrorBox.hidden = true;
  const body = el("div", "rnnw-body");
  const plotArea = el("div", "rnnw-plot-area");
  const canvas = el("canvas", "rnnw-plot");
  const handle = el("div", "rnnw-threshold-handle");
  handle.title = "drag to set the threshold";
  const tooltip = el("div", "rnnw-tooltip");
  tooltip.hidden = true;
  plotArea.append(canvas, handle, tooltip);
  // Labelled examples, as bands just above the tokens (shown while labelling or when there are any).
  const examplesRow = el("div", "rnnw-examples");
  examplesRow.setAttribute("role", "group");
  examplesRow.setAttribute("aria-label", "labelled examples");
  const examplesName = el("span", "rnnw-examples-name");
  const examplesBands = el("div", "rnnw-examples-bands");
  examplesRow.append(examplesName, examplesBands);
  const tokensBox = el("div", "rnnw-tokens");
  const rowsBox = el("div", "rnnw-rows"); // annotation tracks, then the predictions
  const pattern = el("div", "rnnw-pattern");
  const padBeforeMore = el("button", "rnnw-pad-before-more rnnw-control", "◂+");
  padBeforeMore.title = "one more off step before the range";
  const padBeforeLess = el("button", "rnnw-pad-before-less rnnw-control", "−");
  padBeforeLess.title = "one fewer off step before the range";
  const padAfterLess = el("button", "rnnw-pad-after-less rnnw-control", "−");
  padAfterLess.title = "one fewer off step after the range";
  const padAfterMore = el("button", "rnnw-pad-after-more rnnw-control", "+▸");
  padAfterMore.title = "one more off step after the range";
  for (const b of [padBeforeMore, padBeforeLess, padAfterLess, padAfterMore]) b.type = "button";
  const patternBoxes = el("span", "rnnw-pattern-boxes");
  // Before any selection: what to do, as a neutral hint beside the pattern (never an error).
  const hint = el("span", "rnnw-select-hint", SELECT_HINT);
  pattern.append(el("span", "rnnw-pattern-label", "pattern"), padBeforeMore, padBeforeLess, patternBoxes, padAfterLess, padAfterMore, hint);
  const legend = el("div", "rnnw-select-legend rnnw-legend");
  const tracksLegend = el("span", "rnnw-select-legend-tracks");
  legend.append(...plotLegend(), tracksLegend);
  body.append(plotArea, examplesRow, tokensBox, rowsBox, pattern, legend);
  root.append(toolbar, errorBox, selectErrorBox, body);
  host.append(root);

  // ---------------------------------------------------------------- state
  let sel: SelectionModel | null = null;
  let win: DecodedWindow | null = null;
  let selectionError = "";
  let windowError = "";
  let drawError = "";
  let renderCount = 0;
  let frame: number | null = null;
  let disposed = false;
  let measuredWidth = 0;
  let tokensFor: DecodedWindow | null | undefined; // the window the token elements show
  let rowsFor: DecodedWindow | null | undefined; // the window the track rows show
  let patternKey = "";
  let previewHold: ReturnType<typeof setTimeout> | null = null; // preview kept after a release
  let highlighted: number[] = []; // the cells drawn highlighted in the last draw
  let heat: Float32Array | null = null; // per column, the share of them on
  let layersKey = "";
  let kindsKey = "";
  let hover: { col: number; cell: CellHit | null; x: number; y: number } | null = null;
  let brush: { from: number; to: number } | null = null; // token-axis drag preview, in columns
  let labelBrush: Example | null = null; // labelling: the example being brushed, in global steps
  let examplesKey = ""; // the examples and window the bands show
  let dragging: "threshold" | "brush" | "label" | null = null;
  let suppressClick = false;
  let wheelAcc = 0;
  // Geometry of the last draw, for the pointer handlers.
  let cols: Columns = { left: MARGIN.left, width: 0, count: 0 };
  let yScale: LinearScale = linearScale([-1, 1], [1, 0]);

  const hoverSave = throttle(() => sel?.save_changes(), HOVER_SAVE_MS);
  const wheelSave = debounce(() => model.save_changes(), WHEEL_SAVE_MS);
  const plotWidthSave = debounce(() => model.save_changes(), PLOT_WIDTH_SAVE_MS);

  // ---------------------------------------------------------------- redraw (coalesced per frame)
  const raf = (cb: () => void): number =>
    typeof requestAnimationFrame === "function" ? requestAnimationFrame(cb) : (setTimeout(cb, 16) as unknown as number);
  const cancelRaf = (id: number) => (typeof cancelAnimationFrame === "function" ? cancelAnimationFrame(id) : clearTimeout(id));

  function schedule(): void {
    if (frame === null && !disposed) frame = raf(redraw);
  }

  function redraw(): void {
    frame = null;
    if (disposed) return;
    renderCount += 1;
    root.dataset.renderCount = String(renderCount);
    try {
      draw();
      drawError = "";
    } catch (error) {
      console.error(error);
      drawError = `SelectView could not draw: ${message(error)}`;
    }
    showError();
  }

  function kernelError(): string {
    return String(model.get("error") ?? "");
  }

  function showError(): void {
    const text = kernelError() || selectionError || windowError || drawError;
    showErrorText(errorBox, text);
    body.hidden = text !== "";
    const selectText = text === "" ? String(model.get("select_error") ?? "") : "";
    selectErrorBox.textContent = selectText;
    selectErrorBox.hidden = selectText === "";
    notice.textContent = String(model.get("message") ?? "");
    notice.hidden = notice.textContent === "";
  }

  function width(): number {
    const w = measuredWidth || plotArea.clientWidth || root.clientWidth;
    return w > 0 ? w : FALLBACK_WIDTH;
  }

  function draw(): void {
    const snap = sel ? readSelection(sel) : null;
    updateToolbar(snap);
    root.dataset.windowStart = String(win ? win.start : Number(model.get("window_start")) || 0);
    root.dataset.nCells = String(win ? win.nCells : 0);
    if (snap) root.dataset.threshold = String(snap.threshold);
    root.classList.toggle("rnnw-stale", isStale(snap));
    highlighted = shownCells(snap);
    heat = win && snap ? onFractions(win.values, win.nCells, highlighted, snap.threshold) : null;
    root.dataset.highlighted = highlighted.join(",");
    if (kernelError() !== "") return; // the plot is hidden

    const w = width();
    const h = Math.max(MARGIN.top + MARGIN.bottom + 10, Number(model.get("height")) || 300);
    const plotWidth = Math.max(1, w - MARGIN.left - MARGIN.right);
    cols = { left: MARGIN.left, width: plotWidth, count: win ? win.nColumns : 0 };
    yScale = linearScale(win ? win.valueRange : [-1, 1], [h - MARGIN.bottom, MARGIN.top], { clamp: true });
    plotArea.style.height = `${h}px`;
    tokensBox.style.marginLeft = `${MARGIN.left}px`;
    tokensBox.style.width = `${plotWidth}px`;
    rowsBox.style.width = `${MARGIN.left + plotWidth}px`;
    pattern.style.marginLeft = `${MARGIN.left}px`;
    updateExamples(plotWidth);
    updateTokens(snap);
    updateRows();
    updatePattern(snap);
    handle.hidden = !snap || !win;
    if (snap) handle.style.top = `${yScale(snap.threshold)}px`;
    updateTooltip();

    const labelling = isLabelling();
    hint.textContent = labelling ? LABEL_HINT : SELECT_HINT;
    hint.hidden = !labelling && !!snap && (snap.stop > snap.start || snap.cells.length > 0);
    const theme = themeColors(root); // read now: the theme may have changed
    canvas.dataset.background = theme.background; // what the canvas is painted with (browser tests)
    canvas.dataset.ink = theme.muted; // its text: the tick labels
    const ctx = sizeCanvas(canvas, w, h);
    if (ctx) paint(ctx, theme, snap, plotWidth, h);
  }

  // ---------------------------------------------------------------- selected cells, preview, pattern
  function pinnedLayer(): number | null {
    const v = model.get("layer");
    return v === null || v === undefined || !Number.isFinite(Number(v)) ? null : Number(v);
  }

  function isStale(snap: SelectionSnapshot | null): boolean {
    if (!win || !snap) return false;
    const pinned = pinnedLayer();
    if (pinned === null) return win.layer !== snap.layer || win.kind !== snap.kind;
    const kinds = model.get("_layers")?.find((l) => l.layer === pinned)?.kinds ?? [];
    return win.layer !== pinned || (kinds.includes(snap.kind) && win.kind !== snap.kind);
  }

  /** The Selection's padding, as whole non-negative steps. */
  function pads(): [number, number] {
    const read = (key: "pad_before" | "pad_after", fallback: number) => {
      const v = Number(sel?.get(key));
      return Number.isFinite(v) ? Math.max(0, Math.trunc(v)) : fallback;
    };
    return [read("pad_before", 1), read("pad_after", 0)];
  }

  /** [first step, stop] of the sequence holding a shown step; stop is Infinity when it ends past the window. */
  function sequenceAround(step: number): [number, number] | null {
    if (!win) return null;
    const col = step - win.start;
    if (col < 0 || col >= win.nColumns) return null;
    let stop = Infinity;
    for (const s of win.sequenceStarts) if (s > step && s < stop) stop = s;
    return [step - (win.positions[col] ?? 0), stop];
  }

  /** The step range the cells come from: the brush while brushing, else the Selection's; null for none. */
  function activeRange(snap: SelectionSnapshot): [number, number] | null {
    if (win && brush) return [win.start + Math.min(brush.from, brush.to), win.start + Math.max(brush.from, brush.to) + 1];
    return snap.stop > snap.start ? [snap.start, snap.stop] : null;
  }

  /**
   * The cells drawn highlighted: none when the window shows another layer or kind than the
   * Selection; during a drag (and until the kernel answers its release) the exact preview of
   * select_cells when the window can give it; else the Selection's cells.
   */
  function shownCells(snap: SelectionSnapshot | null): number[] {
    root.dataset.preview = "";
    if (!win || !snap || win.layer !== snap.layer || win.kind !== snap.kind) return [];
    if (dragging !== null || previewHold !== null) {
      const range = activeRange(snap);
      const around = range ? sequenceAround(range[0]) : null;
      if (range && around) {
        const [padBefore, padAfter] = pads();
        const cells = previewCells(win.values, win.nCells, win.start, range[0], range[1], snap.threshold, padBefore, padAfter, around[0], around[1], win.valueRange);
        if (cells) {
          root.dataset.preview = "exact";
          return cells;
        }
      }
    }
    return snap.cells.filter((c) => c < win!.nCells);
  }

  function holdPreview(): void {
    if (previewHold !== null) clearTimeout(previewHold);
    previewHold = setTimeout(() => {
      previewHold = null;
      schedule();
    }, PREVIEW_HOLD_MS);
  }

  function dropPreview(): void {
    if (previewHold !== null) clearTimeout(previewHold);
    previewHold = null;
  }

  /** The padding columns [from, to) before and after the range, clipped to its sequence and the window. */
  function padColumns(snap: SelectionSnapshot | null): [number, number][] {
    if (!win || !snap) return [];
    const range = activeRange(snap);
    if (!range) return [];
    const [padBefore, padAfter] = pads();
    const around = sequenceAround(range[0]) ?? sequenceAround(range[1] - 1) ?? [-Infinity, Infinity];
    const spans: [number, number][] = [
      [Math.max(around[0], range[0] - padBefore), range[0]],
      [range[1], Math.min(around[1], range[1] + padAfter)],
    ];
    return spans
      .map(([a, b]): [number, number] => [Math.max(a, win!.start) - win!.start, Math.min(b, win!.start + win!.nColumns) - win!.start])
      .filter(([a, b]) => b > a);
  }

  /** Columns holding a search hit. */
  function hitColumns(): Set<number> {
    const out = new Set<number>();
    const raw = model.get("_search_hits");
    if (!win || !raw) return out;
    let hits: Uint32Array;
    try {
      hits = decode(raw, "uint32").array;
    } catch {
      return out;
    }
    for (let i = 0; i + 1 < hits.length; i += 2) {
      for (let step = hits[i]!; step < hits[i + 1]!; step++) {
        const col = step - win.start;
        if (col >= 0 && col < win.nColumns) out.add(col);
      }
    }
    return out;
  }

  /** The shaded columns [from, to): the token-axis drag preview, else the Selection's range. */
  function rangeColumns(snap: SelectionSnapshot | null): [number, number] | null {
    if (!win) return null;
    if (brush) return [Math.min(brush.from, brush.to), Math.max(brush.from, brush.to) + 1];
    if (!snap || snap.stop <= snap.start) return null;
    const a = Math.max(snap.start, win.start) - win.start;
    const b = Math.min(snap.stop, win.start + win.nColumns) - win.start;
    return b > a ? [a, b] : null;
  }

  function paint(ctx: DrawContext, theme: Theme, snap: SelectionSnapshot | null, plotWidth: number, h: number): void {
    const top = MARGIN.top;
    const bottom = h - MARGIN.bottom;
    const right = cols.left + plotWidth;
    const cw = columnWidth(cols);
    const vline = (x: number) => {
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
      ctx.stroke();
    };
    ctx.lineCap = "round";
    ctx.lineJoin = "round";

    // y axis: grid lines, labels, axis line
    const count = Math.max(2, Math.round((bottom - top) / 50));
    const step = tickStep(yScale.domain[0], yScale.domain[1], count);
    ctx.font = `10px ${theme.font}`;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.lineWidth = 1;
    for (const t of yScale.ticks(count)) {
      const y = Math.round(yScale(t)) + 0.5;
      ctx.strokeStyle = theme.grid;
      ctx.beginPath();
      ctx.moveTo(cols.left, y);
      ctx.lineTo(right, y);
      ctx.stroke();
      ctx.fillStyle = theme.muted;
      ctx.fillText(formatTick(t, step), cols.left - 5, y);
    }
    ctx.strokeStyle = theme.muted;
    vline(cols.left + 0.5);
    if (!win || !snap) return;

    // heat: the share of the highlighted cells on at each column
    ctx.fillStyle = theme.accent;
    heat?.forEach((f, c) => {
      if (f <= 0) return;
      ctx.globalAlpha = 0.25 * f;
      ctx.fillRect(cols.left + c * cw, top, cw, bottom - top);
    });
    ctx.globalAlpha = 1;

    // while labelling: the examples (and the one being brushed) tint their columns
    if (isLabelling()) {
      for (const e of shownExamples()) {
        ctx.globalAlpha = 0.14;
        ctx.fillStyle = e.label === 1 ? theme.positive : theme.negative;
        ctx.fillRect(cols.left + e.from * cw, top, (e.to - e.from) * cw, bottom - top);
      }
      ctx.globalAlpha = 1;
    }

    const range = rangeColumns(snap);
    if (range) {
      ctx.globalAlpha = 0.45;
      ctx.fillStyle = theme.band;
      ctx.fillRect(cols.left + range[0] * cw, top, (range[1] - range[0]) * cw, bottom - top);
      ctx.globalAlpha = 1;
    }
    // the padding steps, where the selected cells must be off
    ctx.fillStyle = theme.muted;
    ctx.globalAlpha = 0.18;
    for (const [a, b] of padColumns(snap)) ctx.fillRect(cols.left + a * cw, top, (b - a) * cw, bottom - top);
    ctx.globalAlpha = 1;

    ctx.strokeStyle = theme.muted;
    ctx.globalAlpha = 0.6;
    for (const s of win.sequenceStarts) {
      const col = s - win.start;
      if (col > 0 && col < win.nColumns) vline(Math.round(cols.left + col * cw) + 0.5);
    }
    ctx.globalAlpha = 1;

    const { nCells, nColumns, values } = win;
    const traceCell = (cell: number) => {
      for (let c = 0; c < nColumns; c++) {
        const x = columnCenter(cols, c);
        const y = yScale(values[c * nCells + cell] ?? NaN);
        if (nColumns === 1) {
          ctx.moveTo(x - cw / 3, y); // a single column: a short tick instead of an invisible point
          ctx.lineTo(x + cw / 3, y);
        } else if (c === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      }
    };
    // every cell, thin and translucent, as one path
    ctx.strokeStyle = theme.muted;
    ctx.globalAlpha = nCells > 200 ? 0.12 : nCells > 30 ? 0.25 : 0.45;
    ctx.beginPath();
    for (let cell = 0; cell < nCells; cell++) traceCell(cell);
    ctx.stroke();
    ctx.globalAlpha = 1;

    // selected cells on top, then the hovered one
    ctx.strokeStyle = theme.accent;
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (const cell of highlighted) if (cell < nCells) traceCell(cell);
    ctx.stroke();
    if (hover?.cell) {
      ctx.strokeStyle = theme.hover;
      ctx.beginPath();
      traceCell(hover.cell.cell);
      ctx.stroke();
    }

    // the step hovered in any view
    const hoveredCol = snap.hoveredStep === null ? -1 : snap.hoveredStep - win.start;
    if (hoveredCol >= 0 && hoveredCol < nColumns) {
      ctx.strokeStyle = theme.foreground;
      ctx.globalAlpha = 0.5;
      ctx.lineWidth = 1;
      vline(Math.round(columnCenter(cols, hoveredCol)) + 0.5);
      ctx.globalAlpha = 1;
    }

    const ty = yScale(snap.threshold);
    ctx.strokeStyle = theme.threshold;
    ctx.lineWidth = 1.5;
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(cols.left, ty);
    ctx.lineTo(right, ty);
    ctx.stroke();
    ctx.setLineDash([]);
  }

  function updateTokens(snap: SelectionSnapshot | null): void {
    if (tokensFor !== win) {
      tokensFor = win;
      const start = win?.start ?? 0;
      tokensBox.replaceChildren(
        ...(win?.tokens ?? []).map((token, i) => {
          const node = el("span", "rnnw-token", visibleToken(token));
          node.title = token;
          node.dataset.step = String(start + i);
          return node;
        }),
      );
    }
    const range = rangeColumns(snap);
    const padded = padColumns(snap);
    const hits = hitColumns();
    const labelOf = new Map<number, 0 | 1>(); // the label each column carries (the example being brushed last)
    for (const e of shownExamples()) for (let c = e.from; c < e.to; c++) labelOf.set(c, e.label);
    tokensBox.childNodes.forEach((node, i) => {
      const token = node as HTMLElement;
      const label = labelOf.get(i);
      token.dataset.example = label === undefined ? "" : String(label);
      token.classList.toggle("rnnw-token-in-range", !!range && i >= range[0] && i < range[1]);
      token.classList.toggle("rnnw-token-pad", padded.some(([a, b]) => i >= a && i < b));
      token.classList.toggle("rnnw-token-hit", hits.has(i));
      token.dataset.heat = heat && highlighted.length > 0 ? (heat[i] ?? 0).toFixed(3) : "0";
    });
  }

  // ---------------------------------------------------------------- label by example
  function isLabelling(): boolean {
    return model.get("labelling") === true;
  }

  function examples(): Example[] {
    return readExamples(model.get("examples"));
  }

  /** The examples in the window, clipped to it, then the one being brushed (index -1). */
  function shownExamples(): ReturnType<typeof examplesInWindow> {
    if (!win) return [];
    const shown = examplesInWindow(examples(), win.start, win.nColumns);
    if (labelBrush) shown.push(...examplesInWindow([labelBrush], win.start, win.nColumns).map((e) => ({ ...e, index: -1 })));
    return shown;
  }

  function saveExamples(next: Example[]): void {
    model.set("examples", next);
    model.save_changes();
    schedule();
  }

  function toggleLabelling(): void {
    model.set("labelling", !isLabelling());
    model.save_changes();
    schedule();
  }

  function removeAt(index: number): void {
    const all = examples();
    if (index < 0 || index >= all.length) return;
    saveExamples(removeExample(all, index));
  }

  const stepsText = (e: Example) => (e.stop - e.start === 1 ? `step ${fmt(e.start)}` : `steps ${fmt(e.start)}–${fmt(e.stop - 1)}`);

  /** The bands above the tokens, the counts beside them, the toggle and the clear button. */
  function updateExamples(plotWidth: number): void {
    const labelling = isLabelling();
    const all = examples();
    const { positive, negative } = exampleCounts(all);
    root.classList.toggle("rnnw-labelling", labelling);
    root.dataset.labelling = String(labelling);
    labelToggle.setAttribute("aria-pressed", String(labelling));
    clearExamples.disabled = all.length === 0;
    const visible = labelling || all.length > 0;
    examplesRow.hidden = !visible;
    for (const item of legend.querySelectorAll<HTMLElement>(".rnnw-select-legend-example")) item.hidden = !visible;
    examplesRow.style.paddingLeft = `${MARGIN.left}px`;
    examplesName.style.width = `${MARGIN.left - 4}px`;
    examplesBands.style.width = `${plotWidth}px`;
    examplesName.textContent = `+${positive} −${negative}`;
    examplesName.title = `${positive} positive and ${negative} negative example(s) in the whole trace`;
    const shown = shownExamples();
    const key = JSON.stringify([win?.start, win?.nColumns, shown]);
    if (key === examplesKey) return;
    examplesKey = key;
    const n = Math.max(1, win?.nColumns ?? 1);
    examplesBands.replaceChildren(
      ...shown.map((e) => {
        const positiveBand = e.label === 1;
        const band = el("span", `rnnw-example rnnw-example-${positiveBand ? "positive" : "negative"}`);
        band.style.left = `${(100 * e.from) / n}%`;
        band.style.width = `${(100 * (e.to - e.from)) / n}%`;
        band.dataset.start = String(e.start);
        band.dataset.stop = String(e.stop);
        band.dataset.label = String(e.label);
        const what = `${positiveBand ? "positive" : "negative"} example, ${stepsText(e)}`;
        band.append(el("span", "rnnw-example-sign", positiveBand ? "+" : "−"));
        if (e.index < 0) {
          band.classList.add("rnnw-example-pending"); // being brushed
          band.title = what;
          return band;
        }
        band.append(el("span", "rnnw-example-remove", "×"));
        band.dataset.index = String(e.index);
        band.title = `${what}: click to remove`;
        band.tabIndex = 0;
        band.setAttribute("role", "button");
        band.setAttribute("aria-label", `remove the ${what}`);
        return band;
      }),
    );
  }

  function onExampleClick(e: MouseEvent): void {
    const band = (e.target as Element | null)?.closest<HTMLElement>(".rnnw-example[data-index]");
    if (band) removeAt(Number(band.dataset.index));
  }

  function onExampleKey(e: KeyboardEvent): void {
    const band = (e.target as Element | null)?.closest<HTMLElement>(".rnnw-example[data-index]");
    if (!band || !["Enter", " ", "Delete", "Backspace"].includes(e.key)) return;
    e.preventDefault();
    e.stopPropagation();
    removeAt(Number(band.dataset.index));
    root.focus(); // the band is gone; the keys keep working in the view
  }

  function updateRows(): void {
    if (rowsFor === win) return;
    rowsFor = win;
    const rows: HTMLElement[] = [];
    const keys: HTMLElement[] = []; // the tracks' and predictions' colours, for the legend
    const row = (className: string, name: string, cells: HTMLElement[]) => {
      const node = el("div", `rnnw-row ${className}`);
      node.style.paddingLeft = `${MARGIN.left}px`;
      const label = el("span", "rnnw-row-name", name);
      label.title = name;
      label.style.width = `${MARGIN.left - 4}px`;
      const box = el("div", "rnnw-row-cells");
      box.append(...cells);
      node.append(label, box);
      return node;
    };
    for (const track of win?.tracks ?? []) {
      const seen = new Set<number>();
      const cells = Array.from(track.values, (v) => {
        const cell = el("span", "rnnw-track-cell");
        if (track.labelType === "categorical") {
          const label = track.categories[v] ?? String(v);
          cell.title = `${track.name}: ${label}`;
          cell.dataset.label = label;
          cell.style.backgroundColor = categoryColor(v); // the colours the other views give the same track
          seen.add(v);
        } else {
          const span = track.max - track.min;
          const t = span > 0 ? Math.min(1, Math.max(0, (v - track.min) / span)) : 0.5;
          cell.title = `${track.name}: ${v.toPrecision(3)}`;
          cell.dataset.value = String(v);
          cell.style.backgroundColor = `rgba(${TRACK_RGB}, ${(0.05 + 0.9 * t).toFixed(3)})`;
        }
        return cell;
      });
      if (track.labelType === "categorical") {
        for (const code of [...seen].sort((a, b) => a - b)) keys.push(legendItem(`${track.name}: ${track.categories[code] ?? code}`, "box", categoryColor(code), "rnnw-select-legend-track"));
      } else {
        const range = `${track.min.toPrecision(3)} … ${track.max.toPrecision(3)}`;
        keys.push(legendItem(`${track.name}: ${range}`, "ramp", `rgba(${TRACK_RGB}, 0.05), rgba(${TRACK_RGB}, 0.95)`, "rnnw-select-legend-track"));
      }
      const node = row(`rnnw-track rnnw-track-${track.labelType}`, track.name, cells);
      node.dataset.track = track.name;
      rows.push(node);
    }
    const predictions = win?.predictions;
    if (win && predictions && predictions.k > 0) {
      const cells = win.tokens.map((_, col) => {
        const labels = predictions.labels.slice(col * predictions.k, (col + 1) * predictions.k);
        const probs = Array.from(predictions.probabilities.subarray(col * predictions.k, (col + 1) * predictions.k));
        const cell = el("span", "rnnw-prediction", visibleToken(labels[0] ?? ""));
        const p = probs[0] ?? 0;
        cell.dataset.probability = p.toFixed(3);
        // The probability as the strength of the background, so the text stays readable.
        cell.style.setProperty("--rnnw-p", String(Math.max(0, Math.min(1, p))));
        cell.title = labels.map((label, i) => `${JSON.stringify(label)} ${(probs[i] ?? 0).toFixed(3)}`).join("\n");
        return cell;
      });
      rows.push(row("rnnw-predictions", "predicted", cells));
      keys.push(legendItem("predicted token: probability 0 … 1", "ramp", "transparent, color-mix(in srgb, var(--rnnw-accent) 45%, transparent)", "rnnw-select-legend-track"));
    }
    rowsBox.replaceChildren(...rows);
    tracksLegend.replaceChildren(...keys);
    rowsBox.hidden = rows.length === 0;
  }

  function updatePattern(snap: SelectionSnapshot | null): void {
    const [padBefore, padAfter] = pads();
    const length = snap && snap.stop > snap.start ? snap.stop - snap.start : 0;
    padBeforeLess.disabled = !sel || padBefore <= 0;
    padAfterLess.disabled = !sel || padAfter <= 0;
    padBeforeMore.disabled = padAfterMore.disabled = !sel;
    pattern.dataset.padBefore = String(padBefore);
    pattern.dataset.padAfter = String(padAfter);
    const key = `${padBefore},${padAfter},${length}`;
    if (key === patternKey) return;
    patternKey = key;
    const SHOWN = 6;
    const offs = (n: number, where: string) => {
      const boxes = Array.from({ length: Math.min(n, SHOWN) }, () => {
        const box = el("span", "rnnw-pattern-box rnnw-pattern-off");
        box.title = `off ${where} the range`;
        return box;
      });
      if (n > SHOWN) boxes.push(el("span", "rnnw-pattern-count", `×${n}`));
      return boxes;
    };
    const on = el("span", "rnnw-pattern-box rnnw-pattern-on", length > 0 ? `on ×${length}` : "on");
    on.title = length > 0 ? `on over the ${length} brushed steps` : "brush steps on the token axis";
    patternBoxes.replaceChildren(...offs(padBefore, "before"), on, ...offs(padAfter, "after"));
    patternBoxes.title = `off ${padBefore} step(s) before, on over the range, off ${padAfter} step(s) after`;
  }

  function updateToolbar(snap: SelectionSnapshot | null): void {
    const raw = model.get("_layers");
    const layers = Array.isArray(raw) ? raw : [];
    const key = JSON.stringify(layers);
    if (key !== layersKey) {
      layersKey = key;
      layerSelect.replaceChildren(
        ...layers.map((l) => {
          const option = el("option", "", `layer ${l.layer} (${l.n_cells} cells)`);
          option.value = String(l.layer);
          return option;
        }),
      );
    }
    const pinned = pinnedLayer();
    const layer = pinned ?? snap?.layer ?? layers[0]?.layer ?? 0;
    if (layerSelect.value !== String(layer)) layerSelect.value = String(layer);
    const shownLayer = layers.find((l) => l.layer === layer);
    const kinds = shownLayer?.kinds ?? [];
    const widths = shownLayer?.widths ?? {};
    const severalWidths = new Set(Object.values(widths)).size > 1;
    const kKey = JSON.stringify([kinds, widths]);
    if (kKey !== kindsKey) {
      kindsKey = kKey;
      kindSelect.replaceChildren(
        ...kinds.map((k) => {
          const parts = [KIND_NAMES[k], severalWidths ? `${widths[k]} cells` : undefined];
          const detail = parts.filter((p) => p !== undefined).join(", ");
          const option = el("option", "", detail ? `${k} (${detail})` : k);
          option.value = k;
          return option;
        }),
      );
    }
    const kind = pinned !== null && win && !kinds.includes(snap?.kind ?? "") ? win.kind : snap?.kind;
    if (kind !== undefined && kindSelect.value !== kind) kindSelect.value = kind;

    const nSequences = Number(model.get("_n_sequences")) || 0;
    const nSteps = Number(model.get("_n_steps")) || 0;
    const sequence = snap?.sequence ?? 0;
    layerSelect.disabled = kindSelect.disabled = !sel;
    if (pinned !== null) layerSelect.disabled = true; // this view shows one layer
    root.dataset.layer = String(layer);
    const columnPx = Number(model.get("column_width")) || 0;
    zoomIn.disabled = columnPx >= MAX_COLUMN_WIDTH;
    zoomOut.disabled = columnPx > 0 && columnPx <= MIN_COLUMN_WIDTH;
    prevSeq.disabled = !sel || sequence <= 0;
    nextSeq.disabled = !sel || sequence >= nSequences - 1;
    const windowStart = Number(model.get("window_start")) || 0;
    scrollLeft.disabled = windowStart <= 0;
    scrollRight.disabled = windowStart >= maxWindowStart();
    // The sequence in focus (the Selection's, 0-based like Python) and the steps shown.
    const focus = `sequence ${fmt(sequence)} (of ${fmt(nSequences)})`;
    position.textContent = win
      ? `${focus} · steps ${fmt(win.start)}–${fmt(win.start + win.nColumns)} of ${fmt(nSteps)}`
      : focus;
  }

  // ---------------------------------------------------------------- hover and tooltip
  function sequenceOfColumn(col: number): [number, number] {
    if (!win) return [0, 0];
    const step = win.start + col;
    let sequence = win.sequence;
    for (const s of win.sequenceStarts) if (s > win.start && s <= step) sequence++;
    return [sequence, win.positions[col] ?? 0];
  }

  function updateTooltip(): void {
    if (!hover || !win || hover.col >= win.nColumns || dragging) {
      tooltip.hidden = true;
      return;
    }
    const [sequence, pos] = sequenceOfColumn(hover.col);
    const lines = [
      `${JSON.stringify(visibleToken(win.tokens[hover.col] ?? ""))}  step ${fmt(win.start + hover.col)}`,
      `sequence:position ${sequence}:${pos}`,
    ];
    if (hover.cell) lines.push(`cell ${hover.cell.cell} = ${hover.cell.value.toPrecision(4)}`);
    tooltip.textContent = lines.join("\n");
    tooltip.hidden = false;
    const flip = hover.x + 14 + tooltip.offsetWidth > width();
    tooltip.style.left = `${flip ? hover.x - 14 - tooltip.offsetWidth : hover.x + 14}px`;
    tooltip.style.top = `${hover.y + 14}px`;
  }

  function local(e: MouseEvent, target: Element): { x: number; y: number } {
    const rect = target.getBoundingClientRect();
    return { x: e.clientX - rect.left, y: e.clientY - rect.top };
  }

  function hitAt(x: number, y: number): { col: number; cell: CellHit | null } | null {
    if (!win) return null;
    const col = nearestColumn(cols, x);
    return col < 0 ? null : { col, cell: nearestCell(win.values, win.nCells, col, y, yScale, LINE_TOLERANCE) };
  }

  function setHoveredStep(step: number | null): void {
    if (!sel || (sel.get("hovered_step") ?? null) === step) return;
    sel.set("hovered_step", step);
    hoverSave();
  }

  function onCanvasMove(e: PointerEvent): void {
    if (dragging) return;
    const { x, y } = local(e, canvas);
    const hit = hitAt(x, y);
    const nearThreshold = !!sel && !!win && hitsThreshold(y, yScale(readSelection(sel).threshold));
    canvas.style.cursor = nearThreshold ? "ns-resize" : hit?.cell ? "pointer" : "";
    if (!hit || !win) return onCanvasLeave();
    hover = { ...hit, x, y };
    setHoveredStep(win.start + hit.col);
    schedule();
  }

  function onCanvasLeave(): void {
    if (hover === null && (sel?.get("hovered_step") ?? null) === null) return;
    hover = null;
    setHoveredStep(null);
    schedule();
  }

  function onCanvasClick(e: MouseEvent): void {
    if (suppressClick) {
      suppressClick = false; // the click that ends a threshold drag on the canvas
      return;
    }
    const { x, y } = local(e, canvas);
    const cell = hitAt(x, y)?.cell?.cell;
    if (!sel || !win || cell === undefined) return;
    const snap = readSelection(sel);
    if (win.layer !== snap.layer || win.kind !== snap.kind) return; // cells of another layer
    const cells = decodeCells(sel.get("cells"));
    const next = cells.includes(cell) ? cells.filter((c) => c !== cell) : [...cells, cell].sort((a, b) => a - b);
    sel.set("cells", cellsToSave(next));
    sel.save_changes();
  }

  // ---------------------------------------------------------------- drags
  let dropDrag: (() => void) | null = null;

  function startDrag(e: PointerEvent, move: (e: PointerEvent) => void, end: () => void): void {
    e.preventDefault();
    dropDrag?.();
    const view = root.ownerDocument.defaultView ?? window;
    const drag = new AbortController();
    const finish = () => {
      drag.abort();
      dropDrag = null;
      end();
    };
    dropDrag = () => drag.abort(); // on cleanup: drop the listeners without committing
    // Listening on the window keeps the drag alive when the pointer leaves the element.
    view.addEventListener("pointermove", move as EventListener, { signal: drag.signal });
    view.addEventListener("pointerup", finish, { signal: drag.signal });
    view.addEventListener("pointercancel", finish, { signal: drag.signal });
  }

  function startThresholdDrag(e: PointerEvent, fromCanvas: boolean): void {
    if (!sel || !win || e.button !== 0) return;
    const selection = sel;
    const offset = local(e, canvas).y - yScale(readSelection(selection).threshold); // no jump on grab
    let moved = false;
    dragging = "threshold";
    suppressClick = fromCanvas;
    hover = null;
    startDrag(
      e,
      (ev) => {
        const [lo, hi] = yScale.domain;
        const value = roundTo(yScale.invert(local(ev, canvas).y - offset), hi - lo);
        if (value === selection.get("threshold")) return;
        moved = true;
        selection.set("threshold", value);
      },
      () => {
        dragging = null;
        if (moved) {
          holdPreview(); // until the kernel's select_cells arrives
          selection.save_changes();
        }
        schedule();
      },
    );
    schedule();
  }

  function onCanvasDown(e: PointerEvent): void {
    suppressClick = false;
    if (sel && hitsThreshold(local(e, canvas).y, yScale(readSelection(sel).threshold))) startThresholdDrag(e, true);
  }

  function startLabelBrush(e: PointerEvent): void {
    if (!win || e.button !== 0) return;
    const at = (ev: PointerEvent) => (win ? win.start + nearestColumn({ ...cols, left: 0 }, local(ev, tokensBox).x) : -1);
    const from = at(e);
    if (from < (win?.start ?? 0)) return;
    const label: 0 | 1 = e.shiftKey ? 0 : 1; // Shift: a negative example
    const span = (to: number): Example => ({ start: Math.min(from, to), stop: Math.max(from, to) + 1, label });
    labelBrush = span(from);
    dragging = "label";
    startDrag(
      e,
      (ev) => {
        const to = at(ev);
        if (!labelBrush || to < (win?.start ?? 0)) return;
        const next = span(to);
        if (next.start === labelBrush.start && next.stop === labelBrush.stop) return;
        labelBrush = next;
        schedule();
      },
      () => {
        const made = labelBrush;
        labelBrush = null;
        dragging = null;
        if (made) {
          const next = addExample(examples(), made);
          if (next) saveExamples(next);
          else {
            // A notice in place, not saved: the kernel's next message replaces it.
            model.set("message", `at most ${fmt(MAX_EXAMPLES)} examples: remove some (click one, or clear examples) to add another`);
            showError();
          }
        }
        schedule();
      },
    );
    schedule();
  }

  function onTokensDown(e: PointerEvent): void {
    if (isLabelling()) return startLabelBrush(e);
    if (!sel || !win || e.button !== 0) return;
    const selection = sel;
    const at = (ev: PointerEvent) => nearestColumn({ ...cols, left: 0 }, local(ev, tokensBox).x);
    const from = at(e);
    if (from < 0) return;
    brush = { from, to: from };
    dragging = "brush";
    startDrag(
      e,
      (ev) => {
        const to = at(ev);
        if (brush && to !== brush.to) {
          brush.to = to;
          schedule();
        }
      },
      () => {
        const b = brush;
        brush = null;
        dragging = null;
        if (b && win) {
          selection.set("start", win.start + Math.min(b.from, b.to));
          selection.set("stop", win.start + Math.max(b.from, b.to) + 1);
          holdPreview();
          selection.save_changes();
        }
        schedule();
      },
    );
    schedule();
  }

  // ---------------------------------------------------------------- scrolling
  function maxWindowStart(): number {
    return Math.max(0, (Number(model.get("_n_steps")) || 0) - windowSize());
  }

  function scrollBy(delta: number, debounced: boolean): void {
    const current = Number(model.get("window_start")) || 0;
    const next = Math.min(Math.max(current + delta, 0), maxWindowStart());
    if (next === current) return;
    model.set("window_start", next);
    if (debounced) return wheelSave();
    wheelSave.cancel();
    model.save_changes();
  }

  function onWheel(e: WheelEvent): void {
    const delta = Math.abs(e.deltaX) > Math.abs(e.deltaY) ? e.deltaX : e.deltaY;
    if (delta === 0) return;
    e.preventDefault();
    if (Math.sign(delta) !== Math.sign(wheelAcc)) wheelAcc = 0;
    wheelAcc += (e.deltaMode === 1 ? delta * 16 : e.deltaMode === 2 ? delta * 400 : delta) / WHEEL_PX_PER_STEP;
    const steps = Math.trunc(wheelAcc);
    if (steps === 0) return;
    wheelAcc -= steps;
    scrollBy(steps, true);
  }

  function onKey(e: KeyboardEvent): void {
    if (e.target instanceof HTMLSelectElement || e.target instanceof HTMLInputElement || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === "l" || e.key === "L") {
      e.preventDefault();
      e.stopPropagation();
      return toggleLabelling();
    }
    const delta = { ArrowLeft: -1, ArrowRight: 1, PageUp: -windowSize(), PageDown: windowSize() }[e.key];
    if (delta === undefined) return;
    e.preventDefault();
    e.stopPropagation();
    scrollBy(delta, false);
  }

  // ---------------------------------------------------------------- toolbar actions
  function stepSequence(delta: number): void {
    if (!sel) return;
    const current = readSelection(sel).sequence;
    const last = Math.max(0, (Number(model.get("_n_sequences")) || 0) - 1);
    const next = Math.min(Math.max(current + delta, 0), last);
    if (next === current) return;
    sel.set("sequence", next);
    sel.save_changes();
  }

  function onLayerChange(): void {
    if (!sel) return;
    const layer = Number(layerSelect.value);
    const kinds = model.get("_layers")?.find((l) => l.layer === layer)?.kinds ?? [];
    sel.set("layer", layer);
    // Keep the kind valid for the new layer, in the same message to the kernel.
    const first = kinds[0];
    if (first !== undefined && !kinds.includes(String(sel.get("kind")))) sel.set("kind", first);
    sel.save_changes();
  }

  function onKindChange(): void {
    if (!sel) return;
    sel.set("kind", kindSelect.value);
    sel.save_changes();
  }

  function setPad(key: "pad_before" | "pad_after", delta: number): void {
    if (!sel) return;
    const [padBefore, padAfter] = pads();
    const next = Math.max(0, (key === "pad_before" ? padBefore : padAfter) + delta);
    if (next === Number(sel.get(key))) return;
    sel.set(key, next);
    holdPreview();
    sel.save_changes();
  }

  /** Enter in the go-to or search input: the query and a new request number, in one message. */
  function submit(input: HTMLInputElement, query: "goto_query" | "search_query", request: "_goto_request" | "_search_request"): void {
    model.set(query, input.value.trim());
    model.set(request, (Number(model.get(request)) || 0) + 1);
    model.save_changes();
  }

  function plotWidth(): number {
    return Math.max(1, Math.round(width() - MARGIN.left - MARGIN.right));
  }

  function zoom(factor: number): void {
    const current = Number(model.get("column_width")) || plotWidth() / windowSize();
    const next = Math.round(Math.min(MAX_COLUMN_WIDTH, Math.max(MIN_COLUMN_WIDTH, current * factor)));
    if (next === Number(model.get("column_width"))) return;
    model.set("_plot_width", plotWidth());
    model.set("column_width", next);
    plotWidthSave.cancel();
    model.save_changes();
  }

  // ---------------------------------------------------------------- model listeners
  const onWindow = () => {
    try {
      win = decodeWindow(model.get("_window"));
      windowError = "";
    } catch (error) {
      win = null;
      windowError = `SelectView received a bad _window: ${message(error)}`;
    }
    hover = null;
    brush = null;
    schedule();
  };
  const onChange = () => schedule();
  const onCells = () => dropPreview(); // the kernel's (or a click's) cells replace the preview
  const redrawOn = [
    "error",
    "window_start",
    "window_size",
    "height",
    "_layers",
    "_n_steps",
    "_n_sequences",
    "select_error",
    "message",
    "layer",
    "column_width",
    "_search_hits",
    "labelling",
    "examples",
  ];
  const selection = followSelection({
    model,
    view: "SelectView",
    events: { "change:cells": onCells, change: onChange },
    assign: (next, error) => {
      sel = next;
      selectionError = error;
    },
    settled: () => schedule(),
  });
  const onSelectionRef = () => void selection.rebind();

  const modelEvents = modelListeners(model);
  modelEvents.on("_window", onWindow);
  modelEvents.on("selection", onSelectionRef);
  modelEvents.on(redrawOn, onChange);

  const halfWindow = () => Math.max(1, Math.floor(windowSize() / 2));
  on(layerSelect, "change", onLayerChange);
  on(kindSelect, "change", onKindChange);
  on(prevSeq, "click", () => stepSequence(-1));
  on(nextSeq, "click", () => stepSequence(1));
  on(scrollLeft, "click", () => scrollBy(-halfWindow(), false));
  on(scrollRight, "click", () => scrollBy(halfWindow(), false));
  on(zoomIn, "click", () => zoom(ZOOM_FACTOR));
  on(zoomOut, "click", () => zoom(1 / ZOOM_FACTOR));
  on(padBeforeMore, "click", () => setPad("pad_before", 1));
  on(padBeforeLess, "click", () => setPad("pad_before", -1));
  on(padAfterMore, "click", () => setPad("pad_after", 1));
  on(padAfterLess, "click", () => setPad("pad_after", -1));
  on(gotoInput, "keydown", (e: KeyboardEvent) => {
    if (e.key === "Enter") submit(gotoInput, "goto_query", "_goto_request");
  });
  on(searchInput, "keydown", (e: KeyboardEvent) => {
    if (e.key === "Enter") submit(searchInput, "search_query", "_search_request");
  });
  on(root, "keydown", onKey);
  on(canvas, "pointermove", onCanvasMove);
  on(canvas, "pointerleave", onCanvasLeave);
  on(canvas, "pointerdown", onCanvasDown);
  on(canvas, "click", onCanvasClick);
  on(handle, "pointerdown", (e: PointerEvent) => startThresholdDrag(e, false));
  on(tokensBox, "pointerdown", onTokensDown);
  on(labelToggle, "click", toggleLabelling);
  on(clearExamples, "click", () => saveExamples([]));
  on(examplesBands, "click", onExampleClick);
  on(examplesBands, "keydown", onExampleKey);
  on(plotArea, "wheel", onWheel, { passive: false });

  const resize = watchWidth(plotArea, (w) => {
    measuredWidth = w;
    if (plotWidth() !== Number(model.get("_plot_width"))) {
      model.set("_plot_width", plotWidth()); // the kernel fits window_size to it when zoomed
      plotWidthSave();
    }
    schedule();
  });

  const unwatchTheme = watchTheme(root, () => schedule());

  const dropExport = attachExport(model as unknown as ExportModel, toolbar, {
    name: "SelectView",
    svg: () =>
      snapshotSvg(root, {
        painters: new Map([[canvas, (ctx: DrawContext) => paint(ctx, themeColors(root), sel ? readSelection(sel) : null, cols.width, canvas.clientHeight || Number(model.get("height")) || 300)]]),
        skip: (node) => node === toolbar || node === handle || node === tooltip || node === hint,
      }),
  });
  attachHelp(toolbar, "SelectView", GESTURES, on);

  onWindow();
  await selection.rebind();
  showError();

  return () => {
    disposed = true;
    unwatchTheme();
    selection.dispose();
    if (frame !== null) cancelRaf(frame);
    frame = null;
    dropDrag?.();
    listeners.abort();
    resize?.disconnect();
    hoverSave.cancel();
    plotWidthSave.cancel();
    dropPreview();
    wheelSave.flush(); // a scroll the user made still reaches the kernel
    modelEvents.off();
    dropExport();
    root.remove();
  };
}

export default { render } satisfies AnyWidget<SelectViewState>;
