// RelevanceBars: one bar per cell sorted by a per-cell score (relevance, response metric),
// coloured by sign, with a draggable threshold line. Clicking bars sets the shared Selection's
// cells, so a SelectView highlights them and a MatchView matches them. The kernel <-> browser
// contract is docs/relevance_bars_contract.md. Names and labels are text only (textContent).
// Given a trace, the kernel turns on a hypothesis box above the bars (lib/hypothesis_box.ts).
import type { AnyWidget, RenderProps } from "@anywidget/types";
import { el, fmt, message } from "../lib/dom";
import { attachHelp, createErrorBox, createHintBox, createNoticeBox, domListeners, guardedRender, legendItem, modelListeners, showErrorText, watchWidth, type Gesture } from "../lib/view";
import { cellsToSave, decodeCells } from "../lib/binary";
import { barAt, barNear, cellsBetween, decodeBars, hoverText, scoreDomain, toggleCell, unionCells, type Bands, type BarsPayload, type DecodedBars } from "../lib/bars";
import { hitsThreshold } from "../lib/hit";
import { formatTick, linearScale, roundTo, tickStep, type LinearScale } from "../lib/scale";
import { followSelection, type SelectionModel } from "../lib/selection";
import { svgEl } from "../lib/svg";
import { attachExport, snapshotSvg, type ExportModel } from "../lib/export";
import { createHypothesisBox, HYPOTHESIS_GESTURES, type HypothesisModel, type TriedEntry } from "../lib/hypothesis_box";

export type RelevanceBarsState = {
  selection: string;
  current: string;
  threshold: number | null;
  score_name: string;
  layer: number;
  kind: string;
  height: number;
  error: string;
  /** A notice that is not an error (a size clamped to its bound), shown in place. */
  message?: string;
  /** What the view shows while it has no bars yet (nothing tried): a neutral hint. */
  hint?: string;
  _names: string[];
  _bars: BarsPayload | null;
  /** Every hypothesis tried in the box, oldest first (with a trace). */
  tried?: TriedEntry[];
  /** The last hypothesis's error, shown under the box. */
  hypothesis_error?: string;
  /** Whether the view shows the hypothesis box (the kernel has a trace). */
  _hypothesis_box?: boolean;
};

export const MARGIN = { top: 10, right: 12, bottom: 34, left: 52 } as const;
/** The plot width used before the element has been laid out (and in jsdom). */
export const FALLBACK_WIDTH = 640;
/** Bars at least this wide get their cell index printed under them. */
export const LABEL_MIN_WIDTH = 16;
const THRESHOLD_GRAB_PX = 5;

/** The gestures the `?` button lists. */
export const GESTURES: readonly Gesture[] = [
  ["click a bar", "selects its cell, or unselects it (in every linked view)"],
  ["shift-drag across bars", "adds every bar passed over to the selection"],
  ["drag the dashed line", "moves the threshold"],
  ["hover a bar", "shows its cell and score"],
  ["scores: …", "switches to another score vector"],
  ["PNG / SVG", "download the view as drawn"],
];

/** What each bar colour means, in the order the legend names them (lib/view.css draws the swatches). */
const SIGN_NAMES: [sign: number, name: string, variable: string][] = [
  [1, "positive relation", "var(--rnnw-bar-positive)"],
  [-1, "negative relation", "var(--rnnw-bar-negative)"],
  [0, "no relation (0)", "var(--rnnw-bar-neutral)"],
];

type Props = Pick<RenderProps<RelevanceBarsState>, "model" | "el">;

const render = guardedRender<Props>("RelevanceBars", mount);

async function mount({ model, el: host }: Props): Promise<() => void> {
  const listeners = domListeners(); // every DOM listener is added with its signal
  const { on } = listeners;

  // ---------------------------------------------------------------- DOM
  const root = el("div", "rnnw-relevance-bars rnnw-view");
  const header = el("div", "rnnw-bars-header");
  const pickerLabel = el("label", "rnnw-bars-picker-label", "scores: ");
  const picker = el("select", "rnnw-bars-picker rnnw-control");
  picker.title = "the score vector shown";
  pickerLabel.append(picker);
  const summary = el("span", "rnnw-bars-summary");
  const hoverBox = el("span", "rnnw-bars-hover");
  header.append(pickerLabel, summary, hoverBox);
  const errorBox = createErrorBox();
  const notice = createNoticeBox();
  const plot = el("div", "rnnw-bars-plot");
  const svg = svgEl("svg", { class: "rnnw-bars-svg" });
  plot.append(svg);
  const legend = el("div", "rnnw-bars-legend rnnw-legend");
  const hypotheses = createHypothesisBox(model as unknown as HypothesisModel, on);
  const hintBox = createHintBox();
  root.append(header, errorBox, notice, hypotheses.element, hintBox, plot, legend);
  host.append(root);

  // ---------------------------------------------------------------- state
  let sel: SelectionModel | null = null;
  let data: DecodedBars | null = null;
  let barsError = "";
  let selectionError = "";
  let disposed = false;
  let namesKey = "";
  let measuredWidth = 0;
  let rects: SVGRectElement[] = []; // by rank
  let hovered = -1; // rank under the pointer
  let span: { from: number; to: number } | null = null; // shift-drag, in ranks
  let thresholdPreview: number | null = null; // while dragging the line
  let suppressClick = false;
  let dropDrag: (() => void) | null = null;
  let bands: Bands = { left: MARGIN.left, width: 0, count: 0 };
  let yScale: LinearScale = linearScale([0, 1], [1, 0]);
  let thresholdLine: SVGLineElement | null = null;
  let thresholdText: SVGTextElement | null = null;

  // ---------------------------------------------------------------- helpers
  const layer = () => Number(model.get("layer")) || 0;
  const kind = () => String(model.get("kind") ?? "h");
  const threshold = (): number | null => {
    if (thresholdPreview !== null) return thresholdPreview;
    const t = model.get("threshold");
    return t === null || t === undefined || !Number.isFinite(Number(t)) ? null : Number(t);
  };

  /** The Selection's cells when it is on this view's layer (cells of other layers are not ours). */
  function selectedCells(): number[] {
    if (!sel || Number(sel.get("layer")) !== layer()) return [];
    return decodeCells(sel.get("cells"));
  }

  function width(): number {
    const w = measuredWidth || plot.clientWidth || root.clientWidth;
    return w > 0 ? w : FALLBACK_WIDTH;
  }

  function local(e: MouseEvent): { x: number; y: number } {
    const box = svg.getBoundingClientRect();
    return { x: e.clientX - box.left, y: e.clientY - box.top };
  }

  // ---------------------------------------------------------------- drawing
  function showError(): void {
    const text = String(model.get("error") ?? "") || barsError || selectionError;
    showErrorText(errorBox, text);
    showErrorText(notice, String(model.get("message") ?? ""));
    const hint = text === "" && !data ? String(model.get("hint") ?? "") : "";
    showErrorText(hintBox, hint);
    plot.hidden = text !== "" || hint !== "";
  }

  function updatePicker(): void {
    const names = (model.get("_names") ?? []).map(String);
    const key = JSON.stringify(names);
    if (key !== namesKey) {
      namesKey = key;
      picker.replaceChildren(...names.map((n) => Object.assign(el("option", "", n), { value: n })));
    }
    picker.value = String(model.get("current") ?? "");
    picker.disabled = names.length < 2;
  }

  function draw(): void {
    updatePicker();
    svg.replaceChildren();
    rects = [];
    thresholdLine = null;
    thresholdText = null;
    const w = width();
    const h = Math.max(MARGIN.top + MARGIN.bottom + 20, Number(model.get("height")) || 240);
    svg.setAttribute("width", String(w));
    svg.setAttribute("height", String(h));
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    root.dataset.current = data?.name ?? "";
    root.dataset.order = data ? Array.from(data.order).join(",") : "";
    if (!data) {
      summary.textContent = "";
      legend.replaceChildren();
      showError();
      return;
    }
    const { scores, order, signs, nCells } = data;
    drawLegend(signs);
    bands = { left: MARGIN.left, width: Math.max(1, w - MARGIN.left - MARGIN.right), count: nCells };
    yScale = linearScale(scoreDomain(scores, threshold()), [h - MARGIN.bottom, MARGIN.top]);
    drawAxes(w, h);
    const bw = bands.width / nCells;
    const gap = bw >= 4 ? Math.min(2, bw * 0.15) : 0;
    const zero = yScale(0);
    const group = svgEl("g", { class: "rnnw-bars" });
    for (let rank = 0; rank < nCells; rank++) {
      const cell = order[rank]!;
      const score = scores[cell]!;
      const y = yScale(score);
      const sign = signs ? signs[cell]! : null;
      const rect = svgEl("rect", {
        class: `rnnw-bar ${sign === null ? "rnnw-bar-plain" : sign > 0 ? "rnnw-bar-positive" : sign < 0 ? "rnnw-bar-negative" : "rnnw-bar-neutral"}`,
        x: bands.left + rank * bw + gap / 2,
        y: Math.min(y, zero),
        width: Math.max(0.5, bw - gap),
        height: Math.max(1, Math.abs(zero - y)),
      });
      rect.dataset.cell = String(cell);
      rect.dataset.rank = String(rank);
      rect.dataset.score = String(score);
      if (sign !== null) rect.dataset.sign = String(sign);
      group.append(rect);
      rects.push(rect);
      if (bw >= LABEL_MIN_WIDTH) {
        const label = svgEl("text", { class: "rnnw-bars-cell-label", x: bands.left + (rank + 0.5) * bw, y: h - MARGIN.bottom + 12, "text-anchor": "middle" }, String(cell));
        group.append(label);
      }
    }
    svg.append(group);
    drawThreshold();
    markSelection();
    markHover();
    showError();
  }

  /** Names the colours drawn: each sign present (or the one colour), the selected cells' outline, the threshold. */
  function drawLegend(signs: Int8Array | null): void {
    const items: HTMLElement[] = [];
    if (signs) {
      const present = new Set(Array.from(signs, Math.sign));
      for (const [sign, name, color] of SIGN_NAMES) if (present.has(sign)) items.push(legendItem(name, "box", color, "rnnw-bars-legend-sign"));
    } else {
      items.push(legendItem(String(model.get("score_name") ?? "score"), "box", "var(--rnnw-bar-plain)", "rnnw-bars-legend-sign"));
    }
    items.push(legendItem("selected cell", "frame", "var(--rnnw-foreground)", "rnnw-bars-legend-selected"));
    if (threshold() !== null) items.push(legendItem("threshold", "dashed", "var(--rnnw-threshold)", "rnnw-bars-legend-threshold"));
    legend.replaceChildren(...items);
  }

  function drawAxes(w: number, h: number): void {
    const axes = svgEl("g", { class: "rnnw-bars-axes" });
    const [lo, hi] = yScale.domain;
    const step = tickStep(lo, hi, 5);
    for (const tick of yScale.ticks(5)) {
      const y = yScale(tick);
      axes.append(svgEl("line", { class: tick === 0 ? "rnnw-bars-zero" : "rnnw-bars-grid", x1: MARGIN.left, x2: w - MARGIN.right, y1: y, y2: y }));
      axes.append(svgEl("text", { class: "rnnw-bars-tick", x: MARGIN.left - 4, y: y + 4, "text-anchor": "end" }, formatTick(tick, step)));
    }
    const yLabel = svgEl("text", { class: "rnnw-bars-axis-label", transform: `translate(12 ${(MARGIN.top + h - MARGIN.bottom) / 2}) rotate(-90)`, "text-anchor": "middle" }, String(model.get("score_name") ?? "score"));
    const xLabel = svgEl("text", { class: "rnnw-bars-axis-label", x: MARGIN.left + bands.width / 2, y: h - 4, "text-anchor": "middle" }, `cells by ${data?.name ?? ""}, best first`);
    axes.append(yLabel, xLabel);
    svg.append(axes);
  }

  function drawThreshold(): void {
    const t = threshold();
    root.dataset.threshold = t === null ? "" : String(t);
    if (t === null) return;
    const y = yScale(t);
    thresholdLine = svgEl("line", { class: "rnnw-bars-threshold", x1: bands.left, x2: bands.left + bands.width, y1: y, y2: y });
    thresholdText = svgEl("text", { class: "rnnw-bars-threshold-label", x: bands.left + bands.width, y: y - 3, "text-anchor": "end" }, `threshold ${t}`);
    svg.append(thresholdLine, thresholdText);
  }

  function markSelection(): void {
    const chosen = new Set(selectedCells());
    const preview = new Set(span && data ? cellsBetween(data.order, span.from, span.to) : []);
    for (const rect of rects) {
      const cell = Number(rect.dataset.cell);
      rect.classList.toggle("rnnw-bar-selected", chosen.has(cell));
      rect.classList.toggle("rnnw-bar-preview", preview.has(cell));
    }
    const shown = [...chosen].filter((c) => !data || c < data.nCells);
    root.dataset.selected = shown.join(",");
    if (data) summary.textContent = `${fmt(data.nCells)} cells · ${fmt(shown.length)} selected · layer ${layer()} ${kind()}`;
  }

  function markHover(): void {
    for (const rect of rects) rect.classList.remove("rnnw-bar-hovered");
    const rect = hovered >= 0 ? rects[hovered] : undefined;
    if (!rect || !data) {
      hoverBox.textContent = "";
      root.dataset.hovered = "";
      return;
    }
    rect.classList.add("rnnw-bar-hovered");
    const cell = data.order[hovered]!;
    hoverBox.textContent = hoverText(cell, data.scores[cell]!);
    root.dataset.hovered = String(cell);
  }

  // ---------------------------------------------------------------- gestures
  function applyCells(next: number[]): void {
    if (!sel) return;
    sel.set("layer", layer());
    sel.set("kind", kind());
    sel.set("cells", cellsToSave(next));
    sel.save_changes();
  }

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
    view.addEventListener("pointermove", move as EventListener, { signal: drag.signal });
    view.addEventListener("pointerup", finish, { signal: drag.signal });
    view.addEventListener("pointercancel", finish, { signal: drag.signal });
  }

  function startThresholdDrag(e: PointerEvent, grabbedAt: number): void {
    const [lo, hi] = yScale.domain;
    const offset = grabbedAt - yScale(threshold() ?? 0); // no jump on grab
    let moved = false;
    suppressClick = true;
    startDrag(
      e,
      (ev) => {
        thresholdPreview = roundTo(yScale.invert(local(ev).y - offset), hi - lo);
        moved = true;
        moveThreshold();
      },
      () => {
        const value = thresholdPreview;
        thresholdPreview = null;
        if (moved && value !== null) {
          model.set("threshold", value);
          model.save_changes();
        }
        draw();
      },
    );
  }

  /** Move the line while dragging, without redrawing the bars (the scale stays fixed). */
  function moveThreshold(): void {
    const t = threshold();
    if (t === null || !thresholdLine || !thresholdText) return;
    const y = String(yScale(t));
    thresholdLine.setAttribute("y1", y);
    thresholdLine.setAttribute("y2", y);
    thresholdText.setAttribute("y", String(yScale(t) - 3));
    thresholdText.textContent = `threshold ${t}`;
    root.dataset.threshold = String(t);
  }

  function startSpan(e: PointerEvent, rank: number): void {
    span = { from: rank, to: rank };
    suppressClick = true;
    markSelection();
    startDrag(
      e,
      (ev) => {
        const to = barNear(bands, local(ev).x);
        if (span && to >= 0 && to !== span.to) {
          span.to = to;
          markSelection();
        }
      },
      () => {
        const s = span;
        span = null;
        if (s && data) applyCells(unionCells(selectedCells(), cellsBetween(data.order, s.from, s.to)));
        markSelection();
      },
    );
  }

  function onPointerDown(e: PointerEvent): void {
    suppressClick = false;
    if (!data || e.button !== 0) return;
    const { x, y } = local(e);
    const t = threshold();
    if (t !== null && hitsThreshold(y, yScale(t), THRESHOLD_GRAB_PX)) {
      startThresholdDrag(e, y);
      return;
    }
    const rank = barAt(bands, x);
    if (e.shiftKey && rank >= 0 && sel) startSpan(e, rank);
  }

  function onClick(e: MouseEvent): void {
    if (suppressClick) {
      suppressClick = false; // the click that ends a drag
      return;
    }
    if (!data || !sel) return;
    const rank = barAt(bands, local(e).x);
    if (rank < 0) return;
    applyCells(toggleCell(selectedCells(), data.order[rank]!));
  }

  function onPointerMove(e: PointerEvent): void {
    const rank = barAt(bands, local(e).x);
    if (rank !== hovered) {
      hovered = rank;
      markHover();
    }
  }

  function onPointerLeave(): void {
    hovered = -1;
    markHover();
  }

  function onPick(): void {
    model.set("current", picker.value);
    model.save_changes();
  }

  // ---------------------------------------------------------------- model listeners
  const onBars = () => {
    try {
      data = decodeBars(model.get("_bars"));
      barsError = "";
    } catch (error) {
      data = null;
      barsError = `RelevanceBars received bad _bars: ${message(error)}`;
    }
    hovered = -1;
    draw();
  };
  const onChange = () => draw();
  const onSelectionChange = () => markSelection(); // hover in other views changes nothing here
  const redrawOn = ["current", "_names", "threshold", "score_name", "layer", "kind", "height", "error", "message", "hint"];
  const selection = followSelection({
    model,
    view: "RelevanceBars",
    events: { "change:cells": onSelectionChange, "change:layer": onSelectionChange },
    assign: (next, error) => {
      sel = next;
      selectionError = error;
    },
    settled: () => draw(),
  });
  const onSelectionRef = () => void selection.rebind();
  const onHypotheses = () => hypotheses.update();

  const modelEvents = modelListeners(model);
  modelEvents.on("_bars", onBars);
  modelEvents.on(redrawOn, onChange);
  modelEvents.on("selection", onSelectionRef);
  modelEvents.on(["tried", "hypothesis_error", "current", "_hypothesis_box"], onHypotheses);
  on(svg, "pointerdown", onPointerDown);
  on(svg, "pointermove", onPointerMove);
  on(svg, "pointerleave", onPointerLeave);
  on(svg, "click", onClick);
  on(picker, "change", onPick);

  const resize = watchWidth(plot, (w) => {
    measuredWidth = w;
    if (!disposed) draw();
  });

  onBars();
  await selection.rebind();

  const dropExport = attachExport(model as unknown as ExportModel, header, {
    name: "RelevanceBars",
    svg: () => snapshotSvg(root, { skip: (node) => node === header || node === hypotheses.element }),
  });
  attachHelp(header, "RelevanceBars", model.get("_hypothesis_box") ? [...GESTURES, ...HYPOTHESIS_GESTURES] : GESTURES, on);

  return () => {
    disposed = true;
    selection.dispose();
    hypotheses.dispose();
    dropDrag?.();
    listeners.abort();
    resize?.disconnect();
    modelEvents.off();
    dropExport();
    root.remove();
  };
}

export default { render } satisfies AnyWidget<RelevanceBarsState>;
