import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeModel } from "../src/lib/fake_model";
import { createErrorBox, domListeners, guardedRender, modelListeners, showErrorText, watchWidth } from "../src/lib/view";

afterEach(() => {
  document.body.replaceChildren();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("guardedRender", () => {
  it("returns the mount's cleanup when the mount succeeds", async () => {
    const host = document.createElement("div");
    const child = document.createElement("span");
    const render = guardedRender("Demo", async ({ el }: { el: HTMLElement }) => {
      el.append(child);
      return () => child.remove();
    });
    const cleanup = await render({ el: host });
    expect(host.firstChild).toBe(child);
    cleanup();
    expect(host.childElementCount).toBe(0);
  });

  it("replaces a half-built view by an error box naming the view, as text", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const host = document.createElement("div");
    host.append(document.createElement("p"));
    const render = guardedRender("Demo", async ({ el }: { el: HTMLElement }) => {
      el.append(document.createElement("section"));
      throw new Error("<b>bad</b> payload");
    });
    const cleanup = await render({ el: host });
    expect(host.children.length).toBe(1);
    const box = host.firstElementChild as HTMLElement;
    expect(box.className).toBe("rnnw-error");
    expect(box.textContent).toBe("Demo failed: <b>bad</b> payload");
    expect(host.querySelector("b")).toBeNull();
    expect(console.error).toHaveBeenCalledOnce();
    cleanup();
    expect(host.childElementCount).toBe(0);
  });

  it("reports a thrown non-Error by its string", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const host = document.createElement("div");
    await guardedRender("Demo", async (_: { el: HTMLElement }) => Promise.reject("no model"))({ el: host });
    expect(host.textContent).toBe("Demo failed: no model");
  });
});

describe("domListeners", () => {
  it("abort removes every listener added with on, options kept", () => {
    const target = document.createElement("button");
    const seen: string[] = [];
    const listeners = domListeners();
    listeners.on(target, "click", () => seen.push("click"));
    listeners.on<PointerEvent>(target, "pointerdown", (e) => seen.push(e.type), { once: true });
    target.dispatchEvent(new Event("pointerdown"));
    target.dispatchEvent(new Event("pointerdown")); // once: not seen again
    target.click();
    listeners.abort();
    target.click();
    expect(seen).toEqual(["pointerdown", "click"]);
    expect(listeners.signal.aborted).toBe(true);
  });
});

describe("error box", () => {
  it("starts hidden as an alert and shows only non-empty text", () => {
    const box = createErrorBox();
    expect([box.tagName, box.className, box.getAttribute("role"), box.hidden]).toEqual(["DIV", "rnnw-error", "alert", true]);
    showErrorText(box, "<i>x</i> went wrong");
    expect([box.textContent, box.hidden, box.querySelector("i")]).toEqual(["<i>x</i> went wrong", false, null]);
    showErrorText(box, "");
    expect([box.textContent, box.hidden]).toEqual(["", true]);
  });
});

describe("modelListeners", () => {
  it("listens to each change:<name> given and off removes them all", () => {
    const model = new FakeModel({ a: 1, b: 2, c: 3 });
    const seen: string[] = [];
    const events = modelListeners(model);
    events.on(["a", "b"], () => seen.push("ab"));
    events.on("c", () => seen.push("c"));
    expect(model.listenerCount()).toBe(3);
    model.receive("a", 10);
    model.receive("c", 30);
    events.off();
    expect(model.listenerCount()).toBe(0);
    model.receive("b", 20);
    expect(seen).toEqual(["ab", "c"]);
  });
});

describe("watchWidth", () => {
  it("is null without a ResizeObserver", () => {
    vi.stubGlobal("ResizeObserver", undefined);
    expect(watchWidth(document.createElement("div"), () => {})).toBeNull();
  });

  it("reports each new positive whole-pixel width once", () => {
    let fire: (width: number) => void = () => {};
    const observed: Element[] = [];
    class FakeResizeObserver {
      constructor(callback: (entries: { contentRect: { width: number } }[]) => void) {
        fire = (width) => callback([{ contentRect: { width } }]);
      }
      observe(target: Element): void {
        observed.push(target);
      }
      disconnect(): void {}
    }
    vi.stubGlobal("ResizeObserver", FakeResizeObserver);
    const target = document.createElement("div");
    const widths: number[] = [];
    expect(watchWidth(target, (w) => widths.push(w))).not.toBeNull();
    expect(observed).toEqual([target]);
    for (const w of [0, 300.7, 300.2, 512, 0, 512]) fire(w);
    expect(widths).toEqual([300, 512]);
  });
});
