import { describe, expect, it, vi } from "vitest";
import { decodeCells, encodeCells } from "../src/lib/binary";
import { FakeModel, FakeWidgetManager } from "../src/lib/fake_model";
import { columnCenter } from "../src/lib/hit";
import { linearScale, roundTo } from "../src/lib/scale";
import type { SelectionState } from "../src/lib/selection";
import view, { FALLBACK_WIDTH, MARGIN, type SelectViewState, type WindowPayload } from "../src/views/select_view";
import { cleanUpViewsAfterEach, fakeSelection, mountView } from "./view_harness";

const XSS = "<img src=x onerror=alert(1)>";
const N_CELLS = 6;
const HEIGHT = 300;

/** Values like the browser test's: cell k at column c is -1 + (c * 6 + k) * 2 / 47, over steps 0..7. */
function value(step: number, cell: number): number {
  return -1 + ((step * N_CELLS + cell) * 2) / 47;
}

function makeWindow(start: number, tokens: string[], sequenceStarts: number[] = [5]): WindowPayload {
  const n = tokens.length;
  const values = new Float32Array(n * N_CELLS).map((_, i) => value(start + Math.floor(i / N_CELLS), i % N_CELLS));
  const u32 = (xs: number[]) => new DataView(new Uint32Array(xs).buffer);
  return {
    start,
    tokens,
    values: { dtype: "float32", shape: [n, N_CELLS], data: new DataView(values.buffer) },
    sequence_starts: { dtype: "uint32", shape: [sequenceStarts.length], data: u32(sequenceStarts) },
    sequence: 0,
    positions: { dtype: "uint32", shape: [n], data: u32(tokens.map((_, i) => (start + i < 5 ? start + i : start + i - 5))) },
    value_range: [-1, 1],
    layer: 0,
    kind: "h",
  };
}

const TOKENS = [XSS, "b", "c", "d", "e", "f", "g", "h"];

const nextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

cleanUpViewsAfterEach();

async function setup(over: Partial<SelectViewState> = {}, selOver: Partial<SelectionState> = {}) {
  const manager = new FakeWidgetManager();
  const selection = fakeSelection(manager, selOver);
  const model = new FakeModel<SelectViewState>(
    {
      selection: manager.add(selection),
      _window: makeWindow(0, TOKENS),
      window_start: 0,
      window_size: 8,
      height: HEIGHT,
      _layers: [
        { layer: 0, kinds: ["h", "c"], n_cells: N_CELLS },
        { layer: 1, kinds: ["c"], n_cells: N_CELLS },
      ],
      _n_steps: 40,
      _n_sequences: 2,
      error: "",
      ...over,
    },
    manager,
  );
  const { el, cleanup } = await mountView(view, model);
  await nextFrame();
  const root = el.querySelector<HTMLElement>(".rnnw-select-view")!;
  const q = <T extends Element = HTMLElement>(selector: string) => root.querySelector<T>(selector)!;
  return { model, selection, el, root, q, cleanup };
}

// The geometry the view uses in jsdom (no layout: the fallback width, rects at 0, 0).
const yScale = linearScale([-1, 1], [HEIGHT - MARGIN.bottom, MARGIN.top], { clamp: true });
const columns = { left: MARGIN.left, width: FALLBACK_WIDTH - MARGIN.left - MARGIN.right, count: TOKENS.length };
const pointer = (type: string, x: number, y: number) =>
  new PointerEvent(type, { clientX: x, clientY: y, button: 0, bubbles: true, cancelable: true });

describe("SelectView tokens", () => {
  it("renders every token as literal text, never as HTML", async () => {
    const { root, el } = await setup();
    const tokens = [...root.querySelectorAll(".rnnw-tokens > .rnnw-token")];
    expect(tokens.map((t) => t.textContent)).toEqual(TOKENS);
    expect(tokens[0]!.getAttribute("title")).toBe(XSS);
    expect(el.querySelector("img")).toBeNull();
  });

  it("shows whitespace tokens visibly and keeps the raw token in the title", async () => {
    const { root } = await setup({ _window: makeWindow(0, ["\n", " ", "a b", "\t", "x\ny"], []) });
    const tokens = [...root.querySelectorAll(".rnnw-token")];
    expect(tokens.map((t) => t.textContent)).toEqual(["⏎", "␣", "a b", "⇥", "x⏎y"]);
    expect(tokens.map((t) => t.getAttribute("title"))).toEqual(["\n", " ", "a b", "\t", "x\ny"]);
  });

  it("sets the data attributes the browser tests read", async () => {
    const { root } = await setup();
    expect(root.dataset.windowStart).toBe("0");
    expect(root.dataset.nCells).toBe(String(N_CELLS));
    expect(root.dataset.threshold).toBe("0.3");
    expect(Number(root.dataset.renderCount)).toBeGreaterThan(0);
    expect(root.tabIndex).toBe(0);
    expect(root.querySelector(".rnnw-position")!.textContent).toBe("sequence 0 (of 2) · steps 0–8 of 40");
  });
});

describe("SelectView kernel -> browser", () => {
  it("updates tokens and data-window-start on a new _window without saving anything", async () => {
    const { model, selection, root } = await setup();
    const renders = Number(root.dataset.renderCount);
    model.receive("_window", makeWindow(8, ["i", "j", "k", "l", "m", "n", "o", "p"], []));
    await nextFrame();
    expect([...root.querySelectorAll(".rnnw-token")].map((t) => t.textContent)).toEqual(["i", "j", "k", "l", "m", "n", "o", "p"]);
    expect(root.dataset.windowStart).toBe("8");
    expect(Number(root.dataset.renderCount)).toBe(renders + 1);
    expect(model.calls).toEqual([]);
    expect(selection.calls).toEqual([]);
  });

  it("redraws a Selection change from elsewhere without writing it back", async () => {
    const { selection, root } = await setup();
    const renders = Number(root.dataset.renderCount);
    selection.receive("threshold", -0.5);
    await nextFrame();
    expect(root.dataset.threshold).toBe("-0.5");
    expect(Number(root.dataset.renderCount)).toBeGreaterThan(renders);
    expect(root.querySelector<HTMLElement>(".rnnw-threshold-handle")!.style.top).toBe(`${yScale(-0.5)}px`);
    expect(selection.calls).toEqual([]);
  });

  it("shows a non-empty error in place of the plot, keeps the toolbar, and hides it when cleared", async () => {
    const { model, q } = await setup();
    const error = q(".rnnw-error");
    expect(error.hidden).toBe(true);
    model.receive("error", "layer 3 was not recorded; the trace has layers [0, 1]");
    await nextFrame();
    expect(error.hidden).toBe(false);
    expect(error.textContent).toBe("layer 3 was not recorded; the trace has layers [0, 1]");
    expect(q(".rnnw-body").hidden).toBe(true);
    expect(q(".rnnw-toolbar").hidden).toBe(false);
    expect(q<HTMLButtonElement>("button.rnnw-next-seq").disabled).toBe(false);
    model.receive("error", "");
    await nextFrame();
    expect(error.hidden).toBe(true);
    expect(q(".rnnw-body").hidden).toBe(false);
  });

  it("reports a malformed _window in the error box instead of going blank", async () => {
    const bad = makeWindow(0, TOKENS);
    bad.values = { dtype: "float32", shape: [8, N_CELLS], data: new DataView(new ArrayBuffer(10)) };
    const { q } = await setup({ _window: bad });
    expect(q(".rnnw-error").hidden).toBe(false);
    expect(q(".rnnw-error").textContent).toMatch(/needs 192 bytes, got 10/);
    expect(q("select.rnnw-layer")).not.toBeNull();
  });

  it("reports a Selection that cannot be resolved", async () => {
    const { q } = await setup({ selection: "IPY_MODEL_missing" });
    expect(q(".rnnw-error").textContent).toMatch(/could not find its Selection: no model with id missing/);
  });
});

describe("SelectView gestures", () => {
  it("previews the dragged threshold from the inverted y scale and saves once on release", async () => {
    const { selection, q, root } = await setup();
    const handle = q(".rnnw-threshold-handle");
    handle.dispatchEvent(pointer("pointerdown", 5, yScale(0.3)));
    window.dispatchEvent(pointer("pointermove", 5, 100));
    window.dispatchEvent(pointer("pointermove", 5, 60));
    expect(selection.setsOf("threshold")).toEqual([roundTo(yScale.invert(100), 2), roundTo(yScale.invert(60), 2)]);
    expect(selection.get("threshold")).toBeCloseTo(yScale.invert(60), 3);
    expect(selection.saves).toBe(0);
    window.dispatchEvent(pointer("pointerup", 5, 60));
    expect(selection.saves).toBe(1);
    window.dispatchEvent(pointer("pointermove", 5, 200));
    expect(selection.setsOf("threshold")).toHaveLength(2);
    await nextFrame();
    expect(root.dataset.threshold).toBe(String(selection.get("threshold")));
  });

  it("clamps a threshold dragged past the plot to the value range", async () => {
    const { selection, q } = await setup();
    q(".rnnw-threshold-handle").dispatchEvent(pointer("pointerdown", 5, yScale(0.3)));
    window.dispatchEvent(pointer("pointermove", 5, -500));
    window.dispatchEvent(pointer("pointerup", 5, -500));
    expect(selection.get("threshold")).toBe(1);
  });

  it("sets the layer from the layer select and saves, keeping the kind valid", async () => {
    const { selection, q } = await setup();
    const select = q<HTMLSelectElement>("select.rnnw-layer");
    expect([...select.options].map((o) => o.value)).toEqual(["0", "1"]);
    select.value = "1";
    select.dispatchEvent(new Event("change", { bubbles: true }));
    expect(selection.get("layer")).toBe(1);
    expect(selection.get("kind")).toBe("c"); // layer 1 records only "c"
    expect(selection.saves).toBe(1);
    expect(selection.lastSave()).toEqual({ layer: 1, kind: "c" });
  });

  it("sets the kind from the kind select and saves", async () => {
    const { selection, q } = await setup();
    const select = q<HTMLSelectElement>("select.rnnw-kind");
    expect([...select.options].map((o) => o.value)).toEqual(["h", "c"]);
    select.value = "c";
    select.dispatchEvent(new Event("change", { bubbles: true }));
    expect(selection.get("kind")).toBe("c");
    expect(selection.saves).toBe(1);
  });

  it("moves to the next and previous sequence and saves, within the trace", async () => {
    const { selection, q } = await setup();
    const next = q<HTMLButtonElement>("button.rnnw-next-seq");
    next.click();
    expect(selection.get("sequence")).toBe(1);
    expect(selection.saves).toBe(1);
    await nextFrame();
    expect(next.disabled).toBe(true); // the last of 2 sequences
    // The position names the Selection's sequence, not the window's first one.
    expect(q(".rnnw-position").textContent).toMatch(/^sequence 1 \(of 2\)/);
    next.click();
    expect(selection.get("sequence")).toBe(1);
    q<HTMLButtonElement>("button.rnnw-prev-seq").click();
    expect(selection.get("sequence")).toBe(0);
    expect(selection.saves).toBe(2);
  });

  it("hovering sets hovered_step, shows a text tooltip and saves at most every 150 ms", async () => {
    const { selection, q } = await setup();
    const plot = q<HTMLCanvasElement>("canvas.rnnw-plot");
    const y = yScale(value(4, 2));
    plot.dispatchEvent(pointer("pointermove", columnCenter(columns, 4), y));
    plot.dispatchEvent(pointer("pointermove", columnCenter(columns, 5), y));
    plot.dispatchEvent(pointer("pointermove", columnCenter(columns, 4), y));
    expect(selection.setsOf("hovered_step")).toEqual([4, 5, 4]);
    expect(selection.saves).toBe(0);
    await nextFrame();
    const tooltip = q(".rnnw-tooltip");
    expect(tooltip.hidden).toBe(false);
    expect(tooltip.textContent).toBe(`"e"  step 4\nsequence:position 0:4\ncell 2 = ${value(4, 2).toPrecision(4)}`);
    await sleep(200);
    expect(selection.saves).toBe(1);
    plot.dispatchEvent(pointer("pointermove", columnCenter(columns, 6), 0));
    await nextFrame();
    expect(tooltip.textContent).toBe(`"g"  step 6\nsequence:position 1:1`); // no line near: no cell
    plot.dispatchEvent(pointer("pointerleave", 0, 0));
    expect(selection.get("hovered_step")).toBeNull();
    await nextFrame();
    expect(tooltip.hidden).toBe(true);
  });

  it("clicking a hovered cell line toggles it in selection.cells and saves", async () => {
    const { selection, q } = await setup({}, { cells: encodeCells([5]) });
    const plot = q<HTMLCanvasElement>("canvas.rnnw-plot");
    const x = columnCenter(columns, 4);
    const y = yScale(value(4, 2)) + 2; // within the tolerance of cell 2, nearer than cells 1 and 3
    plot.dispatchEvent(pointer("pointermove", x, y));
    plot.dispatchEvent(new MouseEvent("click", { clientX: x, clientY: y, bubbles: true }));
    expect(JSON.parse(JSON.stringify(selection.get("cells")))).toEqual([2, 5]); // survives ipywidgets' JSON copy
    expect(decodeCells(selection.get("cells"))).toEqual([2, 5]);
    expect(decodeCells(selection.lastSave()?.cells)).toEqual([2, 5]);
    plot.dispatchEvent(new MouseEvent("click", { clientX: x, clientY: y, bubbles: true }));
    expect(decodeCells(selection.get("cells"))).toEqual([5]);
    plot.dispatchEvent(new MouseEvent("click", { clientX: x, clientY: 0, bubbles: true })); // far from every line
    expect(decodeCells(selection.get("cells"))).toEqual([5]);
  });

  it("dragging across the token axis selects start:stop of the covered steps, saved on release", async () => {
    const { selection, model, q } = await setup({ _window: makeWindow(8, ["i", "j", "k", "l", "m", "n", "o", "p"], []) });
    const tokens = q(".rnnw-tokens");
    const at = (col: number) => columnCenter({ ...columns, left: 0 }, col);
    tokens.dispatchEvent(pointer("pointerdown", at(5), 5));
    window.dispatchEvent(pointer("pointermove", at(2), 5));
    await nextFrame();
    const inRange = [...tokens.querySelectorAll(".rnnw-token")].map((t) => t.classList.contains("rnnw-token-in-range"));
    expect(inRange).toEqual([false, false, true, true, true, true, false, false]);
    expect(selection.saves).toBe(0);
    window.dispatchEvent(pointer("pointerup", at(2), 5));
    expect([selection.get("start"), selection.get("stop")]).toEqual([10, 14]);
    expect(selection.saves).toBe(1);
    expect(model.saves).toBe(0);
  });

  it("scrolls with the keys and buttons, saving window_start at once", async () => {
    const { model, root, q } = await setup();
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    expect(model.get("window_start")).toBe(1);
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "PageDown", bubbles: true }));
    expect(model.get("window_start")).toBe(9);
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowLeft", bubbles: true }));
    expect(model.get("window_start")).toBe(8);
    expect(model.saves).toBe(3);
    await nextFrame(); // the buttons' disabled state follows the next frame
    q<HTMLButtonElement>("button.rnnw-scroll-left").click(); // half a window
    expect(model.get("window_start")).toBe(4);
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "PageUp", bubbles: true }));
    expect(model.get("window_start")).toBe(0); // clamped at the first step
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowLeft", bubbles: true }));
    expect(model.saves).toBe(5);
  });

  it("scrolls with the wheel, saving once after the wheel stops", async () => {
    const { model, q } = await setup();
    const area = q(".rnnw-plot-area");
    const wheel = new WheelEvent("wheel", { deltaY: 80, bubbles: true, cancelable: true });
    area.dispatchEvent(wheel);
    area.dispatchEvent(new WheelEvent("wheel", { deltaY: 80, bubbles: true, cancelable: true }));
    expect(wheel.defaultPrevented).toBe(true);
    expect(model.get("window_start")).toBe(4);
    expect(model.saves).toBe(0);
    await sleep(150);
    expect(model.saves).toBe(1);
  });
});

describe("SelectView drawing", () => {
  function recordingContext() {
    const strokes: { style: unknown; dash: number[] }[] = [];
    let dash: number[] = [];
    const ctx: Record<string | symbol, unknown> = {};
    const proxy = new Proxy(ctx, {
      get(target, key) {
        if (key === "stroke") return () => strokes.push({ style: target.strokeStyle, dash });
        if (key === "setLineDash") return (d: number[]) => (dash = d);
        if (key in target) return target[key];
        return () => undefined;
      },
      set(target, key, value) {
        target[key] = value;
        return true;
      },
    });
    return { ctx: proxy as unknown as CanvasRenderingContext2D, strokes };
  }

  it("strokes selected cells in the accent colour and the threshold dashed red", async () => {
    const { ctx, strokes } = recordingContext();
    vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(ctx as never);
    const { selection, q } = await setup();
    expect(strokes.some((s) => s.style === "#d32f2f" && s.dash.length === 2)).toBe(true);
    const accentBefore = strokes.filter((s) => s.style === "#1976d2").length;
    selection.receive("cells", encodeCells([1]));
    await nextFrame();
    expect(strokes.filter((s) => s.style === "#1976d2").length).toBeGreaterThan(accentBefore);
    expect(q(".rnnw-error").hidden).toBe(true);
    const canvas = q<HTMLCanvasElement>("canvas.rnnw-plot");
    expect(canvas.style.width).toBe(`${FALLBACK_WIDTH}px`);
    expect(canvas.style.height).toBe(`${HEIGHT}px`);
  });

  it("shows a drawing exception in the error box rather than going blank", async () => {
    const { ctx } = recordingContext();
    (ctx as unknown as Record<string, unknown>).fillText = () => {
      throw new Error("boom");
    };
    vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(ctx as never);
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { q } = await setup();
    expect(logged).toHaveBeenCalled();
    expect(q(".rnnw-error").hidden).toBe(false);
    expect(q(".rnnw-error").textContent).toBe("SelectView could not draw: boom");
  });
});

describe("SelectView cleanup", () => {
  it("removes every listener so later changes no longer touch the DOM", async () => {
    const { model, selection, root, el, cleanup } = await setup();
    const before = model.listenerCount();
    expect(before).toBeGreaterThan(0);
    expect(selection.listenerCount()).toBeGreaterThan(0);
    const next = root.querySelector<HTMLButtonElement>("button.rnnw-next-seq")!;
    const renders = root.dataset.renderCount;
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(selection.listenerCount()).toBe(0);
    expect(el.contains(root)).toBe(false);
    model.receive("_window", makeWindow(8, ["i", "j"], []));
    selection.receive("threshold", 0.9);
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    next.click();
    await nextFrame();
    expect(root.dataset.renderCount).toBe(renders);
    expect(root.dataset.threshold).toBe("0.3");
    expect(root.querySelector(".rnnw-token")!.textContent).toBe(XSS);
    expect(model.calls).toEqual([]);
    expect(selection.calls).toEqual([]);
  });
});

// ---------------------------------------------------------------- selected cells, preview, heat
const tokenData = (root: HTMLElement, key: string) => [...root.querySelectorAll<HTMLElement>(".rnnw-token")].map((t) => t.dataset[key]);
const tokenHas = (root: HTMLElement, cls: string) => [...root.querySelectorAll(".rnnw-token")].map((t) => t.classList.contains(cls));

describe("SelectView selected cells", () => {
  it("previews select_cells live during a threshold drag and keeps it until the kernel's cells arrive", async () => {
    // range 1:3, one off step before: at -0.6 cells 4 and 5 are on at steps 1-2 and off at step 0
    const { selection, root, q } = await setup({}, { start: 1, stop: 3 });
    expect(root.dataset.highlighted).toBe("");
    q(".rnnw-threshold-handle").dispatchEvent(pointer("pointerdown", 5, yScale(0.3)));
    window.dispatchEvent(pointer("pointermove", 5, yScale(-0.6)));
    expect(selection.get("threshold")).toBe(-0.6);
    await nextFrame();
    expect(root.dataset.highlighted).toBe("4,5");
    expect(root.dataset.preview).toBe("exact");
    expect(decodeCells(selection.get("cells"))).toEqual([]); // only the kernel sets them
    window.dispatchEvent(pointer("pointerup", 5, yScale(-0.6)));
    expect(selection.saves).toBe(1);
    expect(selection.lastSave()).toEqual({ threshold: -0.6 });
    await nextFrame();
    expect(root.dataset.highlighted).toBe("4,5"); // no flicker while the kernel computes
    selection.receive("cells", encodeCells([4, 5]));
    await nextFrame();
    expect(root.dataset.highlighted).toBe("4,5");
    expect(root.dataset.preview).toBe("");
    expect(selection.calls.filter((c) => c.method === "set" && c.key === "cells")).toEqual([]);
  });

  it("previews while brushing the token axis", async () => {
    const { root, q } = await setup({}, { threshold: -0.6 });
    const at = (col: number) => columnCenter({ ...columns, left: 0 }, col);
    q(".rnnw-tokens").dispatchEvent(pointer("pointerdown", at(1), 5));
    window.dispatchEvent(pointer("pointermove", at(2), 5));
    await nextFrame();
    expect(root.dataset.highlighted).toBe("4,5");
    window.dispatchEvent(pointer("pointermove", at(6), 5)); // crosses the sequence start at step 5: no exact preview
    await nextFrame();
    expect(root.dataset.preview).toBe("");
    expect(root.dataset.highlighted).toBe("");
  });

  it("shades each column by the share of selected cells on there", async () => {
    const { selection, root } = await setup({}, { cells: encodeCells([4, 5]), threshold: -0.6 });
    expect(tokenData(root, "heat")).toEqual(["0.000", "1.000", "1.000", "1.000", "1.000", "1.000", "1.000", "1.000"]);
    selection.receive("threshold", -0.55); // cell 4 (-0.574) is off at step 1, cell 5 (-0.532) on
    await nextFrame();
    expect(tokenData(root, "heat").slice(0, 3)).toEqual(["0.000", "0.500", "1.000"]);
    selection.receive("cells", encodeCells([]));
    await nextFrame();
    expect(tokenData(root, "heat")).toEqual(Array(8).fill("0"));
  });

  it("shows a select error above the plot and keeps the plot usable", async () => {
    const { model, q } = await setup();
    model.receive("select_error", "start:stop (2:7) crosses the end of sequence 0 at step 5; select within one sequence");
    await nextFrame();
    expect(q(".rnnw-select-error").hidden).toBe(false);
    expect(q(".rnnw-select-error").textContent).toMatch(/crosses the end of sequence 0/);
    expect(q(".rnnw-body").hidden).toBe(false);
    expect(q(".rnnw-threshold-handle").hidden).toBe(false);
    model.receive("select_error", "");
    await nextFrame();
    expect(q(".rnnw-select-error").hidden).toBe(true);
  });
});

describe("SelectView pattern", () => {
  it("extends and shrinks the padding with the pattern buttons, saving each change", async () => {
    const { selection, root, q } = await setup({}, { start: 3, stop: 5 });
    const click = (cls: string) => q<HTMLButtonElement>(`button.${cls}`).click();
    expect(q<HTMLButtonElement>("button.rnnw-pad-after-less").disabled).toBe(true);
    expect(tokenHas(root, "rnnw-token-pad")).toEqual([false, false, true, false, false, false, false, false]);
    click("rnnw-pad-before-more");
    expect(selection.get("pad_before")).toBe(2);
    expect(selection.lastSave()).toEqual({ pad_before: 2 });
    click("rnnw-pad-after-more");
    expect(selection.lastSave()).toEqual({ pad_after: 1 });
    await nextFrame();
    expect(q(".rnnw-pattern").querySelectorAll(".rnnw-pattern-off")).toHaveLength(3);
    expect(q(".rnnw-pattern-on").textContent).toBe("on ×2");
    // step 5 starts the next sequence: padding there imposes nothing and is not shaded
    expect(tokenHas(root, "rnnw-token-pad")).toEqual([false, true, true, false, false, false, false, false]);
    click("rnnw-pad-after-less");
    click("rnnw-pad-before-less");
    click("rnnw-pad-before-less");
    expect([selection.get("pad_before"), selection.get("pad_after")]).toEqual([0, 0]);
    expect(selection.saves).toBe(5);
    await nextFrame();
    expect(q<HTMLButtonElement>("button.rnnw-pad-before-less").disabled).toBe(true);
    click("rnnw-pad-before-less");
    expect(selection.saves).toBe(5);
  });
});

describe("SelectView tracks and predictions", () => {
  const u32 = (xs: number[]) => ({ dtype: "uint32", shape: [xs.length], data: new DataView(new Uint32Array(xs).buffer) });
  const f32 = (xs: number[], shape = [xs.length]) => ({ dtype: "float32", shape, data: new DataView(new Float32Array(xs).buffer) });

  it("draws each track as a row of text-only cells and the top predictions", async () => {
    const annotated: WindowPayload = {
      ...makeWindow(0, ["a", "b", "c"], []),
      tracks: [
        { name: XSS, label_type: "categorical", codes: u32([0, 1, 0]), categories: ["NN", XSS] },
        { name: "depth", label_type: "numeric", values: f32([0, 2, 4]), min: 0, max: 4 },
      ],
      predictions: { labels: ["x", "y", XSS, "z", "\n", "w"], probabilities: f32([0.75, 0.25, 0.5, 0.5, 0.1, 0.05], [3, 2]) },
    };
    const { root, el } = await setup({ _window: annotated });
    const rows = [...root.querySelectorAll<HTMLElement>(".rnnw-row")];
    expect(rows.map((r) => r.querySelector(".rnnw-row-name")!.textContent)).toEqual([XSS, "depth", "predicted"]);
    const [pos, depth, predicted] = rows as [HTMLElement, HTMLElement, HTMLElement];
    const posCells = [...pos.querySelectorAll<HTMLElement>(".rnnw-track-cell")];
    expect(posCells.map((c) => c.title)).toEqual([`${XSS}: NN`, `${XSS}: ${XSS}`, `${XSS}: NN`]);
    expect(posCells.map((c) => c.textContent)).toEqual(["", "", ""]);
    expect(posCells[0]!.style.backgroundColor).toBe(posCells[2]!.style.backgroundColor);
    expect(posCells[0]!.style.backgroundColor).not.toBe(posCells[1]!.style.backgroundColor);
    const depthCells = [...depth.querySelectorAll<HTMLElement>(".rnnw-track-cell")];
    expect(depthCells.map((c) => c.title)).toEqual(["depth: 0.00", "depth: 2.00", "depth: 4.00"]);
    const preds = [...predicted.querySelectorAll<HTMLElement>(".rnnw-prediction")];
    expect(preds.map((p) => p.textContent)).toEqual(["x", XSS, "⏎"]);
    expect(preds.map((p) => p.dataset.probability)).toEqual(["0.750", "0.500", "0.100"]);
    expect(preds[0]!.style.getPropertyValue("--rnnw-p")).toBe("0.75"); // the background's strength; the text stays opaque
    expect(preds[0]!.style.opacity).toBe("");
    expect(preds[1]!.title).toBe(`${JSON.stringify(XSS)} 0.500\n"z" 0.500`);
    expect(el.querySelector("img")).toBeNull();
  });

  it("shows no rows without tracks or predictions", async () => {
    const { q } = await setup();
    expect(q(".rnnw-rows").hidden).toBe(true);
    expect(q(".rnnw-rows").children).toHaveLength(0);
  });
});

describe("SelectView navigation and zoom", () => {
  it("sends the search and go-to queries on Enter, with a new request number each time", async () => {
    const { model, q } = await setup();
    const search = q<HTMLInputElement>("input.rnnw-search");
    search.value = "dog ";
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    expect(model.get("window_start")).toBe(0); // typing does not scroll
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(model.lastSave()).toEqual({ search_query: "dog", _search_request: 1 });
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(model.lastSave()).toEqual({ _search_request: 2 }); // Enter again: the next hit
    const goto = q<HTMLInputElement>("input.rnnw-goto");
    goto.value = "1:2";
    goto.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(model.lastSave()).toEqual({ goto_query: "1:2", _goto_request: 1 });
  });

  it("marks the hit columns and shows the kernel's message as text", async () => {
    const { model, root, q } = await setup();
    model.receive("_search_hits", { dtype: "uint32", shape: [1, 2], data: new DataView(new Uint32Array([2, 4]).buffer) });
    model.receive("message", `no hit for '${XSS}'`);
    await nextFrame();
    expect(tokenHas(root, "rnnw-token-hit")).toEqual([false, false, true, true, false, false, false, false]);
    expect(q(".rnnw-message").textContent).toBe(`no hit for '${XSS}'`);
    expect(q(".rnnw-message").hidden).toBe(false);
    expect(q(".rnnw-error").hidden).toBe(true);
    expect(root.querySelector("img")).toBeNull();
  });

  it("zooms by changing the column width and reporting the plot width", async () => {
    const { model, q } = await setup();
    const plotWidth = FALLBACK_WIDTH - MARGIN.left - MARGIN.right;
    q<HTMLButtonElement>("button.rnnw-zoom-in").click();
    expect(model.lastSave()).toEqual({ _plot_width: plotWidth, column_width: Math.round((plotWidth / 8) * 1.5) });
    q<HTMLButtonElement>("button.rnnw-zoom-out").click();
    expect(model.get("column_width")).toBe(Math.round(Math.round((plotWidth / 8) * 1.5) / 1.5));
    model.receive("column_width", 4);
    await nextFrame();
    expect(q<HTMLButtonElement>("button.rnnw-zoom-out").disabled).toBe(true);
  });
});

describe("SelectView pinned to a layer", () => {
  it("shows its own layer and highlights cells only where the Selection's layer is shown", async () => {
    const pinned = { ...makeWindow(0, TOKENS), layer: 1, kind: "c" };
    const { selection, root, q } = await setup({ layer: 1, _window: pinned }, { cells: encodeCells([2]) });
    expect(q<HTMLSelectElement>("select.rnnw-layer").value).toBe("1");
    expect(q<HTMLSelectElement>("select.rnnw-layer").disabled).toBe(true);
    expect(root.classList.contains("rnnw-stale")).toBe(false);
    expect(root.dataset.highlighted).toBe("");
    const x = columnCenter(columns, 4);
    const y = yScale(value(4, 2));
    q("canvas.rnnw-plot").dispatchEvent(new MouseEvent("click", { clientX: x, clientY: y, bubbles: true }));
    expect(selection.saves).toBe(0); // no toggling of another layer's cells
    selection.receive("layer", 1);
    selection.receive("kind", "c");
    await nextFrame();
    expect(root.dataset.highlighted).toBe("2");
  });
});

describe("SelectView hint, legend and help", () => {
  it("shows a neutral hint until something is selected", async () => {
    const { q, selection } = await setup();
    expect(q(".rnnw-select-hint").hidden).toBe(false);
    expect(q(".rnnw-error").hidden).toBe(true);
    selection.receive("cells", new DataView(new Uint32Array([1]).buffer));
    await nextFrame();
    expect(q(".rnnw-select-hint").hidden).toBe(true);
  });

  it("names the plot's colours in a legend, and the tracks' from the palette every view uses", async () => {
    const u32 = (xs: number[]) => ({ dtype: "uint32", shape: [xs.length], data: new DataView(new Uint32Array(xs).buffer) });
    const annotated: WindowPayload = {
      ...makeWindow(0, ["a", "b", "c"], []),
      tracks: [{ name: "pos", label_type: "categorical", codes: u32([0, 2, 0]), categories: ["NN", "VB", "JJ"] }],
    };
    const { root } = await setup({ _window: annotated });
    const names = [...root.querySelectorAll(".rnnw-select-legend .rnnw-legend-item")].map((i) => i.textContent);
    expect(names).toEqual(expect.arrayContaining(["cells", "selected cells", "threshold", "brushed range", "pos: NN", "pos: JJ"]));
    expect(names).not.toContain("pos: VB");
    const cell = root.querySelector<HTMLElement>(".rnnw-track-cell")!;
    expect(cell.style.backgroundColor).toBe("rgb(78, 121, 167)"); // categoryColor(0)
  });

  it("lists its gestures behind the ? button", async () => {
    const { q } = await setup();
    q<HTMLButtonElement>(".rnnw-help-button").click();
    expect(q(".rnnw-help").hidden).toBe(false);
    expect(q(".rnnw-help").textContent).toContain("drag across the tokens");
  });
});
