import { describe, expect, it } from "vitest";
import { decodeCells } from "../src/lib/binary";
import { barAt, barNear, cellsBetween, decodeBars, decodeInt8, hoverText, scoreDomain, toggleCell, unionCells } from "../src/lib/bars";
import { FakeModel, FakeWidgetManager } from "../src/lib/fake_model";
import type { SelectionState } from "../src/lib/selection";
import { formatValue } from "../src/lib/svg";
import view, { FALLBACK_WIDTH, MARGIN, type RelevanceBarsState } from "../src/views/relevance_bars";
import { cleanUpViewsAfterEach, fakeSelection, mountView } from "./view_harness";

const XSS = "<img src=x onerror=alert(1)>";
const f32 = (xs: number[]) => ({ dtype: "float32", shape: [xs.length], data: new DataView(new Float32Array(xs).buffer) });
const u32 = (xs: number[]) => ({ dtype: "uint32", shape: [xs.length], data: new DataView(new Uint32Array(xs).buffer) });
const i8 = (xs: number[]) => ({ dtype: "int8", shape: [xs.length], data: new DataView(new Int8Array(xs).buffer) });

/** The kernel's order: scores descending, ties by cell index (a stable sort). */
const descending = (scores: number[]) => scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);

function bars(name: string, scores: number[], signs: number[] | null = null) {
  return { name, scores: f32(scores), order: u32(descending(scores)), signs: signs ? i8(signs) : null };
}

// Six cells; the best is cell 4, then 1, then 0 and 5 tied (0 first), then 3, then 2.
const SCORES = [0.5, 0.75, -0.25, 0.25, 1, 0.5];
const SIGNS = [1, -1, 1, -1, 1, 0];
const PLOT_WIDTH = FALLBACK_WIDTH - MARGIN.left - MARGIN.right;
/** The pixel x at the middle of the bar drawn at `rank` (jsdom: the svg sits at x = 0). */
const xOf = (rank: number, n = SCORES.length) => MARGIN.left + ((rank + 0.5) * PLOT_WIDTH) / n;

cleanUpViewsAfterEach();

async function setup(over: Partial<RelevanceBarsState> = {}, selectionOver: Partial<SelectionState> = {}) {
  const manager = new FakeWidgetManager();
  const selection = fakeSelection(manager, selectionOver);
  const model = new FakeModel<RelevanceBarsState>(
    {
      selection: manager.add(selection),
      current: "depth",
      threshold: 0.6,
      score_name: "relevance",
      layer: 0,
      kind: "c",
      height: 240,
      error: "",
      _names: ["depth", XSS],
      _bars: bars("depth", SCORES, SIGNS),
      ...over,
    },
    manager,
  );
  const { el, cleanup } = await mountView(view, model);
  const root = el.querySelector<HTMLElement>(".rnnw-relevance-bars")!;
  const svg = root.querySelector<SVGSVGElement>("svg.rnnw-bars-svg")!;
  const rects = () => [...root.querySelectorAll<SVGRectElement>("rect.rnnw-bar")];
  return { model, selection, el, root, svg, rects, cleanup };
}

const pointer = (type: string, x: number, y = 100, init: PointerEventInit = {}) =>
  new PointerEvent(type, { bubbles: true, clientX: x, clientY: y, button: 0, ...init });
const click = (svg: Element, x: number, init: MouseEventInit = {}) =>
  svg.dispatchEvent(new MouseEvent("click", { bubbles: true, clientX: x, clientY: 100, button: 0, ...init }));
const selected = (selection: FakeModel<SelectionState>) => decodeCells(selection.get("cells"));

describe("bars helpers", () => {
  it("barAt gives the rank whose band holds x, -1 outside", () => {
    const bands = { left: 10, width: 100, count: 4 }; // bands of 25 px
    expect([9.9, 10, 34.9, 35, 60, 109.9, 110].map((x) => barAt(bands, x))).toEqual([-1, 0, 0, 1, 2, 3, -1]);
    expect(barAt({ left: 0, width: 100, count: 0 }, 5)).toBe(-1);
  });

  it("barNear clamps a pointer beyond the bars to the first or last bar", () => {
    const bands = { left: 10, width: 100, count: 4 };
    expect([-50, 10, 60, 500].map((x) => barNear(bands, x))).toEqual([0, 0, 2, 3]);
  });

  it("cellsBetween takes the cells of a rank span in either direction", () => {
    const order = [4, 1, 0, 5, 3, 2];
    expect(cellsBetween(order, 1, 3)).toEqual([1, 0, 5]);
    expect(cellsBetween(order, 3, 1)).toEqual([1, 0, 5]);
    expect(cellsBetween(order, 5, 9)).toEqual([2]);
  });

  it("toggleCell and unionCells keep a sorted unique list", () => {
    expect(toggleCell([1, 5], 3)).toEqual([1, 3, 5]);
    expect(toggleCell([1, 3, 5], 3)).toEqual([1, 5]);
    expect(unionCells([5, 1], [1, 2])).toEqual([1, 2, 5]);
  });

  it("hoverText is 'cell N: score' with four significant digits", () => {
    expect(hoverText(12, 0.734123)).toBe("cell 12: 0.7341");
    expect(hoverText(0, -2)).toBe("cell 0: -2");
    expect(formatValue(1234.56)).toBe("1235");
  });

  it("scoreDomain spans the scores, zero and the threshold", () => {
    const [lo, hi] = scoreDomain([0.2, 0.8], null);
    expect(lo).toBe(0);
    expect(hi).toBeCloseTo(0.8 + 0.04);
    const [lo2, hi2] = scoreDomain([0.2, 0.8], -1);
    expect(lo2).toBeLessThan(-1);
    expect(hi2).toBeGreaterThan(0.8);
    expect(scoreDomain([0, 0], null)).toEqual([-1, 1]);
  });

  it("decodeBars refuses an order that is not a permutation of the cells", () => {
    const bad = { ...bars("x", [1, 2, 3]), order: u32([0, 0, 2]) };
    expect(() => decodeBars(bad)).toThrow(/permutation/);
    expect(() => decodeBars({ ...bars("x", [1, 2, 3]), order: u32([0, 1]) })).toThrow(/3 entries/);
    expect(() => decodeBars({ ...bars("x", [1, 2, 3]), scores: u32([1, 2, 3]) })).toThrow(/float32/);
  });

  it("decodeInt8 reads signed bytes and checks the byte count", () => {
    expect(Array.from(decodeInt8(i8([1, -1, 0])))).toEqual([1, -1, 0]);
    expect(() => decodeInt8({ dtype: "int8", shape: [4], data: new Uint8Array(3) })).toThrow(/4 bytes/);
    expect(() => decodeInt8({ dtype: "uint8", shape: [1], data: new Uint8Array(1) })).toThrow(/int8/);
  });
});

describe("RelevanceBars drawing", () => {
  it("draws one bar per cell, best score first, ties by cell index", async () => {
    const { rects, root } = await setup();
    expect(rects().map((r) => r.dataset.cell)).toEqual(["4", "1", "0", "5", "3", "2"]);
    expect(root.dataset.order).toBe("4,1,0,5,3,2");
    // Heights follow the scores: the bars of higher scores are taller (above zero).
    const tops = rects().map((r) => Number(r.getAttribute("y")));
    expect(tops[0]).toBeLessThan(tops[1]!);
    expect(tops[1]).toBeLessThan(tops[2]!);
    expect(tops[2]).toBe(tops[3]); // 0.5 and 0.5
  });

  it("places the bars left to right in rank order over the plot width", async () => {
    const { rects } = await setup();
    const xs = rects().map((r) => Number(r.getAttribute("x")));
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
    expect(xs[0]).toBeGreaterThanOrEqual(MARGIN.left);
    expect(xs[5]! + Number(rects()[5]!.getAttribute("width"))).toBeLessThanOrEqual(FALLBACK_WIDTH - MARGIN.right);
  });

  it("draws a negative score below the zero line", async () => {
    const { rects, root } = await setup();
    const zero = Number(root.querySelector(".rnnw-bars-zero")!.getAttribute("y1"));
    const negative = rects().find((r) => r.dataset.cell === "2")!;
    const positive = rects().find((r) => r.dataset.cell === "4")!;
    expect(Number(negative.getAttribute("y"))).toBeCloseTo(zero, 5);
    expect(Number(positive.getAttribute("y")) + Number(positive.getAttribute("height"))).toBeCloseTo(zero, 5);
  });

  it("colours the bars by sign, and with one colour without signs", async () => {
    const { rects } = await setup();
    const kind = (r: Element) => [...r.classList].find((c) => /rnnw-bar-(positive|negative|neutral|plain)/.test(c));
    expect(rects().map((r) => [r.dataset.cell, kind(r)])).toEqual([
      ["4", "rnnw-bar-positive"],
      ["1", "rnnw-bar-negative"],
      ["0", "rnnw-bar-positive"],
      ["5", "rnnw-bar-neutral"],
      ["3", "rnnw-bar-negative"],
      ["2", "rnnw-bar-positive"],
    ]);
    const plain = await setup({ _bars: bars("depth", SCORES) });
    expect(new Set(plain.rects().map(kind))).toEqual(new Set(["rnnw-bar-plain"]));
  });

  it("draws the threshold line at the threshold's height", async () => {
    const { root, rects } = await setup();
    const line = root.querySelector(".rnnw-bars-threshold")!;
    const y = Number(line.getAttribute("y1"));
    // 0.6 lies between the 0.75 bar's top (cell 1) and the 0.5 bars' top (cells 0, 5).
    const top = (cell: string) => Number(rects().find((r) => r.dataset.cell === cell)!.getAttribute("y"));
    expect(top("1")).toBeLessThan(y);
    expect(top("0")).toBeGreaterThan(y);
    expect(root.querySelector(".rnnw-bars-threshold-label")!.textContent).toBe("threshold 0.6");
    expect(root.dataset.threshold).toBe("0.6");
  });

  it("draws no threshold line when the threshold is null", async () => {
    const { root } = await setup({ threshold: null });
    expect(root.querySelector(".rnnw-bars-threshold")).toBeNull();
  });

  it("renders names and the score name as text, never as HTML", async () => {
    const { root, el } = await setup({ score_name: XSS });
    const options = [...root.querySelectorAll<HTMLOptionElement>("select.rnnw-bars-picker option")];
    expect(options.map((o) => o.textContent)).toEqual(["depth", XSS]);
    expect([...root.querySelectorAll(".rnnw-bars-axis-label")].map((t) => t.textContent)).toContain(XSS);
    expect(el.querySelector("img")).toBeNull();
  });

  it("prints the cell index under bars that are wide enough", async () => {
    const { root } = await setup();
    expect([...root.querySelectorAll(".rnnw-bars-cell-label")].map((t) => t.textContent)).toEqual(["4", "1", "0", "5", "3", "2"]);
    const many = Array.from({ length: 200 }, (_, i) => i / 200);
    const wide = await setup({ _bars: bars("depth", many) });
    expect(wide.root.querySelectorAll(".rnnw-bars-cell-label").length).toBe(0);
    expect(wide.rects().length).toBe(200);
  });
});

describe("RelevanceBars gestures", () => {
  it("hover shows 'cell N: score' as text and marks the bar", async () => {
    const { svg, root, rects } = await setup();
    svg.dispatchEvent(pointer("pointermove", xOf(1)));
    expect(root.querySelector(".rnnw-bars-hover")!.textContent).toBe("cell 1: 0.75");
    expect(rects()[1]!.classList.contains("rnnw-bar-hovered")).toBe(true);
    expect(root.dataset.hovered).toBe("1");
    svg.dispatchEvent(new PointerEvent("pointerleave"));
    expect(root.querySelector(".rnnw-bars-hover")!.textContent).toBe("");
  });

  it("a click toggles the bar's cell and sets the selection's layer and kind in one save", async () => {
    const { svg, selection } = await setup({ layer: 1, kind: "c" }, { layer: 1, kind: "h", cells: new DataView(new Uint32Array([7]).buffer) });
    click(svg, xOf(0)); // cell 4
    expect(selected(selection)).toEqual([4, 7]);
    expect(selection.get("kind")).toBe("c");
    expect(selection.saves).toBe(1);
    expect(Object.keys(selection.lastSave()!).sort()).toEqual(["cells", "kind"]);
    // What is saved survives ipywidgets' default (JSON) serializer of the plain Selection model.
    expect(JSON.parse(JSON.stringify(selection.lastSave()!.cells))).toEqual([4, 7]);
    click(svg, xOf(0));
    expect(selected(selection)).toEqual([7]);
    expect(selection.saves).toBe(2);
  });

  it("a click starts a new set when the selection holds cells of another layer", async () => {
    const { svg, selection } = await setup({ layer: 1 }, { layer: 0, cells: new DataView(new Uint32Array([2, 3]).buffer) });
    click(svg, xOf(2)); // cell 0
    expect(selection.get("layer")).toBe(1);
    expect(selected(selection)).toEqual([0]);
  });

  it("a click outside the bars changes nothing", async () => {
    const { svg, selection } = await setup();
    click(svg, MARGIN.left - 5);
    click(svg, FALLBACK_WIDTH - 2);
    expect(selection.calls).toEqual([]);
  });

  it("highlights the selected cells, and only those of its layer", async () => {
    const { rects, root, selection } = await setup({}, { cells: new DataView(new Uint32Array([1, 5]).buffer) });
    const marked = () => rects().filter((r) => r.classList.contains("rnnw-bar-selected")).map((r) => r.dataset.cell);
    expect(marked()).toEqual(["1", "5"]);
    expect(root.dataset.selected).toBe("1,5");
    selection.receive("cells", new DataView(new Uint32Array([2]).buffer));
    expect(marked()).toEqual(["2"]);
    selection.receive("layer", 3);
    expect(marked()).toEqual([]);
    expect(root.querySelector(".rnnw-bars-summary")!.textContent).toBe("6 cells · 0 selected · layer 0 c");
  });

  it("shift-drag across bars adds every bar passed over, with a preview, in one save", async () => {
    const { svg, selection, rects } = await setup({}, { cells: new DataView(new Uint32Array([2]).buffer) });
    svg.dispatchEvent(pointer("pointerdown", xOf(1), 100, { shiftKey: true }));
    window.dispatchEvent(pointer("pointermove", xOf(3), 100, { shiftKey: true }));
    const preview = rects().filter((r) => r.classList.contains("rnnw-bar-preview")).map((r) => r.dataset.cell);
    expect(preview).toEqual(["1", "0", "5"]);
    expect(selection.calls).toEqual([]); // nothing sent while dragging
    window.dispatchEvent(pointer("pointerup", xOf(3)));
    click(svg, xOf(3), { shiftKey: true }); // the click that ends the drag toggles nothing
    expect(selected(selection)).toEqual([0, 1, 2, 5]);
    expect(selection.saves).toBe(1);
    expect(rects().filter((r) => r.classList.contains("rnnw-bar-preview"))).toEqual([]);
  });

  it("dragging the threshold line previews it and saves the threshold on release", async () => {
    const { svg, model, root } = await setup();
    const line = () => root.querySelector(".rnnw-bars-threshold")!;
    const y = Number(line().getAttribute("y1"));
    svg.dispatchEvent(pointer("pointerdown", xOf(2), y + 2));
    window.dispatchEvent(pointer("pointermove", xOf(2), y + 40));
    // The grab point stays under the pointer (no jump); the value is rounded to 4 digits.
    expect(Math.abs(Number(line().getAttribute("y1")) - (y + 38))).toBeLessThan(0.5);
    expect(model.saves).toBe(0);
    window.dispatchEvent(pointer("pointerup", xOf(2), y + 40));
    click(svg, xOf(2));
    expect(model.saves).toBe(1);
    const saved = model.lastSave()!.threshold as number;
    expect(saved).toBeLessThan(0.6);
    expect(saved).toBeGreaterThan(0);
  });

  it("the picker sets current; a new vector from the kernel redraws in its order", async () => {
    const { root, model, rects } = await setup();
    const picker = root.querySelector<HTMLSelectElement>("select.rnnw-bars-picker")!;
    expect(picker.value).toBe("depth");
    picker.value = XSS;
    picker.dispatchEvent(new Event("change"));
    expect(model.lastSave()).toEqual({ current: XSS });
    model.receive("_bars", bars(XSS, [0, 3, 1]));
    expect(rects().map((r) => r.dataset.cell)).toEqual(["1", "2", "0"]);
    expect(root.dataset.current).toBe(XSS);
  });
});

describe("RelevanceBars echo guard", () => {
  it("changes from the kernel redraw without writing anything back", async () => {
    const { model, selection, root } = await setup();
    model.receive("current", XSS);
    model.receive("_bars", bars(XSS, [2, 1]));
    model.receive("threshold", 1.5);
    selection.receive("cells", new DataView(new Uint32Array([0]).buffer));
    selection.receive("hovered_step", 4);
    expect(root.querySelector<HTMLSelectElement>("select.rnnw-bars-picker")!.value).toBe(XSS);
    expect(root.dataset.threshold).toBe("1.5");
    expect(model.calls).toEqual([]);
    expect(selection.calls).toEqual([]);
  });
});

describe("RelevanceBars errors", () => {
  it("shows the kernel's error in place of the plot, as text", async () => {
    const { model, root } = await setup();
    model.receive("error", XSS);
    const box = root.querySelector<HTMLElement>(".rnnw-error")!;
    expect(box.hidden).toBe(false);
    expect(box.textContent).toBe(XSS);
    expect(root.querySelector<HTMLElement>(".rnnw-bars-plot")!.hidden).toBe(true);
    model.receive("error", "");
    expect(box.hidden).toBe(true);
  });

  it("reports a bad payload in its error box and recovers on a good one", async () => {
    const { model, root, rects } = await setup();
    model.receive("_bars", { ...bars("depth", [1, 2]), order: u32([1, 1]) });
    expect(root.querySelector(".rnnw-error")!.textContent).toMatch(/bad _bars: order must be a permutation/);
    expect(rects()).toEqual([]);
    model.receive("_bars", bars("depth", [1, 2]));
    expect(root.querySelector<HTMLElement>(".rnnw-error")!.hidden).toBe(true);
    expect(rects().length).toBe(2);
  });

  it("says when its Selection cannot be resolved", async () => {
    const { root } = await setup({ selection: "IPY_MODEL_missing" });
    expect(root.querySelector(".rnnw-error")!.textContent).toMatch(/could not find its Selection/);
  });
});

describe("RelevanceBars cleanup", () => {
  it("removes its DOM and every listener on the model and the Selection", async () => {
    const { model, selection, root, svg, cleanup } = await setup();
    expect(model.listenerCount()).toBeGreaterThan(0);
    expect(selection.listenerCount()).toBeGreaterThan(0);
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(selection.listenerCount()).toBe(0);
    expect(root.isConnected).toBe(false);
    click(svg, xOf(0));
    expect(selection.calls).toEqual([]);
  });

  it("drops a drag in progress without committing it", async () => {
    const { svg, selection, cleanup } = await setup();
    svg.dispatchEvent(pointer("pointerdown", xOf(0), 100, { shiftKey: true }));
    cleanup();
    window.dispatchEvent(pointer("pointerup", xOf(2)));
    expect(selection.calls).toEqual([]);
  });
});

describe("RelevanceBars legend and help", () => {
  const names = (root: Element) => [...root.querySelectorAll(".rnnw-bars-legend .rnnw-legend-item")].map((i) => i.textContent);

  it("names the colour of each sign drawn, the selected cells' outline and the threshold", async () => {
    const { root, rects } = await setup();
    expect(names(root)).toEqual(["positive relation", "negative relation", "no relation (0)", "selected cell", "threshold"]);
    const swatch = (text: string) => [...root.querySelectorAll<HTMLElement>(".rnnw-legend-item")].find((i) => i.textContent === text)!.style.getPropertyValue("--rnnw-swatch");
    expect(swatch("positive relation")).toBe("var(--rnnw-bar-positive)");
    expect(rects().filter((r) => r.classList.contains("rnnw-bar-positive")).length).toBe(3);
  });

  it("names one colour without signs, and no threshold when none is drawn", async () => {
    const { root } = await setup({ _bars: bars("depth", SCORES), threshold: null });
    expect(names(root)).toEqual(["relevance", "selected cell"]);
  });

  it("lists its gestures behind the ? button instead of under the plot", async () => {
    const { root } = await setup();
    const panel = root.querySelector<HTMLElement>(".rnnw-help")!;
    expect(panel.hidden).toBe(true);
    root.querySelector<HTMLButtonElement>(".rnnw-help-button")!.click();
    expect(panel.hidden).toBe(false);
    expect([...panel.querySelectorAll(".rnnw-help-gesture")].map((g) => g.textContent)).toContain("shift-drag across bars");
  });
});
