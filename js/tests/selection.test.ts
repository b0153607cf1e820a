import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { encodeCells } from "../src/lib/binary";
import { FakeModel, FakeWidgetManager } from "../src/lib/fake_model";
import {
  debounce,
  followSelection,
  readSelection,
  resolveModel,
  throttle,
  type SelectionModel,
  type SelectionState,
} from "../src/lib/selection";

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

describe("followSelection", () => {
  const last = <T,>(items: T[]): T => items[items.length - 1] as T;
  function follower(manager: FakeWidgetManager, ref: string) {
    const view = new FakeModel<{ selection: string }>({ selection: ref }, manager);
    const seen: { selection: SelectionModel | null; error: string }[] = [];
    const onCells = vi.fn();
    const settled = vi.fn();
    const following = followSelection({
      model: view,
      view: "TestView",
      events: { "change:cells": onCells },
      assign: (selection, error) => seen.push({ selection, error }),
      settled,
    });
    return { view, seen, onCells, settled, following };
  }

  it("binds the view's handlers to the Selection it refers to", async () => {
    const manager = new FakeWidgetManager();
    const selection = new FakeModel(STATE, manager);
    const { seen, onCells, settled, following } = follower(manager, manager.add(selection));
    await following.rebind();
    expect(last(seen)).toEqual({ selection, error: "" });
    expect(settled).toHaveBeenCalledTimes(1);
    selection.receive("cells", encodeCells([7]));
    expect(onCells).toHaveBeenCalledTimes(1);
  });

  it("moves the handlers when the reference changes, and unbinds on dispose", async () => {
    const manager = new FakeWidgetManager();
    const first = new FakeModel(STATE, manager);
    const second = new FakeModel(STATE, manager);
    const { view, seen, following } = follower(manager, manager.add(first));
    await following.rebind();
    view.receive("selection", manager.add(second));
    await following.rebind();
    expect(last(seen).selection).toBe(second);
    expect(first.listenerCount()).toBe(0);
    expect(second.listenerCount()).toBe(1);
    following.dispose();
    expect(second.listenerCount()).toBe(0);
  });

  it("names the view and the cause when the Selection cannot be found", async () => {
    const manager = new FakeWidgetManager();
    const { seen, settled, following } = follower(manager, "IPY_MODEL_gone");
    await following.rebind();
    expect(last(seen).selection).toBeNull();
    expect(last(seen).error).toMatch(/^TestView could not find its Selection: .*no model with id gone/);
    expect(settled).toHaveBeenCalledTimes(1);
  });

  it("lets a newer rebind win over an older one still pending, and ignores both after dispose", async () => {
    const manager = new FakeWidgetManager();
    const slow = new FakeModel(STATE, manager);
    const fast = new FakeModel(STATE, manager);
    const slowRef = manager.add(slow);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const get = manager.get_model.bind(manager);
    manager.get_model = async (id: string) => {
      if (`IPY_MODEL_${id}` === slowRef) await gate;
      return get(id);
    };
    const { view, seen, following } = follower(manager, slowRef);
    const older = following.rebind();
    view.receive("selection", manager.add(fast));
    await following.rebind();
    release();
    await older;
    expect(last(seen).selection).toBe(fast);
    expect(slow.listenerCount()).toBe(0);

    view.receive("selection", slowRef);
    const late = following.rebind();
    following.dispose();
    await late;
    expect(slow.listenerCount()).toBe(0);
    expect(fast.listenerCount()).toBe(0);
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
