// AblationPlot: a task metric against k, ablating the top-k ranked cells (solid, one line per
// mode) or k random cells (dashed mean with a band), and the unablated baseline (grey dashed).
// The kernel <-> browser contract is docs/relevance_bars_contract.md. Labels are text only.
import type { AnyWidget, RenderProps } from "@anywidget/types";
import { el, message } from "../lib/dom";
import { attachHelp, createErrorBox, createNoticeBox, domListeners, guardedRender, modelListeners, showErrorText, watchWidth, type Gesture } from "../lib/view";
import { bandText, decodeAblation, metricDomain, modeColor, randomPointText, topPointText, type AblationPayload, type DecodedAblation } from "../lib/ablation";
import { formatTick, linearScale, tickStep, type LinearScale } from "../lib/scale";
import { bandPath, formatValue, linePath, svgEl } from "../lib/svg";
import { attachExport, snapshotSvg, type ExportModel } from "../lib/export";

export type AblationPlotState = {
  metric_name: string;
  height: number;
  error: string;
  /** A notice that is not an error (a size clamped to its bound), shown in place. */
  message?: string;
  _plot: AblationPayload | null;
};

export const MARGIN = { top: 12, right: 16, bottom: 36, left: 56 } as const;
export const FALLBACK_WIDTH = 640;
const POINT_RADIUS = 3.5;

/** The gestures the `?` button lists. */
export const GESTURES: readonly Gesture[] = [
  ["hover a point", "shows its k and metric (for random cells, the band too)"],
  ["PNG / SVG", "download the plot as drawn"],
];

type Props = Pick<RenderProps<AblationPlotState>, "model" | "el">;

const render = guardedRender<Props>("AblationPlot", mount);

async function mount({ model, el: host }: Props): Promise<() => void> {
  const listeners = domListeners(); // every DOM listener is added with its signal
  const { on } = listeners;

  const root = el("div", "rnnw-ablation-plot rnnw-view");
  const hoverBox = el("div", "rnnw-ablation-hover");
  const errorBox = createErrorBox();
  const notice = createNoticeBox();
  const plot = el("div", "rnnw-ablation-area");
  const svg = svgEl("svg", { class: "rnnw-ablation-svg" });
  plot.append(svg);
  const legend = el("div", "rnnw-ablation-legend rnnw-legend");
  const tools = el("div", "rnnw-export-bar");
  root.append(tools, hoverBox, errorBox, notice, plot, legend);
  host.append(root);

  let data: DecodedAblation | null = null;
  let plotError = "";
  let measuredWidth = 0;
  let disposed = false;

  function width(): number {
    const w = measuredWidth || plot.clientWidth || root.clientWidth;
    return w > 0 ? w : FALLBACK_WIDTH;
  }

  function showError(): void {
    const text = String(model.get("error") ?? "") || plotError;
    showErrorText(errorBox, text);
    showErrorText(notice, String(model.get("message") ?? ""));
    plot.hidden = text !== "";
    legend.hidden = text !== "";
  }

  function drawAxes(x: LinearScale, y: LinearScale, w: number, h: number): void {
    const axes = svgEl("g", { class: "rnnw-ablation-axes" });
    const [ylo, yhi] = y.domain;
    const ystep = tickStep(ylo, yhi, 5);
    for (const tick of y.ticks(5)) {
      axes.append(svgEl("line", { class: "rnnw-ablation-grid", x1: MARGIN.left, x2: w - MARGIN.right, y1: y(tick), y2: y(tick) }));
      axes.append(svgEl("text", { class: "rnnw-ablation-tick", x: MARGIN.left - 4, y: y(tick) + 4, "text-anchor": "end" }, formatTick(tick, ystep)));
    }
    const [xlo, xhi] = x.domain;
    const xstep = Math.max(1, tickStep(xlo, xhi, 8));
    for (const tick of x.ticks(8).filter((t) => Number.isInteger(t))) {
      axes.append(svgEl("text", { class: "rnnw-ablation-tick", x: x(tick), y: h - MARGIN.bottom + 14, "text-anchor": "middle" }, formatTick(tick, xstep)));
    }
    const metric = String(model.get("metric_name") ?? "metric");
    axes.append(
      svgEl("text", { class: "rnnw-ablation-axis-label", transform: `translate(12 ${(MARGIN.top + h - MARGIN.bottom) / 2}) rotate(-90)`, "text-anchor": "middle" }, metric),
      svgEl("text", { class: "rnnw-ablation-axis-label", x: MARGIN.left + (w - MARGIN.left - MARGIN.right) / 2, y: h - 4, "text-anchor": "middle" }, "k: cells ablated"),
    );
    svg.append(axes);
  }

  function point(cx: number, cy: number, color: string, series: string, mode: string, index: number, text: string): SVGCircleElement {
    const circle = svgEl("circle", { class: `rnnw-ablation-point rnnw-ablation-${series}`, cx, cy, r: POINT_RADIUS, fill: color });
    circle.dataset.mode = mode;
    circle.dataset.series = series;
    circle.dataset.index = String(index);
    circle.dataset.text = text;
    return circle;
  }

  function drawLegend(plotData: DecodedAblation): void {
    legend.replaceChildren();
    const item = (className: string, color: string, text: string) => {
      const node = el("span", `rnnw-ablation-legend-item ${className}`, text);
      node.style.setProperty("--rnnw-swatch", color);
      legend.append(node);
    };
    plotData.curves.forEach((c, i) => {
      item("rnnw-ablation-legend-top", modeColor(i), `${c.label}: top-k cells`);
      item("rnnw-ablation-legend-random", modeColor(i), `${c.label}: k random cells, ${bandText(plotData.band, c.nDraws)}`);
    });
    if (plotData.baseline !== null) item("rnnw-ablation-legend-baseline", "var(--rnnw-muted)", `baseline (nothing ablated): ${formatValue(plotData.baseline)}`);
  }

  function draw(): void {
    svg.replaceChildren();
    hoverBox.textContent = "";
    const w = width();
    const h = Math.max(MARGIN.top + MARGIN.bottom + 40, Number(model.get("height")) || 260);
    svg.setAttribute("width", String(w));
    svg.setAttribute("height", String(h));
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    if (!data) {
      legend.replaceChildren();
      showError();
      return;
    }
    const { ks, curves, baseline } = data;
    const x = linearScale([ks[0]!, ks[ks.length - 1]!], [MARGIN.left, w - MARGIN.right]);
    const y = linearScale(metricDomain(data), [h - MARGIN.bottom, MARGIN.top]);
    drawAxes(x, y, w, h);
    const xs = Array.from(ks, (k) => x(k));
    const py = (a: Float32Array) => Array.from(a, (v) => y(v));
    const lines = svgEl("g", { class: "rnnw-ablation-lines" });
    const points = svgEl("g", { class: "rnnw-ablation-points" });
    curves.forEach((c, i) => {
      const color = modeColor(i);
      const band = svgEl("path", { class: "rnnw-ablation-band", d: bandPath(xs, py(c.low), py(c.high)), fill: color });
      const random = svgEl("path", { class: "rnnw-ablation-random-line", d: linePath(xs, py(c.mean)), stroke: color });
      const top = svgEl("path", { class: "rnnw-ablation-top-line", d: linePath(xs, py(c.top)), stroke: color });
      for (const node of [band, random, top]) node.dataset.mode = c.mode;
      lines.append(band, random, top);
      ks.forEach((k, j) => {
        points.append(point(xs[j]!, y(c.mean[j]!), color, "random", c.mode, j, randomPointText(c.label, k, c.mean[j]!, c.low[j]!, c.high[j]!)));
        points.append(point(xs[j]!, y(c.top[j]!), color, "top", c.mode, j, topPointText(c.label, k, c.top[j]!)));
      });
    });
    if (baseline !== null) {
      const line = svgEl("line", { class: "rnnw-ablation-baseline", x1: MARGIN.left, x2: w - MARGIN.right, y1: y(baseline), y2: y(baseline) });
      svg.append(line);
    }
    svg.append(lines, points);
    drawLegend(data);
    showError();
  }

  function onPointerOver(e: Event): void {
    const target = e.target as Element | null;
    const circle = target?.closest?.(".rnnw-ablation-point") as SVGCircleElement | null;
    hoverBox.textContent = circle ? (circle.dataset.text ?? "") : "";
  }

  const onPlot = () => {
    try {
      data = decodeAblation(model.get("_plot"));
      plotError = "";
    } catch (error) {
      data = null;
      plotError = `AblationPlot received bad _plot: ${message(error)}`;
    }
    draw();
  };
  const onChange = () => draw();
  const redrawOn = ["metric_name", "height", "error", "message"];
  const modelEvents = modelListeners(model);
  modelEvents.on("_plot", onPlot);
  modelEvents.on(redrawOn, onChange);
  on(svg, "pointerover", onPointerOver);
  on(svg, "pointerleave", () => (hoverBox.textContent = ""));

  const resize = watchWidth(plot, (w) => {
    measuredWidth = w;
    if (!disposed) draw();
  });

  onPlot();

  const dropExport = attachExport(model as unknown as ExportModel, tools, {
    name: "AblationPlot",
    svg: () => snapshotSvg(root, { skip: (node) => node === tools || node === hoverBox }),
  });
  attachHelp(tools, "AblationPlot", GESTURES, on);

  return () => {
    disposed = true;
    listeners.abort();
    resize?.disconnect();
    modelEvents.off();
    dropExport();
    root.remove();
  };
}

export default { render } satisfies AnyWidget<AblationPlotState>;
