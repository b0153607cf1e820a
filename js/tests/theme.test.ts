import { afterEach, describe, expect, it, vi } from "vitest";
import { contrast, luminance, mix, parseRgba, textOn, themeColors, watchTheme } from "../src/lib/theme";
import { attachHelp, createHintBox, domListeners, legendItem } from "../src/lib/view";

afterEach(() => {
  document.body.replaceChildren();
  delete document.body.dataset.jpThemeLight;
  delete document.body.dataset.jpThemeName;
  document.head.querySelectorAll("style").forEach((s) => s.remove());
});

const nextMicrotask = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("colour maths (WCAG 2)", () => {
  it("parses hex, rgb() and rgba() colours", () => {
    expect(parseRgba("#fff")).toEqual([255, 255, 255, 1]);
    expect(parseRgba("#1976d2")).toEqual([25, 118, 210, 1]);
    expect(parseRgba("rgba(255, 255, 255, 0.87)")).toEqual([255, 255, 255, 0.87]);
    expect(parseRgba("rgb(17 17 17)")).toEqual([17, 17, 17, 1]);
    expect(parseRgba("var(--x)")).toBeNull();
  });

  it("gives black on white 21:1 and equal colours 1:1", () => {
    expect(contrast([0, 0, 0], [255, 255, 255])).toBeCloseTo(21, 5);
    expect(contrast([120, 30, 200], [120, 30, 200])).toBe(1);
    expect(luminance([255, 255, 255])).toBeCloseTo(1, 6);
  });

  it("picks black or white text with at least 4.5:1 on any background", () => {
    for (let v = 0; v <= 255; v += 5) {
      for (const bg of [[v, v, v], [v, 0, 255 - v], [255, v, 0]]) {
        const ink = parseRgba(textOn(bg))!;
        expect(contrast(ink, bg)).toBeGreaterThanOrEqual(4.5);
      }
    }
  });

  it("mixes two colours channel by channel", () => {
    expect(mix([255, 0, 100], [0, 0, 0], 0.4)).toEqual([102, 0, 40]);
  });
});

describe("the palette", () => {
  it("falls back to the light palette where no theme variables exist", () => {
    const el = document.createElement("div");
    document.body.append(el);
    const theme = themeColors(el);
    expect([theme.background, theme.foreground, theme.muted]).toEqual(["#ffffff", "#222222", "#616161"]);
    expect(contrast(parseRgba(theme.muted)!, parseRgba(theme.background)!)).toBeGreaterThanOrEqual(4.5);
  });

  it("reads the palette's CSS variables where they are set", () => {
    const style = document.createElement("style");
    style.textContent = ".v { --rnnw-background: #111111; --rnnw-foreground: #eeeeee; }";
    document.head.append(style);
    const el = document.createElement("div");
    el.className = "v";
    document.body.append(el);
    const theme = themeColors(el);
    expect([theme.background, theme.foreground, theme.muted]).toEqual(["#111111", "#eeeeee", "#616161"]);
  });

  it("reports JupyterLab's theme switches (the attributes on <body>) until stopped", async () => {
    const el = document.createElement("div");
    document.body.append(el);
    const onChange = vi.fn();
    const stop = watchTheme(el, onChange);
    document.body.dataset.jpThemeLight = "false";
    document.body.dataset.jpThemeName = "JupyterLab Dark";
    await nextMicrotask();
    expect(onChange).toHaveBeenCalledOnce(); // both attributes: one call
    document.body.dataset.other = "x";
    await nextMicrotask();
    expect(onChange).toHaveBeenCalledOnce(); // other attributes are not a theme
    stop();
    document.body.dataset.jpThemeLight = "true";
    await nextMicrotask();
    expect(onChange).toHaveBeenCalledOnce();
  });
});

describe("hint, help and legend helpers", () => {
  it("makes a hidden, neutral hint box (not an error, not an alert)", () => {
    const box = createHintBox();
    expect([box.className, box.getAttribute("role"), box.hidden]).toEqual(["rnnw-hint", "status", true]);
  });

  it("adds a ? button whose panel lists the gestures as text; Escape closes it; abort drops the listeners", () => {
    const root = document.createElement("div");
    const toolbar = document.createElement("div");
    root.append(toolbar);
    document.body.append(root);
    const listeners = domListeners();
    const panel = attachHelp(toolbar, "Demo", [["<b>click</b>", "does <i>this</i>"]], listeners.on);
    const button = toolbar.querySelector<HTMLButtonElement>("button.rnnw-help-button")!;
    expect(toolbar.nextElementSibling).toBe(panel);
    expect(button.getAttribute("aria-controls")).toBe(panel.id);
    expect(panel.querySelector(".rnnw-help-gesture")!.textContent).toBe("<b>click</b>");
    expect(panel.querySelector("b, i")).toBeNull();
    button.click();
    expect(panel.hidden).toBe(false);
    panel.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(panel.hidden).toBe(true);
    listeners.abort();
    button.click();
    expect(panel.hidden).toBe(true);
  });

  it("makes legend items that carry their colour as a CSS variable and their name as text", () => {
    const box = legendItem("<b>match</b>", "frame", "var(--rnnw-accent)", "extra");
    expect(box.className).toBe("rnnw-legend-item rnnw-legend-frame extra");
    expect(box.textContent).toBe("<b>match</b>");
    expect(box.style.getPropertyValue("--rnnw-swatch")).toBe("var(--rnnw-accent)");
    const ramp = legendItem("heat", "ramp", "#fff, #000");
    expect(ramp.style.getPropertyValue("--rnnw-ramp")).toBe("linear-gradient(to right, #fff, #000)");
  });
});
