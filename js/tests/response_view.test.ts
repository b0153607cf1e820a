import { describe, expect, it, vi } from "vitest";
import { decodeCells } from "../src/lib/binary";
import { FakeModel, FakeWidgetManager } from "../src/lib/fake_model";
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
} from "../src/lib/response";
import type { SelectionState } from "../src/lib/selection";
import view, { FALLBACK_WIDTH, MARGIN, type ResponseViewState } from "../src/views/response_view";
import { cleanUpViewsAfterEach, fakeSelection, mountView } from "./view_harness";

const XSS = "<img src=x onerror=alert(1)>";
const f32 = (xs: number[]) => ({ dtype: "float32", shape: [xs.length], data: new DataView(new Float32Array(xs).buffer) });
const u32 = (xs: number[]) => ({ dtype: "uint32", shape: [xs.length], data: new DataView(new Uint32Array(xs).buffer) });

const NAMES = ["initial", "final", "delta", "settling_time", "amplitude", "frequency", "correlation", "pearson"];

/** The kernel's order: rows with a defined value, ascending (a stable sort). */
const ascending = (values: number[]) =>
  values
    .map((v, i) => [v, i] as const)
    .filter(([v]) => Number.isFinite(v))
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .map(([, i]) => i);

function distribution(metric: string, values: number[]) {
  return { metric, values: f32(values), cells: u32(values.map((_, i) => i)), order: u32(ascending(values)) };
}

/** Curves of a cell: the step rises 0 -> 1 at step 12 of 10..20; the sine is a known wave. */
function curves(cell: number, gain = 1) {
  const stepIn = Array.from({ length: 10 }, (_, i) => (10 + i >= 12 ? 1 : 0));
  const stepOut = stepIn.map((v) => v * gain);
  const sineIn = Array.from({ length: 16 }, (_, i) => Math.sin((2 * Math.PI * i) / 8));
  const sineOut = sineIn.map((v) => 0.5 * gain * v);
  const values = NAMES.map((_, i) => (i === 3 ? cell + 1 : i === 7 ? NaN : gain / (i + 1)));
  return {
    cell,
    names: NAMES,
    values: f32(values),
    panels: [
      { name: "step", waveform: "step", start: 10, change: 12, inputs: f32(stepIn), output: f32(stepOut) },
      { name: "sine@0.125", waveform: "sine", start: 184, change: null, inputs: f32(sineIn), output: f32(sineOut) },
    ],
  };
}

// Five cells; settling times sort as cells 3, 1, 4, 0, 2; cell 2's pearson is undefined.
const SETTLING = [4, 2, 9, 1, 3];
const PEARSON = [0.5, -0.2, NaN, 0.9, 0.1];
const PLOT_WIDTH = FALLBACK_WIDTH - MARGIN.left - MARGIN.right;
const xOfRank = (rank: number, count = 5) => rankX(MARGIN.left, PLOT_WIDTH, count, rank);

cleanUpViewsAfterEach();

async function setup(over: Partial<ResponseViewState> = {}, selectionOver: Partial<SelectionState> = {}) {
  const manager = new FakeWidgetManager();
  const selection = fakeSelection(manager, selectionOver);
  const model = new FakeModel<ResponseViewState>(
    {
      selection: manager.add(selection),
      metric: "settling_time",
      cell: 1,
      layer: 0,
      height: 200,
      error: "",
      _metrics: [...NAMES, XSS],
      _curves: curves(1),
      _distribution: distribution("settling_time", SETTLING),
      ...over,
    },
    manager,
  );
  const { el, cleanup } = await mountView(view, model);
  const root = el.querySelector<HTMLElement>(".rnnw-response-view")!;
  const dist = root.querySelector<SVGSVGElement>("svg.rnnw-response-dist-svg")!;
  return { model, selection, el, root, dist, cleanup };
}

const click = (svg: Element, x: number, init: MouseEventInit = {}) =>
  svg.dispatchEvent(new MouseEvent("click", { bubbles: true, clientX: x, clientY: 100, button: 0, ...init }));
const selected = (selection: FakeModel<SelectionState>) => decodeCells(selection.get("cells"));
/** The numbers of an SVG path "M x,y L x,y ..." as [x, y] pairs. */
const points = (d: string) => [...d.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);

describe("response helpers", () => {
  it("extent spans the finite values with 5 % padding; a flat or empty curve gets ± 1", () => {
    const [lo, hi] = extent([0, 1, NaN], [2]);
    expect(lo).toBeCloseTo(-0.1);
    expect(hi).toBeCloseTo(2.1);
    expect(extent([3, 3])).toEqual([2, 4]);
    expect(extent([NaN])).toEqual([-1, 1]);
  });

  it("rankNear inverts rankX at the points and clamps beyond the ends", () => {
    for (let rank = 0; rank < 7; rank++) expect(rankNear(10, 300, 7, rankX(10, 300, 7, rank))).toBe(rank);
    expect(rankNear(10, 300, 7, -40)).toBe(0);
    expect(rankNear(10, 300, 7, 999)).toBe(6);
    expect(rankNear(10, 300, 0, 50)).toBe(-1);
    expect(rankX(10, 300, 1, 0)).toBe(160);
  });

  it("rankOf finds a cell's rank on the sorted curve, -1 for an undefined value", () => {
    const dist = decodeDistribution(distribution("pearson", PEARSON))!;
    expect([0, 1, 2, 3, 4].map((cell) => rankOf(dist, cell))).toEqual([2, 0, -1, 3, 1]);
  });

  it("decodeDistribution refuses an order with repeated or undefined rows", () => {
    expect(() => decodeDistribution({ ...distribution("x", [1, 2]), order: u32([0, 0]) })).toThrow(/distinct rows/);
    expect(() => decodeDistribution({ ...distribution("x", [1, NaN]), order: u32([0, 1]) })).toThrow(/undefined/);
    expect(() => decodeDistribution({ ...distribution("x", [1, 2]), cells: u32([0]) })).toThrow(/one per row/);
    expect(() => decodeDistribution({ ...distribution("x", [1]), values: u32([1]) })).toThrow(/float32/);
  });

  it("decodeCurves checks the panels' lengths and the metric count", () => {
    const bad = curves(0);
    bad.panels[0]!.output = f32([1, 2]);
    expect(() => decodeCurves(bad)).toThrow(/panel 0/);
    expect(() => decodeCurves({ ...curves(0), values: f32([1]) })).toThrow(/one per metric/);
    expect(() => decodeCurves({ ...curves(0), panels: [] })).toThrow(/non-empty/);
    expect(decodeCurves(curves(2))!.panels.map((p) => [p.name, p.change])).toEqual([["step", 12], ["sine@0.125", null]]);
  });

  it("cellSummary prints the chosen metrics, an undefined one as a dash", () => {
    const decoded = decodeCurves(curves(4))!;
    expect(cellSummary(decoded, ["settling_time", "pearson", "nope"])).toBe("cell 4 · settling_time 5 · pearson –");
    expect(distributionHover(7, 0.123456, 2, 10)).toBe("cell 7: 0.1235 (rank 3 of 10, ascending)");
  });

  it("clickedCells replaces the selection, or toggles the cell with shift", () => {
    expect(clickedCells([1, 5], 3, false)).toEqual([3]);
    expect(clickedCells([1, 5], 3, true)).toEqual([1, 3, 5]);
    expect(clickedCells([1, 3, 5], 3, true)).toEqual([1, 5]);
  });
});

describe("ResponseView drawing", () => {
  it("draws one panel per stimulus with the output and the input over time", async () => {
    const { root } = await setup();
    const panels = [...root.querySelectorAll<SVGSVGElement>("svg.rnnw-response-panel")];
    expect(panels.map((p) => p.dataset.stimulus)).toEqual(["step", "sine@0.125"]);
    const step = panels[0]!;
    const out = points(step.querySelector(".rnnw-response-output")!.getAttribute("d")!);
    const inp = points(step.querySelector(".rnnw-response-input")!.getAttribute("d")!);
    expect(out.length).toBe(10);
    expect(inp.length).toBe(10);
    // The step's output is low before step 12 and high from it (SVG y grows downwards).
    expect(out[0]![1]).toBe(out[1]![1]);
    expect(out[2]![1]).toBeLessThan(out[1]![1]);
    // x runs left to right over the panel, and the change line sits at step 12's x.
    expect(out.map(([x]) => x)).toEqual([...out.map(([x]) => x)].sort((a, b) => a - b));
    const change = Number(step.querySelector(".rnnw-response-change")!.getAttribute("x1"));
    expect(change).toBeCloseTo(out[2]![0], 1);
    expect(panels[1]!.querySelector(".rnnw-response-change")).toBeNull();
    expect(root.dataset.cell).toBe("1");
    expect(root.querySelector(".rnnw-response-summary")!.textContent).toContain("cell 1 · settling_time 2");
  });

  it("draws the metric's sorted curve, ascending, with undefined cells left out", async () => {
    const { root, model, dist } = await setup();
    expect(root.dataset.order).toBe("3,1,4,0,2");
    const line = points(dist.querySelector(".rnnw-response-dist-line")!.getAttribute("d")!);
    expect(line.length).toBe(5);
    const ys = line.map(([, y]) => y);
    expect([...ys].sort((a, b) => b - a)).toEqual(ys); // values ascending = y descending
    model.receive("metric", "pearson");
    model.receive("_distribution", distribution("pearson", PEARSON));
    expect(root.dataset.order).toBe("1,4,0,3");
    expect(root.dataset.metric).toBe("pearson");
    const labels = [...dist.querySelectorAll(".rnnw-response-axis-label")].map((t) => t.textContent);
    expect(labels).toContain("4 cells sorted by pearson (1 undefined, left out)");
  });

  it("marks the shown cell and the selected cells on the sorted curve", async () => {
    const { dist, selection, model } = await setup({}, { cells: new DataView(new Uint32Array([0, 2]).buffer) });
    const shown = dist.querySelector<SVGCircleElement>(".rnnw-response-dist-shown")!;
    expect(shown.dataset.cell).toBe("1");
    expect(Number(shown.getAttribute("cx"))).toBeCloseTo(xOfRank(1), 1); // cell 1 is rank 1
    const marked = () => [...dist.querySelectorAll<SVGCircleElement>(".rnnw-response-dist-selected")].map((c) => c.dataset.cell);
    expect(marked()).toEqual(["0", "2"]);
    selection.receive("cells", new DataView(new Uint32Array([4]).buffer));
    expect(marked()).toEqual(["4"]);
    selection.receive("layer", 2); // cells of another layer are not this response's
    expect(marked()).toEqual([]);
    model.receive("_curves", curves(2, 3));
    expect(dist.querySelector<SVGCircleElement>(".rnnw-response-dist-shown")!.dataset.cell).toBe("2");
  });

  it("renders metric names as text, never as HTML", async () => {
    const { root, el } = await setup();
    const options = [...root.querySelectorAll<HTMLOptionElement>("select.rnnw-response-picker option")];
    expect(options.map((o) => o.textContent)).toContain(XSS);
    expect(el.querySelector("img")).toBeNull();
  });
});

describe("ResponseView gestures", () => {
  it("a click on the sorted curve selects that cell alone, with the layer, in one save", async () => {
    const { dist, selection } = await setup({ layer: 1 }, { layer: 0, cells: new DataView(new Uint32Array([7]).buffer) });
    click(dist, xOfRank(2)); // rank 2 is cell 4
    expect(selected(selection)).toEqual([4]);
    expect(selection.get("layer")).toBe(1);
    expect(selection.saves).toBe(1);
    expect(JSON.parse(JSON.stringify(selection.lastSave()!.cells))).toEqual([4]);
  });

  it("shift-click adds a cell to the selection, and removes it again", async () => {
    const { dist, selection } = await setup({}, { cells: new DataView(new Uint32Array([2]).buffer) });
    click(dist, xOfRank(0), { shiftKey: true }); // cell 3
    expect(selected(selection)).toEqual([2, 3]);
    click(dist, xOfRank(0), { shiftKey: true });
    expect(selected(selection)).toEqual([2]);
  });

  it("a click beside the curve changes nothing", async () => {
    const { dist, selection } = await setup();
    click(dist, MARGIN.left - 20);
    click(dist, FALLBACK_WIDTH - 2);
    expect(selection.calls).toEqual([]);
  });

  it("hover shows the cell, its value and its rank as text", async () => {
    const { dist, root } = await setup();
    dist.dispatchEvent(new PointerEvent("pointermove", { bubbles: true, clientX: xOfRank(4), clientY: 50 }));
    expect(root.querySelector(".rnnw-response-hover")!.textContent).toBe("cell 2: 9 (rank 5 of 5, ascending)");
    expect(root.dataset.hovered).toBe("2");
    dist.dispatchEvent(new PointerEvent("pointerleave"));
    expect(root.querySelector(".rnnw-response-hover")!.textContent).toBe("");
  });

  it("the picker saves the metric", async () => {
    const { root, model } = await setup();
    const picker = root.querySelector<HTMLSelectElement>("select.rnnw-response-picker")!;
    expect(picker.value).toBe("settling_time");
    picker.value = "delta";
    picker.dispatchEvent(new Event("change"));
    expect(model.lastSave()).toEqual({ metric: "delta" });
  });
});

describe("ResponseView echo guard and errors", () => {
  it("changes from the kernel redraw without writing anything back", async () => {
    const { model, selection, root } = await setup();
    model.receive("_curves", curves(3));
    model.receive("metric", "delta");
    selection.receive("cells", new DataView(new Uint32Array([0]).buffer));
    selection.receive("hovered_step", 4);
    expect(root.dataset.cell).toBe("3");
    expect(root.querySelector<HTMLSelectElement>("select.rnnw-response-picker")!.value).toBe("delta");
    expect(model.calls).toEqual([]);
    expect(selection.calls).toEqual([]);
  });

  it("shows the kernel's error in place and keeps the picker usable", async () => {
    const { model, root } = await setup();
    model.receive("error", `metric ${XSS} is unknown`);
    model.receive("_distribution", null);
    const box = root.querySelector<HTMLElement>(".rnnw-error")!;
    expect(box.hidden).toBe(false);
    expect(box.textContent).toBe(`metric ${XSS} is unknown`);
    expect(root.querySelector("img")).toBeNull();
    expect(root.querySelector<HTMLSelectElement>("select.rnnw-response-picker")!.disabled).toBe(false);
    model.receive("error", "");
    model.receive("_distribution", distribution("settling_time", SETTLING));
    expect(box.hidden).toBe(true);
  });

  it("a malformed payload shows a message instead of throwing", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { model, root } = await setup();
    model.receive("_distribution", { ...distribution("x", [1, 2]), order: u32([5]) });
    const box = root.querySelector<HTMLElement>(".rnnw-error")!;
    expect(box.hidden).toBe(false);
    expect(box.textContent).toMatch(/ResponseView received bad data: .*distinct rows/);
  });

  it("cleanup removes the DOM and every listener", async () => {
    const { model, selection, cleanup, el } = await setup();
    cleanup();
    expect(el.querySelector(".rnnw-response-view")).toBeNull();
    expect(model.listenerCount()).toBe(0);
    expect(selection.listenerCount()).toBe(0);
  });
});
