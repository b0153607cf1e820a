import { describe, expect, it } from "vitest";
import { bandText, decodeAblation, metricDomain, modeColor, randomPointText, topPointText, type AblationPayload } from "../src/lib/ablation";
import { FakeModel } from "../src/lib/fake_model";
import { bandPath, linePath } from "../src/lib/svg";
import view, { FALLBACK_WIDTH, MARGIN, type AblationPlotState } from "../src/views/ablation_plot";
import { cleanUpViewsAfterEach, mountView } from "./view_harness";

const XSS = "<img src=x onerror=alert(1)>";
const f32 = (xs: number[], shape: number[] = [xs.length]) => ({ dtype: "float32", shape, data: new DataView(new Float32Array(xs).buffer) });

// Two modes over k = 0, 2, 4. Ablating the top cells hurts; random cells barely do.
function payload(over: Partial<AblationPayload> = {}): AblationPayload {
  return {
    modes: ["zero", "mean"],
    labels: ["zero", XSS],
    ks: f32([0, 2, 4]),
    top: f32([0.9, 0.5, 0.25, 0.9, 0.625, 0.375], [2, 3]),
    random_mean: f32([0.9, 0.875, 0.8125, 0.9, 0.85, 0.8], [2, 3]),
    random_low: f32([0.9, 0.75, 0.75, 0.9, 0.8, 0.75], [2, 3]),
    random_high: f32([0.9, 1, 0.875, 0.9, 0.9, 0.85], [2, 3]),
    n_draws: [20, 1],
    band: "std",
    baseline: 0.9,
    ...over,
  };
}

cleanUpViewsAfterEach();

async function setup(over: Partial<AblationPlotState> = {}) {
  const model = new FakeModel<AblationPlotState>({ metric_name: "accuracy", height: 260, error: "", _plot: payload(), ...over });
  const { el, cleanup } = await mountView(view, model);
  const root = el.querySelector<HTMLElement>(".rnnw-ablation-plot")!;
  return { model, el, root, cleanup };
}

/** The points (x, y) of an "M..L.." path. */
const points = (d: string) => [...d.matchAll(/[ML]([-\d.]+),([-\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);

describe("ablation helpers", () => {
  it("linePath and bandPath trace the given pixels", () => {
    expect(linePath([0, 10, 20], [5, 6, 7])).toBe("M0,5L10,6L20,7");
    expect(bandPath([0, 10], [5, 6], [1, 2])).toBe("M0,5L10,6L10,2L0,1Z");
    expect(linePath([], [])).toBe("");
  });

  it("decodes one curve per mode and checks the shapes", () => {
    const plot = decodeAblation(payload())!;
    expect(plot.curves.map((c) => [c.mode, c.label, c.nDraws])).toEqual([
      ["zero", "zero", 20],
      ["mean", XSS, 1],
    ]);
    expect(Array.from(plot.curves[1]!.top)).toEqual([0.9, 0.625, 0.375].map(Math.fround));
    expect(() => decodeAblation(payload({ top: f32([1, 2, 3], [1, 3]) }))).toThrow(/top must have shape \[2, 3\]/);
    expect(() => decodeAblation(payload({ modes: [] }))).toThrow(/modes/);
  });

  it("metricDomain covers the lines, the band and the baseline", () => {
    const [lo, hi] = metricDomain(decodeAblation(payload({ baseline: 1.5 }))!);
    expect(lo).toBeLessThan(0.25);
    expect(hi).toBeGreaterThan(1.5);
  });

  it("says which band is drawn", () => {
    expect(bandText("std", 20)).toBe("mean ± 1 std over 20 draws");
    expect(bandText("minmax", 1)).toBe("mean, band min–max over 1 draw");
  });

  it("point texts give the mode, k and the values", () => {
    expect(topPointText("zero", 2, 0.5)).toBe("zero: top 2 cells ablated → 0.5");
    expect(randomPointText("zero", 4, 0.8125, 0.75, 0.875)).toBe("zero: 4 random cells ablated → mean 0.8125 (band 0.75 to 0.875)");
  });
});

describe("AblationPlot drawing", () => {
  it("draws a solid top-k line, a dashed random mean and a band per mode, in the mode's colour", async () => {
    const { root } = await setup();
    const tops = [...root.querySelectorAll<SVGPathElement>(".rnnw-ablation-top-line")];
    const randoms = [...root.querySelectorAll<SVGPathElement>(".rnnw-ablation-random-line")];
    const bands = [...root.querySelectorAll<SVGPathElement>(".rnnw-ablation-band")];
    expect(tops.map((p) => p.dataset.mode)).toEqual(["zero", "mean"]);
    expect(randoms.map((p) => p.getAttribute("stroke"))).toEqual([modeColor(0), modeColor(1)]);
    expect(bands.map((p) => p.getAttribute("fill"))).toEqual([modeColor(0), modeColor(1)]);
    // x runs over k left to right; the top-k metric falls, so its y (pixels, downwards) grows.
    const top = points(tops[0]!.getAttribute("d")!);
    expect(top.map(([x]) => x)).toEqual([MARGIN.left, (MARGIN.left + FALLBACK_WIDTH - MARGIN.right) / 2, FALLBACK_WIDTH - MARGIN.right]);
    expect(top[0]![1]).toBeLessThan(top[1]![1]!);
    expect(top[1]![1]).toBeLessThan(top[2]![1]!);
    // The random mean falls less than the top-k line: its last point is higher on screen.
    expect(points(randoms[0]!.getAttribute("d")!)[2]![1]).toBeLessThan(top[2]![1]!);
  });

  it("draws the baseline where the unablated metric is, and none without one", async () => {
    const { root } = await setup();
    const baseline = root.querySelector(".rnnw-ablation-baseline")!;
    const firstTop = points(root.querySelector(".rnnw-ablation-top-line")!.getAttribute("d")!)[0]!;
    expect(Number(baseline.getAttribute("y1"))).toBeCloseTo(firstTop[1]!, 1); // k = 0 is the baseline
    const bare = await setup({ _plot: payload({ baseline: null }) });
    expect(bare.root.querySelector(".rnnw-ablation-baseline")).toBeNull();
  });

  it("the legend names each line and says the band is ± 1 std or min–max", async () => {
    const { root, model } = await setup();
    const items = () => [...root.querySelectorAll(".rnnw-ablation-legend-item")].map((i) => i.textContent);
    expect(items()).toEqual([
      "zero: top-k cells",
      "zero: k random cells, mean ± 1 std over 20 draws",
      `${XSS}: top-k cells`,
      `${XSS}: k random cells, mean ± 1 std over 1 draw`,
      "baseline (nothing ablated): 0.9",
    ]);
    model.receive("_plot", payload({ band: "minmax" }));
    expect(items()[1]).toBe("zero: k random cells, mean, band min–max over 20 draws");
  });

  it("hovering a point shows its values as text", async () => {
    const { root } = await setup();
    const hover = root.querySelector(".rnnw-ablation-hover")!;
    const point = root.querySelector('.rnnw-ablation-point[data-series="top"][data-mode="mean"][data-index="1"]')!;
    point.dispatchEvent(new PointerEvent("pointerover", { bubbles: true }));
    expect(hover.textContent).toBe(`${XSS}: top 2 cells ablated → 0.625`);
    const random = root.querySelector('.rnnw-ablation-point[data-series="random"][data-mode="zero"][data-index="2"]')!;
    random.dispatchEvent(new PointerEvent("pointerover", { bubbles: true }));
    expect(hover.textContent).toBe("zero: 4 random cells ablated → mean 0.8125 (band 0.75 to 0.875)");
    root.querySelector("svg")!.dispatchEvent(new PointerEvent("pointerleave"));
    expect(hover.textContent).toBe("");
  });

  it("renders labels and the metric name as text, never as HTML", async () => {
    const { el, root } = await setup({ metric_name: XSS });
    expect([...root.querySelectorAll(".rnnw-ablation-axis-label")].map((t) => t.textContent)).toContain(XSS);
    expect(el.querySelector("img")).toBeNull();
  });

  it("redraws from the kernel without writing anything back", async () => {
    const { model, root } = await setup();
    model.receive("_plot", payload({ modes: ["zero"], labels: ["z"], top: f32([1, 0.5, 0], [1, 3]), random_mean: f32([1, 1, 1], [1, 3]), random_low: f32([1, 1, 1], [1, 3]), random_high: f32([1, 1, 1], [1, 3]), n_draws: [3] }));
    expect(root.querySelectorAll(".rnnw-ablation-top-line").length).toBe(1);
    model.receive("metric_name", "loss");
    expect(model.calls).toEqual([]);
  });
});

describe("AblationPlot errors and cleanup", () => {
  it("shows the kernel's error in place, as text", async () => {
    const { model, root } = await setup();
    model.receive("error", XSS);
    const box = root.querySelector<HTMLElement>(".rnnw-error")!;
    expect(box.textContent).toBe(XSS);
    expect(box.hidden).toBe(false);
    expect(root.querySelector<HTMLElement>(".rnnw-ablation-area")!.hidden).toBe(true);
  });

  it("reports a bad payload and recovers", async () => {
    const { model, root } = await setup();
    model.receive("_plot", payload({ ks: f32([]) }));
    expect(root.querySelector(".rnnw-error")!.textContent).toMatch(/bad _plot: ks is empty/);
    model.receive("_plot", payload());
    expect(root.querySelector<HTMLElement>(".rnnw-error")!.hidden).toBe(true);
    expect(root.querySelectorAll(".rnnw-ablation-top-line").length).toBe(2);
  });

  it("removes its DOM and its listeners", async () => {
    const { model, root, cleanup } = await setup();
    expect(model.listenerCount()).toBeGreaterThan(0);
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(root.isConnected).toBe(false);
  });
});
