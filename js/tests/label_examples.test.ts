import { describe, expect, it } from "vitest";
import { FakeModel, FakeWidgetManager } from "../src/lib/fake_model";
import { columnCenter } from "../src/lib/hit";
import { addExample, examplesInWindow, readExamples, removeExample, type Example } from "../src/lib/label_examples";
import view, { FALLBACK_WIDTH, MARGIN, type SelectViewState, type WindowPayload } from "../src/views/select_view";
import { cleanUpViewsAfterEach, fakeSelection, mountView } from "./view_harness";

const pos = (start: number, stop: number): Example => ({ start, stop, label: 1 });
const neg = (start: number, stop: number): Example => ({ start, stop, label: 0 });

describe("label_examples", () => {
  it("reads well-formed examples and leaves anything else out", () => {
    const raw = [pos(1, 3), { start: 2, stop: 2, label: 1 }, { start: 1, stop: 4, label: 2 }, null, { start: "a", stop: 3, label: 0 }, neg(4, 6)];
    expect(readExamples(raw)).toEqual([pos(1, 3), neg(4, 6)]);
    expect(readExamples(undefined)).toEqual([]);
  });

  it("adds an example at the end, relabelling one of the same range", () => {
    expect(addExample([pos(1, 3), neg(5, 6)], neg(1, 3))).toEqual([neg(5, 6), neg(1, 3)]);
    expect(addExample([pos(1, 3)], pos(4, 6), 1)).toBeNull(); // full
    expect(addExample([pos(1, 3)], neg(1, 3), 1)).toEqual([neg(1, 3)]); // a relabel still fits
  });

  it("merges the examples of the same label a new one overlaps", () => {
    expect(addExample([pos(0, 3), neg(10, 12), pos(5, 8)], pos(2, 6))).toEqual([neg(10, 12), pos(0, 8)]);
    expect(addExample([pos(0, 3)], pos(3, 5))).toEqual([pos(0, 3), pos(3, 5)]); // touching is not overlapping
  });

  it("cuts the examples of the other label away under a new one, splitting one if need be", () => {
    expect(addExample([pos(0, 10)], neg(3, 5))).toEqual([pos(0, 3), pos(5, 10), neg(3, 5)]);
    expect(addExample([pos(0, 4), pos(6, 9)], neg(2, 8))).toEqual([pos(0, 2), pos(8, 9), neg(2, 8)]);
    expect(addExample([pos(3, 5)], neg(0, 10))).toEqual([neg(0, 10)]);
    expect(addExample([pos(0, 10)], neg(3, 5), 2)).toBeNull(); // the split would pass the bound
  });

  it("removes the example at an index", () => {
    expect(removeExample([pos(1, 3), neg(5, 6)], 0)).toEqual([neg(5, 6)]);
    expect(removeExample([pos(1, 3)], 4)).toEqual([pos(1, 3)]);
  });

  it("clips the examples overlapping a window to its columns and keeps their indices", () => {
    const shown = examplesInWindow([pos(0, 3), neg(5, 20), pos(30, 31)], 2, 8);
    expect(shown).toEqual([
      { ...pos(0, 3), index: 0, from: 0, to: 1 },
      { ...neg(5, 20), index: 1, from: 3, to: 8 },
    ]);
  });
});

// ---------------------------------------------------------------- the SelectView in labelling mode

const N_CELLS = 2;
const TOKENS = ["a", "b", "c", "d", "e", "f", "g", "h"];
const columns = { left: 0, width: FALLBACK_WIDTH - MARGIN.left - MARGIN.right, count: TOKENS.length };
const at = (col: number) => columnCenter(columns, col);
const nextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));
const pointer = (type: string, x: number, shiftKey = false) => new PointerEvent(type, { clientX: x, clientY: 5, button: 0, bubbles: true, cancelable: true, shiftKey });

function makeWindow(start: number): WindowPayload {
  const u32 = (xs: number[]) => new DataView(new Uint32Array(xs).buffer);
  const values = new Float32Array(TOKENS.length * N_CELLS);
  return {
    start,
    tokens: TOKENS,
    values: { dtype: "float32", shape: [TOKENS.length, N_CELLS], data: new DataView(values.buffer) },
    sequence_starts: { dtype: "uint32", shape: [0], data: u32([]) },
    sequence: 0,
    positions: { dtype: "uint32", shape: [TOKENS.length], data: u32(TOKENS.map((_, i) => start + i)) },
    value_range: [-1, 1],
    layer: 0,
    kind: "h",
  };
}

cleanUpViewsAfterEach();

async function setup(over: Partial<SelectViewState> = {}) {
  const manager = new FakeWidgetManager();
  const selection = fakeSelection(manager);
  const model = new FakeModel<SelectViewState>(
    {
      selection: manager.add(selection),
      _window: makeWindow(10),
      window_start: 10,
      window_size: 8,
      height: 200,
      _layers: [{ layer: 0, kinds: ["h"], n_cells: N_CELLS }],
      _n_steps: 40,
      _n_sequences: 1,
      error: "",
      labelling: false,
      examples: [],
      ...over,
    },
    manager,
  );
  const { el } = await mountView(view, model);
  await nextFrame();
  const root = el.querySelector<HTMLElement>(".rnnw-select-view")!;
  const q = <T extends Element = HTMLElement>(selector: string) => root.querySelector<T>(selector)!;
  const brush = (from: number, to: number, shiftKey = false) => {
    q(".rnnw-tokens").dispatchEvent(pointer("pointerdown", at(from), shiftKey));
    window.dispatchEvent(pointer("pointermove", at(to), shiftKey));
    window.dispatchEvent(pointer("pointerup", at(to), shiftKey));
  };
  return { model, selection, root, q, brush };
}

describe("SelectView label by example", () => {
  it("toggles labelling with the toolbar button (aria-pressed) and the L key", async () => {
    const { model, root, q } = await setup();
    const toggle = q<HTMLButtonElement>("button.rnnw-label-toggle");
    expect(toggle.getAttribute("aria-pressed")).toBe("false");
    expect(q(".rnnw-examples").hidden).toBe(true); // no examples, not labelling: no strip
    toggle.click();
    expect(model.get("labelling")).toBe(true);
    expect(model.lastSave()).toEqual({ labelling: true });
    await nextFrame();
    expect(toggle.getAttribute("aria-pressed")).toBe("true");
    expect(q(".rnnw-examples").hidden).toBe(false);
    expect(q(".rnnw-select-hint").textContent).toMatch(/^labelling: /);
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "l", bubbles: true }));
    expect(model.get("labelling")).toBe(false);
  });

  it("adds a brushed range as a positive example and Shift + brush as a negative one, leaving the selection alone", async () => {
    const { model, selection, brush } = await setup({ labelling: true });
    brush(1, 3);
    expect(model.get("examples")).toEqual([pos(11, 14)]);
    brush(6, 5, true);
    expect(model.get("examples")).toEqual([pos(11, 14), neg(15, 17)]);
    expect(model.saves).toBe(2);
    expect(selection.saves).toBe(0);
    expect([selection.get("start"), selection.get("stop")]).toEqual([0, 0]);
  });

  it("without labelling the brush selects a range again", async () => {
    const { model, selection, brush } = await setup();
    brush(1, 3);
    expect([selection.get("start"), selection.get("stop")]).toEqual([11, 14]);
    expect(model.get("examples")).toEqual([]);
  });

  it("draws the examples in the window as bands and marks their tokens; outside ones are kept", async () => {
    const { q, root } = await setup({ examples: [pos(8, 12), neg(16, 30), pos(0, 2)] });
    const bands = [...root.querySelectorAll<HTMLElement>(".rnnw-example")];
    expect(bands.map((b) => [b.dataset.start, b.dataset.stop, b.dataset.label, b.style.left, b.style.width])).toEqual([
      ["8", "12", "1", "0%", "25%"],
      ["16", "30", "0", "75%", "25%"],
    ]);
    expect(bands[0]!.classList.contains("rnnw-example-positive")).toBe(true);
    expect(bands[1]!.getAttribute("aria-label")).toBe("remove the negative example, steps 16–29");
    expect([...root.querySelectorAll<HTMLElement>(".rnnw-token")].map((t) => t.dataset.example)).toEqual(["1", "1", "", "", "", "", "0", "0"]);
    expect(q(".rnnw-examples-name").textContent).toBe("+2 −1");
    const legend = [...root.querySelectorAll<HTMLElement>(".rnnw-select-legend-example")];
    expect(legend.map((item) => item.hidden)).toEqual([false, false]);
  });

  it("removes an example by a click or Delete on it, and all of them with clear", async () => {
    const { model, q, root } = await setup({ examples: [pos(8, 12), neg(16, 30), pos(12, 13)] });
    root.querySelector<HTMLElement>('.rnnw-example[data-start="16"]')!.click();
    expect(model.get("examples")).toEqual([pos(8, 12), pos(12, 13)]);
    await nextFrame();
    const band = root.querySelector<HTMLElement>('.rnnw-example[data-start="12"]')!;
    band.dispatchEvent(new KeyboardEvent("keydown", { key: "Delete", bubbles: true }));
    expect(model.get("examples")).toEqual([pos(8, 12)]);
    q<HTMLButtonElement>("button.rnnw-examples-clear").click();
    expect(model.get("examples")).toEqual([]);
    await nextFrame();
    expect(q<HTMLButtonElement>("button.rnnw-examples-clear").disabled).toBe(true);
    expect(model.saves).toBe(3);
  });

  it("lists the new gestures in its ? panel", async () => {
    const { q } = await setup();
    q<HTMLButtonElement>(".rnnw-help-button").click();
    const text = q(".rnnw-help").textContent ?? "";
    expect(text).toContain("label by example · L");
    expect(text).toContain("Shift + drag across the tokens");
  });
});
