import { describe, expect, it, vi } from "vitest";
import { binColor, binOf, categoryColor, CATEGORICAL, NUMERIC_BINS } from "../src/lib/colormap";
import { FakeModel, FakeWidgetManager } from "../src/lib/fake_model";
import { indexOfSteps, nearestPoint, radiusForLogQ } from "../src/lib/points";
import { bounds, fitBounds, pixelOf, rotation, toPixels, toPlane } from "../src/lib/projection";
import { parseColor, splat } from "../src/lib/splat";
import type { SelectionState } from "../src/lib/selection";
import view, { FALLBACK_WIDTH, HOVER_SAVE_MS, trajectoryOf, type StateSpaceState } from "../src/views/state_space_view";
import { cleanUpViewsAfterEach, fakeSelection, mountView } from "./view_harness";

const f32 = (xs: number[], shape = [xs.length]) => ({ dtype: "float32", shape, data: new DataView(new Float32Array(xs).buffer) });
const u32 = (xs: number[]) => ({ dtype: "uint32", shape: [xs.length], data: new DataView(new Uint32Array(xs).buffer) });
const i32 = (xs: number[]) => ({ dtype: "int32", shape: [xs.length], data: new DataView(new Int32Array(xs).buffer) });
const u8 = (xs: number[]) => ({ dtype: "uint8", shape: [xs.length], data: new DataView(new Uint8Array(xs).buffer) });

const HEIGHT = 300;
const MARGIN = 16;
// The cloud: four states on the axes of the box [-2, 2] x [-1, 1]; steps 10..13.
const CLOUD = [2, 0, 0, 1, -2, 0, 0, -1];
// One trajectory: steps 20, 21 at (1, 0.5) and (-1, -0.5).
const TRAJ = [1, 0.5, -1, -0.5];
/** The pixel of plane point (x, y) in jsdom (the overlay sits at 0, 0). */
function pixel(x: number, y: number): [number, number] {
  const scale = Math.min((FALLBACK_WIDTH - 2 * MARGIN) / 4, (HEIGHT - 2 * MARGIN) / 2);
  return [FALLBACK_WIDTH / 2 + x * scale, HEIGHT / 2 - y * scale];
}

function payloads(): Partial<StateSpaceState> {
  return {
    _cloud: { xy: f32(CLOUD, [4, 2]), steps: u32([10, 11, 12, 13]), labels: u8([0, 1, 0, 1]), values: null, categories: ["neg", "<b>pos</b>"], range: null },
    _trajectories: { xy: f32(TRAJ, [2, 2]), steps: u32([20, 21]), offsets: u32([0, 2]), sequences: [3], labels: u8([1, 0]), values: null, categories: ["neg", "<b>pos</b>"], range: null },
    _fixed: { xy: f32([0, 0, 0.5, 0.5], [2, 2]), index: u32([4, 7]), stability: u8([0, 2]), log_q: f32([-14, -6]), attractor: i32([2, -1]), modes: f32([0.1, 0, 0, 0.1], [2, 2]) },
  };
}

cleanUpViewsAfterEach();

async function setup(over: Partial<StateSpaceState> = {}, selectionOver: Partial<SelectionState> = {}) {
  const manager = new FakeWidgetManager();
  const selection = fakeSelection(manager, { cells: null, ...selectionOver });
  const model = new FakeModel<StateSpaceState>(
    {
      selection: manager.add(selection),
      condition: 0,
      dims: 2,
      sequences: [3],
      spectrum_point: null,
      height: HEIGHT,
      error: "",
      _conditions: ["input 0"],
      _axes: ["PC1 (80.0 %)", "PC2 (20.0 %)"],
      _cloud: null,
      _trajectories: null,
      _fixed: null,
      _readout: null,
      _portrait: null,
      _spectrum: null,
      _hovered: null,
      ...payloads(),
      ...over,
    },
    manager,
  );
  const { el, cleanup } = await mountView(view, model);
  const root = el.querySelector<HTMLElement>(".rnnw-state-space-view")!;
  const overlay = root.querySelector<HTMLCanvasElement>("canvas.rnnw-ssv-overlay")!;
  const move = (x: number, y: number) => overlay.dispatchEvent(new PointerEvent("pointermove", { bubbles: true, clientX: x, clientY: y }));
  const click = (x: number, y: number) => overlay.dispatchEvent(new MouseEvent("click", { bubbles: true, clientX: x, clientY: y, button: 0 }));
  return { model, selection, root, overlay, move, click, cleanup };
}

describe("projection helpers", () => {
  it("rotation is orthonormal and the identity plane at zero angles", () => {
    expect(rotation(0, 0)).toEqual([1, 0, 0, 0, 1, -0]);
    const [a, b, c, d, e, f] = rotation(0.7, -0.3);
    expect(a * a + b * b + c * c).toBeCloseTo(1);
    expect(d * d + e * e + f * f).toBeCloseTo(1);
    expect(a * d + b * e + c * f).toBeCloseTo(0);
  });

  it("toPlane keeps 2-D points and turns z into x under a quarter yaw", () => {
    expect(Array.from(toPlane([1, 2, 3, 4], 2))).toEqual([1, 2, 3, 4]);
    const p = toPlane([0, 0, 1, 0, 1, 0], 3, Math.PI / 2, 0);
    expect(p[0]).toBeCloseTo(1);
    expect(p[1]).toBeCloseTo(0);
    expect(p[3]).toBeCloseTo(1); // y stays up
  });

  it("fitBounds centres the box with one scale for both axes, y up", () => {
    const fit = fitBounds(bounds([-2, -1, 2, 1]), 640, 300);
    expect(fit.scale).toBeCloseTo(Math.min(608 / 4, 268 / 2));
    expect(pixelOf(0, 0, fit)).toEqual([320, 150]);
    const px = toPixels([2, 1], fit);
    expect(px[0]).toBeCloseTo(320 + 2 * fit.scale);
    expect(px[1]).toBeCloseTo(150 - fit.scale);
    expect(bounds(new Float32Array(0))).toEqual({ x0: -1, x1: 1, y0: -1, y1: 1 });
  });
});

describe("point helpers", () => {
  it("nearestPoint finds the closest point within the tolerance, else -1", () => {
    const px = [0, 0, 10, 0, 20, 0];
    expect(nearestPoint(px, 9, 1, 5)).toBe(1);
    expect(nearestPoint(px, 15, 0, 5)).toBe(1); // a tie keeps the first
    expect(nearestPoint(px, 40, 0, 5)).toBe(-1);
    expect(nearestPoint([], 0, 0, 5)).toBe(-1);
  });

  it("indexOfSteps maps steps to their first index", () => {
    expect([...indexOfSteps([5, 9, 5])]).toEqual([[5, 0], [9, 1]]);
  });

  it("radiusForLogQ is 7 px at the smallest log q and 3 px at the largest", () => {
    expect(radiusForLogQ(-14, -14, -6)).toBe(7);
    expect(radiusForLogQ(-6, -14, -6)).toBe(3);
    expect(radiusForLogQ(-10, -14, -6)).toBe(5);
    expect(radiusForLogQ(-3, -3, -3)).toBe(5);
  });

  it("colour maps: bins clamp, categories wrap, the trajectory of a point is found by offsets", () => {
    expect([binOf(-1, 0, 1), binOf(0.5, 0, 1), binOf(2, 0, 1), binOf(1, 1, 1)]).toEqual([0, NUMERIC_BINS / 2, NUMERIC_BINS - 1, NUMERIC_BINS / 2]);
    expect(binColor(0)).not.toBe(binColor(NUMERIC_BINS - 1));
    expect(categoryColor(CATEGORICAL.length + 1)).toBe(categoryColor(1));
    expect([0, 2, 3, 7].map((i) => trajectoryOf([0, 3, 5], i))).toEqual([0, 0, 1, -1]);
  });
});

describe("splat", () => {
  it("parses #rrggbb and rgb() colours", () => {
    expect(parseColor("#ff8000")).toEqual([255, 128, 0]);
    expect(parseColor("rgb(33, 102, 172)")).toEqual([33, 102, 172]);
    expect(parseColor("teal")).toEqual([0, 0, 0]);
  });

  it("writes a size x size square per point, clipped at the edges, composited source-over", () => {
    const target = { data: new Uint8ClampedArray(4 * 4 * 4), width: 4, height: 4 };
    const at = (x: number, y: number) => Array.from(target.data.slice((y * 4 + x) * 4, (y * 4 + x) * 4 + 4));
    // point 0 at (1, 1): a 2 px square covers pixels (0..1, 0..1); point 1 at the corner (4, 4) is clipped to (3, 3)
    splat(target, [1, 1, 4, 4], [0, 1], 0, 2, [255, 0, 0], 1, 2);
    expect(at(0, 0)).toEqual([255, 0, 0, 255]);
    expect(at(1, 1)).toEqual([255, 0, 0, 255]);
    expect(at(2, 2)).toEqual([0, 0, 0, 0]);
    expect(at(3, 3)).toEqual([255, 0, 0, 255]);
    // half-transparent blue over opaque red: the average colour, still opaque
    splat(target, [1, 1], [0], 0, 1, [0, 0, 255], 0.5, 2);
    expect(at(0, 0)).toEqual([128, 0, 128, 255]);
    // half-transparent over nothing: the colour itself at half opacity
    splat(target, [2.5, 0.5], [0], 0, 1, [0, 255, 0], 0.5, 1); // the pixel (2, 0)
    expect(at(2, 0)).toEqual([0, 255, 0, 128]);
  });

  it("draws only the points listed in order[from:to]", () => {
    const target = { data: new Uint8ClampedArray(3 * 1 * 4), width: 3, height: 1 };
    splat(target, [0.5, 0.5, 1.5, 0.5, 2.5, 0.5], [2, 0, 1], 0, 2, [9, 9, 9], 1, 1);
    expect(Array.from(target.data.filter((_, i) => i % 4 === 3))).toEqual([255, 0, 255]);
  });
});

describe("StateSpaceView", () => {
  it("renders the counts, the axes and the legend as text", async () => {
    const { root } = await setup();
    expect(root.dataset.nPoints).toBe("4");
    expect(root.dataset.nFixed).toBe("2");
    expect(root.querySelector(".rnnw-ssv-summary")!.textContent).toBe("4 states · 1 trajectories · 2 fixed points");
    expect(root.querySelector(".rnnw-ssv-axes")!.textContent).toBe("x: PC1 (80.0 %) · y: PC2 (20.0 %)");
    const legend = [...root.querySelectorAll(".rnnw-ssv-legend-item")].map((e) => e.textContent);
    expect(legend).toEqual(["neg", "<b>pos</b>", "stable", "marginal", "saddle", "unstable"]);
    expect(root.querySelector("b")).toBeNull();
    expect(root.querySelector<HTMLElement>(".rnnw-ssv-picker-label")!.hidden).toBe(true); // one condition
  });

  it("hovering a trajectory point sets hovered_step at once and saves it throttled", async () => {
    vi.useFakeTimers();
    const { selection, root, move } = await setup();
    move(...pixel(1, 0.5));
    expect(selection.get("hovered_step")).toBe(20);
    expect(root.dataset.hoveredStep).toBe("20");
    expect(root.querySelector(".rnnw-ssv-hover")!.textContent).toBe("step 20 · sequence 3 · <b>pos</b>");
    expect(selection.saves).toBe(0);
    vi.advanceTimersByTime(HOVER_SAVE_MS + 1);
    expect(selection.lastSave()).toEqual({ hovered_step: 20 });
    move(...pixel(-2, 0)); // a cloud point
    expect(selection.get("hovered_step")).toBe(12);
    move(5, 5); // nothing near: the step stays until the pointer leaves
    root.querySelector("canvas.rnnw-ssv-overlay")!.dispatchEvent(new PointerEvent("pointerleave"));
    expect(selection.get("hovered_step")).toBeNull();
    expect(root.dataset.hoveredStep).toBe("");
  });

  it("marks a step hovered in another view, from its own data or the kernel's _hovered", async () => {
    const { model, selection, root } = await setup();
    selection.receive("hovered_step", 11);
    expect(root.dataset.hoveredStep).toBe("11");
    selection.receive("hovered_step", 99); // not drawn here: unknown until the kernel sends it
    expect(root.dataset.hoveredStep).toBe("");
    model.receive("_hovered", { step: 99, xy: f32([0.3, 0.3]) });
    expect(root.dataset.hoveredStep).toBe("99");
    selection.receive("hovered_step", null);
    expect(root.dataset.hoveredStep).toBe("");
  });

  it("hovering a fixed point names it; a click asks the kernel for its spectrum", async () => {
    const { model, selection, root, move, click } = await setup();
    move(...pixel(0, 0));
    expect(root.dataset.hoveredPoint).toBe("4");
    expect(root.querySelector(".rnnw-ssv-hover")!.textContent).toBe("fixed point 4 · stable · log10 q -14.0 · attractor 2 — click: spectrum");
    expect(selection.get("hovered_step")).toBeNull(); // a fixed point is not a step
    click(...pixel(0.5, 0.5));
    expect(model.get("spectrum_point")).toBe(7);
    expect(model.lastSave()).toEqual({ spectrum_point: 7 });
    click(5, 5); // nothing there: no change
    expect(model.saves).toBe(1);
  });

  it("shows the spectrum panel with one dot per eigenvalue, the unit circle and the time constants", async () => {
    const { model, root } = await setup();
    const panel = root.querySelector<HTMLElement>(".rnnw-ssv-spectrum")!;
    expect(panel.hidden).toBe(true);
    model.receive("spectrum_point", 7);
    model.receive("_spectrum", {
      index: 7, real: f32([1.5, 0.3, 0.1]), imag: f32([0, 0.2, -0.2]), time_constants: f32([2.466, 1.02, Infinity]),
      stability: "saddle", q: 1e-6, attractor: -1, condition: 0,
    });
    expect(panel.hidden).toBe(false);
    expect(panel.dataset.nEigenvalues).toBe("3");
    expect(root.dataset.spectrumPoint).toBe("7");
    expect(panel.querySelectorAll("circle.rnnw-ssv-eig")).toHaveLength(3);
    expect(panel.querySelectorAll("circle.rnnw-ssv-eig-unstable")).toHaveLength(1);
    expect(panel.querySelectorAll("circle.rnnw-ssv-unit-circle")).toHaveLength(1);
    expect(panel.querySelector(".rnnw-ssv-spectrum-title")!.textContent).toBe("fixed point 7 · saddle · q 1.00e-6 · attractor none");
    expect(panel.querySelector(".rnnw-ssv-tau")!.textContent).toBe("τ (steps) of the top modes: 2.47, 1.02, ∞");
    panel.querySelector<HTMLButtonElement>("button.rnnw-ssv-close")!.click();
    expect(model.lastSave()).toEqual({ spectrum_point: null });
    model.receive("_spectrum", null);
    expect(panel.hidden).toBe(true);
  });

  it("the condition picker appears with two conditions and sets condition", async () => {
    const { model, root } = await setup({ _conditions: ["off", "on"] });
    const picker = root.querySelector<HTMLSelectElement>("select.rnnw-ssv-condition")!;
    expect(root.querySelector<HTMLElement>(".rnnw-ssv-picker-label")!.hidden).toBe(false);
    expect([...picker.options].map((o) => o.textContent)).toEqual(["off", "on"]);
    picker.value = "1";
    picker.dispatchEvent(new Event("change"));
    expect(model.lastSave()).toEqual({ condition: 1 });
    model.receive("condition", 1);
    expect(root.dataset.condition).toBe("1");
  });

  it("in 3-D a drag rotates the view", async () => {
    const three = {
      dims: 3,
      _cloud: { xy: f32([1, 0, 0, 0, 0, 1], [2, 3]), steps: u32([0, 1]), labels: null, values: null, categories: [], range: null },
      _trajectories: null,
      _fixed: null,
    };
    const { root, overlay, move } = await setup(three);
    expect(root.dataset.dims).toBe("3");
    overlay.dispatchEvent(new PointerEvent("pointerdown", { bubbles: true, clientX: 100, clientY: 100, button: 0 }));
    move(150, 100);
    expect(Number(root.dataset.yaw)).toBeCloseTo(0.6 + 50 * 0.01);
    window.dispatchEvent(new PointerEvent("pointerup"));
    move(200, 100);
    expect(Number(root.dataset.yaw)).toBeCloseTo(1.1); // released: no more rotation
  });

  it("shows a bad payload or a kernel error in place, not a blank view", async () => {
    const { model, root } = await setup();
    const box = root.querySelector<HTMLElement>(".rnnw-error")!;
    model.receive("_cloud", { xy: f32([1, 2, 3], [3]), steps: u32([0, 1]), labels: null, values: null, categories: [], range: null });
    expect(box.hidden).toBe(false);
    expect(box.textContent).toMatch(/bad data: xy has 3 values for 2 points/);
    model.receive("_cloud", payloads()._cloud!);
    expect(box.hidden).toBe(true);
    model.receive("error", "condition must be in 0 .. 1");
    expect(box.textContent).toBe("condition must be in 0 .. 1");
  });

  it("shows the kernel's notice in place without hiding the plot", async () => {
    const { model, root } = await setup();
    const notice = root.querySelector<HTMLElement>(".rnnw-notice")!;
    expect(notice.hidden).toBe(true);
    model.receive("message", "height 1000000000 is more than 4000 (...); showing 4000");
    expect(notice.hidden).toBe(false);
    expect(notice.textContent).toBe("height 1000000000 is more than 4000 (...); showing 4000");
    expect(root.querySelector<HTMLElement>(".rnnw-error")!.hidden).toBe(true);
  });

  it("cleanup removes every listener it added", async () => {
    const { model, selection, cleanup, root } = await setup();
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(selection.listenerCount()).toBe(0);
    expect(root.isConnected).toBe(false);
  });
});
