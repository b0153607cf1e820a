// ResponseView (its curves half, ResponseCurves): the shown cell's step and sine responses (input
// and output over time, one panel per stimulus) and the distribution of one metric over the cells
// as a sorted curve, the shown and the selected cells marked. Clicking the curve selects a cell in
// the shared Selection; the kernel answers with that cell's curves. The ranking bars are the
// shared RelevanceBars, next to this view. Contract: docs/response_view_contract.md.
import type { AnyWidget, RenderProps } from "@anywidget/types";
import { el, fmt, message } from "../lib/dom";
import { attachHelp, createErrorBox, createNoticeBox, domListeners, guardedRender, legendItem, modelListeners, showErrorText, watchWidth, type Gesture } from "../lib/view";
import { cellsToSave, decodeCells } from "../lib/binary";
import {
  cellSummary,
  clickedCells,
  decodeCurves,
  decodeDistribution,
  distributionHover,
  extent,
  rankNear,
  rankOf,
  rankX,
  type CurvesPayload,
  type DecodedCurves,
  type DecodedDistribution,
  type DistributionPayload,
  type Panel,
} from "../lib/response";
import { formatTick, linearScale, tickStep, type LinearScale } from "../lib/scale";
import { followSelection, type SelectionModel } from "../lib/selection";
import { linePath, svgEl } from "../lib/svg";
import { attachExport, snapshotSvg, type ExportModel } from "../lib/export";

export type ResponseViewState = {
  selection: string;
  metric: string;
  cell: number;
  layer: number;
  height: number;
  error: string;
  /** A notice that is not an error (a size clamped to its bound), shown in place. */
  message?: string;
  _metrics: string[];
  _curves: CurvesPayload | null;
  _distribution: DistributionPayload | null;
};

export const MARGIN = { top: 22, right: 44, bottom: 30, left: 48 } as const;
/** The width used before the element has been laid out (and in jsdom). */
export const FALLBACK_WIDTH = 640;
/** The metrics printed for the shown cell, when the response has them. */
export const SUMMARY_METRICS = ["settling_time", "delta", "amplitude", "frequency", "pearson"] as const;
/** The gestures the `?` button lists (the ranking bars under the curves have their own). */
export const GESTURES: readonly Gesture[] = [
  ["click the sorted curve", "shows that cell's responses and selects it (in every linked view)"],
  ["shift-click the sorted curve", "adds the cell to the selection, or removes it"],
  ["hover the sorted curve", "shows the cell, its value and its rank"],
  ["metric: …", "sorts the cells by another metric (the bars below follow)"],
  ["PNG / SVG", "download the view as drawn"],
];
const SELECTED_RADIUS = 3;
const SHOWN_RADIUS = 5;

type Props = Pick<RenderProps<ResponseViewState>, "model" | "el">;

const render = guardedRender<Props>("ResponseView", mount);

async function mount({ model, el: host }: Props): Promise<() => void> {
  const listeners = domListeners(); // every DOM listener is added with its signal
  const { on } = listeners;

  // ---------------------------------------------------------------- DOM
  const root = el("div", "rnnw-response-view rnnw-view");
  const header = el("div", "rnnw-response-header");
  const pickerLabel = el("label", "rnnw-response-picker-label", "metric: ");
  const picker = el("select", "rnnw-response-picker rnnw-control");
  picker.title = "the metric whose distribution is drawn and the bars rank by";
  pickerLabel.append(picker);
  const summary = el("span", "rnnw-response-summary");
  const hoverBox = el("span", "rnnw-response-hover");
  header.append(pickerLabel, summary, hoverBox);
  const errorBox = createErrorBox();
  const notice = createNoticeBox();
  const panels = el("div", "rnnw-response-panels");
  const distArea = el("div", "rnnw-response-dist");
  const distSvg = svgEl("svg", { class: "rnnw-response-dist-svg" });
  distArea.append(distSvg);
  const legend = el("div", "rnnw-response-legend rnnw-legend");
  legend.append(
    legendItem("the cell's output", "line", "var(--rnnw-response-output)"),
    legendItem("the input (right axis)", "dashed", "var(--rnnw-response-input)"),
    legendItem("where the input changes · the cell shown", "dotted", "var(--rnnw-response-shown)"),
    legendItem("the cell shown", "dot", "var(--rnnw-response-shown)"),
    legendItem("selected cells", "frame", "var(--rnnw-foreground)"),
  );
  root.append(header, errorBox, notice, panels, distArea, legend);
  host.append(root);

  // ---------------------------------------------------------------- state
  let sel: SelectionModel | null = null;
  let curves: DecodedCurves | null = null;
  let dist: DecodedDistribution | null = null;
  let payloadError = "";
  let selectionError = "";
  let disposed = false;
  let metricsKey = "";
  let measuredWidth = 0;
  let distScale: { left: number; width: number; y: LinearScale } | null = null;
  let hovered = -1; // rank under the pointer

  const layer = () => Number(model.get("layer")) || 0;
  const height = () => Math.max(80, Number(model.get("height")) || 200);

  function selectedCells(): number[] {
    if (!sel || Number(sel.get("layer")) !== layer()) return [];
    return decodeCells(sel.get("cells"));
  }

  function width(): number {
    const w = measuredWidth || root.clientWidth;
    return w > 0 ? w : FALLBACK_WIDTH;
  }

  // ---------------------------------------------------------------- drawing
  function showError(): void {
    const text = String(model.get("error") ?? "") || payloadError || selectionError;
    showErrorText(errorBox, text);
    showErrorText(notice, String(model.get("message") ?? ""));
    distArea.hidden = text !== "";
  }

  function updatePicker(): void {
    const names = (model.get("_metrics") ?? []).map(String);
    const key = JSON.stringify(names);
    if (key !== metricsKey) {
      metricsKey = key;
      picker.replaceChildren(...names.map((n) => Object.assign(el("option", "", n), { value: n })));
    }
    picker.value = String(model.get("metric") ?? "");
  }

  function drawPanels(): void {
    panels.replaceChildren();
    root.dataset.cell = curves ? String(curves.cell) : "";
    if (!curves) {
      summary.textContent = "";
      return;
    }
    summary.textContent = cellSummary(curves, SUMMARY_METRICS);
    const n = curves.panels.length;
    const w = Math.max(160, Math.floor(width() / n) - 8);
    for (const panel of curves.panels) panels.append(drawPanel(panel, w, Math.round(height() * 0.8)));
  }

  function drawPanel(panel: Panel, w: number, h: number): SVGSVGElement {
    const svg = svgEl("svg", { class: "rnnw-response-panel", width: w, height: h, viewBox: `0 0 ${w} ${h}` });
    svg.dataset.stimulus = panel.name;
    const count = panel.output.length;
    const x = linearScale([panel.start, panel.start + Math.max(1, count - 1)], [MARGIN.left, w - MARGIN.right]);
    const yOut = linearScale(extent(panel.output), [h - MARGIN.bottom, MARGIN.top]);
    const yIn = linearScale(extent(panel.inputs), [h - MARGIN.bottom, MARGIN.top]);
    const steps = Array.from({ length: count }, (_, i) => x(panel.start + i));
    const axes = svgEl("g", { class: "rnnw-response-axes" });
    const outStep = tickStep(yOut.domain[0], yOut.domain[1], 4);
    for (const tick of yOut.ticks(4)) {
      axes.append(svgEl("line", { class: "rnnw-response-grid", x1: MARGIN.left, x2: w - MARGIN.right, y1: yOut(tick), y2: yOut(tick) }));
      axes.append(svgEl("text", { class: "rnnw-response-tick", x: MARGIN.left - 4, y: yOut(tick) + 4, "text-anchor": "end" }, formatTick(tick, outStep)));
    }
    const inStep = tickStep(yIn.domain[0], yIn.domain[1], 3);
    for (const tick of yIn.ticks(3)) {
      axes.append(svgEl("text", { class: "rnnw-response-tick rnnw-response-input-tick", x: w - MARGIN.right + 4, y: yIn(tick) + 4 }, formatTick(tick, inStep)));
    }
    const xStep = Math.max(1, tickStep(x.domain[0], x.domain[1], 4));
    for (const tick of x.ticks(4).filter(Number.isInteger)) {
      axes.append(svgEl("text", { class: "rnnw-response-tick", x: x(tick), y: h - MARGIN.bottom + 14, "text-anchor": "middle" }, formatTick(tick, xStep)));
    }
    axes.append(svgEl("text", { class: "rnnw-response-title", x: MARGIN.left, y: 14 }, `${panel.name}`));
    axes.append(svgEl("text", { class: "rnnw-response-axis-label", x: (MARGIN.left + w - MARGIN.right) / 2, y: h - 4, "text-anchor": "middle" }, "step"));
    svg.append(axes);
    if (panel.change !== null) {
      svg.append(svgEl("line", { class: "rnnw-response-change", x1: x(panel.change), x2: x(panel.change), y1: MARGIN.top, y2: h - MARGIN.bottom }));
    }
    svg.append(svgEl("path", { class: "rnnw-response-input", d: linePath(steps, Array.from(panel.inputs, (v) => yIn(v))) }));
    svg.append(svgEl("path", { class: "rnnw-response-output", d: linePath(steps, Array.from(panel.output, (v) => yOut(v))) }));
    return svg;
  }

  function drawDistribution(): void {
    distSvg.replaceChildren();
    distScale = null;
    root.dataset.metric = dist?.metric ?? "";
    root.dataset.order = dist ? Array.from(dist.order, (row) => dist!.cells[row]!).join(",") : "";
    if (!dist) return;
    const w = width();
    const h = height();
    distSvg.setAttribute("width", String(w));
    distSvg.setAttribute("height", String(h));
    distSvg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    const count = dist.order.length;
    const sorted = Array.from(dist.order, (row) => dist!.values[row]!);
    const left = MARGIN.left;
    const plotWidth = Math.max(1, w - MARGIN.left - MARGIN.right);
    const y = linearScale(extent(sorted), [h - MARGIN.bottom, MARGIN.top]);
    distScale = { left, width: plotWidth, y };
    const axes = svgEl("g", { class: "rnnw-response-axes" });
    const step = tickStep(y.domain[0], y.domain[1], 5);
    for (const tick of y.ticks(5)) {
      axes.append(svgEl("line", { class: "rnnw-response-grid", x1: left, x2: left + plotWidth, y1: y(tick), y2: y(tick) }));
      axes.append(svgEl("text", { class: "rnnw-response-tick", x: left - 4, y: y(tick) + 4, "text-anchor": "end" }, formatTick(tick, step)));
    }
    const undefinedCount = dist.values.length - count;
    const label = `${fmt(count)} cells sorted by ${dist.metric}${undefinedCount > 0 ? ` (${fmt(undefinedCount)} undefined, left out)` : ""}`;
    axes.append(svgEl("text", { class: "rnnw-response-axis-label", x: left + plotWidth / 2, y: h - 6, "text-anchor": "middle" }, label));
    axes.append(svgEl("text", { class: "rnnw-response-axis-label", transform: `translate(12 ${(MARGIN.top + h - MARGIN.bottom) / 2}) rotate(-90)`, "text-anchor": "middle" }, dist.metric));
    distSvg.append(axes);
    const xs = sorted.map((_, rank) => rankX(left, plotWidth, count, rank));
    distSvg.append(svgEl("path", { class: "rnnw-response-dist-line", d: linePath(xs, sorted.map((v) => y(v))) }));
    distSvg.append(svgEl("g", { class: "rnnw-response-marks" }));
    markCells();
  }

  /** The selected cells and the shown one on the sorted curve (no redraw of the curve). */
  function markCells(): void {
    const chosen = selectedCells();
    root.dataset.selected = chosen.join(",");
    const marks = distSvg.querySelector("g.rnnw-response-marks");
    if (!marks || !dist || !distScale) return;
    marks.replaceChildren();
    const { left, width: plotWidth, y } = distScale;
    const count = dist.order.length;
    const point = (cell: number, cls: string, r: number) => {
      const rank = rankOf(dist!, cell);
      if (rank < 0) return;
      const circle = svgEl("circle", { class: cls, cx: rankX(left, plotWidth, count, rank), cy: y(dist!.values[dist!.order[rank]!]!), r });
      circle.dataset.cell = String(cell);
      marks.append(circle);
    };
    for (const cell of chosen) point(cell, "rnnw-response-dist-selected", SELECTED_RADIUS);
    const shown = curves?.cell ?? Number(model.get("cell"));
    const rank = rankOf(dist, shown);
    if (rank >= 0) {
      const x = rankX(left, plotWidth, count, rank);
      marks.append(svgEl("line", { class: "rnnw-response-dist-shown-line", x1: x, x2: x, y1: MARGIN.top, y2: height() - MARGIN.bottom }));
      point(shown, "rnnw-response-dist-shown", SHOWN_RADIUS);
    }
  }

  function markHover(): void {
    if (!dist || hovered < 0 || hovered >= dist.order.length) {
      hoverBox.textContent = "";
      root.dataset.hovered = "";
      return;
    }
    const row = dist.order[hovered]!;
    hoverBox.textContent = distributionHover(dist.cells[row]!, dist.values[row]!, hovered, dist.order.length);
    root.dataset.hovered = String(dist.cells[row]!);
  }

  function draw(): void {
    updatePicker();
    drawPanels();
    drawDistribution();
    markHover();
    showError();
  }

  // ---------------------------------------------------------------- gestures
  function rankUnder(e: MouseEvent): number {
    if (!dist || !distScale) return -1;
    const box = distSvg.getBoundingClientRect();
    const x = e.clientX - box.left;
    if (x < distScale.left - SHOWN_RADIUS || x > distScale.left + distScale.width + SHOWN_RADIUS) return -1;
    return rankNear(distScale.left, distScale.width, dist.order.length, x);
  }

  function onClick(e: MouseEvent): void {
    const rank = rankUnder(e);
    if (rank < 0 || !dist || !sel) return;
    const cell = dist.cells[dist.order[rank]!]!;
    sel.set("layer", layer());
    sel.set("cells", cellsToSave(clickedCells(selectedCells(), cell, e.shiftKey)));
    sel.save_changes();
  }

  function onPointerMove(e: PointerEvent): void {
    const rank = rankUnder(e);
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
    model.set("metric", picker.value);
    model.save_changes();
  }

  // ---------------------------------------------------------------- model listeners
  const decodeAll = () => {
    try {
      curves = decodeCurves(model.get("_curves"));
      dist = decodeDistribution(model.get("_distribution"));
      payloadError = "";
    } catch (error) {
      curves = null;
      dist = null;
      payloadError = `ResponseView received bad data: ${message(error)}`;
    }
    hovered = -1;
    draw();
  };
  const onChange = () => draw();
  const onSelectionChange = () => markCells();
  const decodeOn = ["_curves", "_distribution"];
  const redrawOn = ["metric", "_metrics", "height", "error", "message", "layer"];
  const selection = followSelection({
    model,
    view: "ResponseView",
    events: { "change:cells": onSelectionChange, "change:layer": onSelectionChange },
    assign: (next, error) => {
      sel = next;
      selectionError = error;
    },
    settled: () => draw(),
  });
  const onSelectionRef = () => void selection.rebind();

  const modelEvents = modelListeners(model);
  modelEvents.on(decodeOn, decodeAll);
  modelEvents.on(redrawOn, onChange);
  modelEvents.on("selection", onSelectionRef);
  on(distSvg, "click", onClick);
  on(distSvg, "pointermove", onPointerMove);
  on(distSvg, "pointerleave", onPointerLeave);
  on(picker, "change", onPick);

  const resize = watchWidth(root, (w) => {
    measuredWidth = w;
    if (!disposed) draw();
  });

  decodeAll();
  await selection.rebind();

  const dropExport = attachExport(model as unknown as ExportModel, header, {
    name: "ResponseCurves",
    svg: () => snapshotSvg(root, { skip: (node) => node === header }),
  });
  attachHelp(header, "ResponseView", GESTURES, on);

  return () => {
    disposed = true;
    selection.dispose();
    listeners.abort();
    resize?.disconnect();
    modelEvents.off();
    dropExport();
    root.remove();
  };
}

export default { render } satisfies AnyWidget<ResponseViewState>;
