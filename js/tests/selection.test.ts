import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { encodeCells } from "../src/lib/binary";
import { FakeModel, FakeWidgetManager } from "../src/lib/fake_model";
import { debounce, readSelection, resolveModel, throttle, type SelectionState } from "../src/lib/selection";

describe("throttle and debounce", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("throttle runs once at the end of each interval that saw calls", () => {
    const fn = vi.fn();
    const t = throttle(fn, 150);
    t();
    vi.advanceTimersByTime(50);
    t();
    vi.advanceTimersByTime(50);
    t();
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(50); // 150 ms after the first call
    expect(fn).toHaveBeenCalledTimes(1);
    t();
    vi.advanceTimersByTime(149);
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it("debounce runs once, after the calls stop", () => {
    const fn = vi.fn();
    const d = debounce(fn, 100);
    d();
    vi.advanceTimersByTime(60);
    d();
    vi.advanceTimersByTime(60);
    d();
    vi.advanceTimersByTime(99);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it("cancel drops a pending call and flush runs it now", () => {
    const fn = vi.fn();
    const d = debounce(fn, 100);
    d();
    d.cancel();
    vi.advanceTimersByTime(200);
    expect(fn).not.toHaveBeenCalled();
    d();
    expect(d.pending()).toBe(true);
    d.flush();
    expect(fn).toHaveBeenCalledTimes(1);
    expect(d.pending()).toBe(false);
    d.flush();
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

const STATE: SelectionState = {
  layer: 1,
  kind: "c",
  cells: encodeCells([5, 2]),
  start: 3,
  stop: 9,
  pad_before: 1,
  pad_after: 0,
  threshold: 0.25,
  hovered_step: null,
  sequence: 4,
};

describe("Selection model", () => {
  it("resolves an IPY_MODEL_ reference through the widget manager", async () => {
    const manager = new FakeWidgetManager();
    const selection = new FakeModel(STATE, manager);
    const ref = manager.add(selection);
    expect(ref).toMatch(/^IPY_MODEL_/);
    expect(await resolveModel(ref, manager)).toBe(selection);
    expect(await resolveModel(selection, undefined)).toBe(selection);
    await expect(resolveModel("IPY_MODEL_nope", manager)).rejects.toThrow(/no model with id nope/);
    await expect(resolveModel("selection", manager)).rejects.toThrow(/IPY_MODEL_<id>/);
  });

  it("reads typed fields with decoded cells", () => {
    const snap = readSelection(new FakeModel(STATE));
    expect(snap).toEqual({ layer: 1, kind: "c", cells: [2, 5], start: 3, stop: 9, threshold: 0.25, hoveredStep: null, sequence: 4 });
  });
});

describe("FakeModel", () => {
  it("fires change events only when the value changes, comparing bytes", () => {
    const model = new FakeModel(STATE);
    const seen: string[] = [];
    model.on("change:cells", () => seen.push("cells"));
    model.on("change", () => seen.push("any"));
    model.set("cells", encodeCells([5, 2]));
    expect(seen).toEqual([]);
    model.set("cells", encodeCells([5]));
    expect(seen).toEqual(["cells", "any"]);
  });

  it("records save_changes with the changes since the last save", () => {
    const model = new FakeModel(STATE);
    model.set("threshold", 0.5);
    model.receive("layer", 2);
    model.save_changes();
    expect(model.saves).toBe(1);
    expect(model.lastSave()).toEqual({ threshold: 0.5 });
    expect(model.get("layer")).toBe(2);
  });

  it("off removes a listener", () => {
    const model = new FakeModel(STATE);
    const cb = vi.fn();
    model.on("change:layer", cb);
    model.off("change:layer", cb);
    model.receive("layer", 3);
    expect(cb).not.toHaveBeenCalled();
    expect(model.listenerCount()).toBe(0);
  });
});
