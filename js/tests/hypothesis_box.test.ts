import { describe, expect, it } from "vitest";
import { decodeTried, KIND_OPTIONS, optionOf, triedText, type TriedEntry } from "../src/lib/hypothesis_box";
import { FakeModel, FakeWidgetManager } from "../src/lib/fake_model";
import view, { type RelevanceBarsState } from "../src/views/relevance_bars";
import { cleanUpViewsAfterEach, fakeSelection, mountView } from "./view_harness";

const XSS = "<img src=x onerror=alert(1)>";
const f32 = (xs: number[]) => ({ dtype: "float32", shape: [xs.length], data: new DataView(new Float32Array(xs).buffer) });
const u32 = (xs: number[]) => ({ dtype: "uint32", shape: [xs.length], data: new DataView(new Uint32Array(xs).buffer) });

/** A FakeModel that can also deliver the kernel's custom messages (`msg:custom`). */
class MessagingModel<T extends Record<string, any>> extends FakeModel<T> {
  private handlers: ((content: unknown) => void)[] = [];

  override on(eventName: string, callback: (...args: any[]) => void): void {
    super.on(eventName, callback);
    if (eventName === "msg:custom") this.handlers.push(callback);
  }

  override off(eventName?: string | null, callback?: ((...args: any[]) => void) | null): void {
    super.off(eventName, callback);
    if (!eventName || eventName === "msg:custom") this.handlers = callback ? this.handlers.filter((h) => h !== callback) : [];
  }

  /** A custom message from the kernel. */
  message(content: unknown): void {
    for (const handler of [...this.handlers]) handler(content);
  }

  /** What the view sent with `model.send`. */
  sent(): unknown[] {
    return this.calls.flatMap((c) => (c.method === "send" ? [c.content] : []));
  }
}

const ENTRY: TriedEntry = { name: "/\\(/", text: "\\(", kind: "regex", feature: "range", label_type: "binary", best_cell: 3, best_score: 0.9731 };
const TOKENS: TriedEntry = { name: "tokens: ( )", text: "( )", kind: "tokens", feature: "range", label_type: "binary", best_cell: 1, best_score: 0.75 };

cleanUpViewsAfterEach();

async function setup(over: Partial<RelevanceBarsState> = {}) {
  const manager = new FakeWidgetManager();
  const selection = fakeSelection(manager);
  const model = new MessagingModel<RelevanceBarsState>(
    {
      selection: manager.add(selection),
      current: "depth",
      threshold: null,
      score_name: "relevance",
      layer: 0,
      kind: "h",
      height: 240,
      error: "",
      _names: ["depth"],
      _bars: { name: "depth", scores: f32([0.2, 0.9]), order: u32([1, 0]), signs: null },
      tried: [],
      hypothesis_error: "",
      _hypothesis_box: true,
      ...over,
    },
    manager,
  );
  const { el, cleanup } = await mountView(view, model);
  const root = el.querySelector<HTMLElement>(".rnnw-relevance-bars")!;
  const box = root.querySelector<HTMLElement>(".rnnw-hypotheses")!;
  const input = box.querySelector<HTMLInputElement>("input.rnnw-hypothesis-input")!;
  const picker = box.querySelector<HTMLSelectElement>("select.rnnw-hypothesis-kind")!;
  const busy = box.querySelector<HTMLElement>(".rnnw-hypothesis-busy")!;
  const error = box.querySelector<HTMLElement>(".rnnw-hypothesis-error")!;
  const entries = () => [...box.querySelectorAll<HTMLButtonElement>("button.rnnw-hypothesis-show")];
  return { model, root, box, input, picker, busy, error, entries, cleanup };
}

const key = (target: Element, k: string) => {
  const event = new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true });
  target.dispatchEvent(event);
  return event;
};

describe("hypothesis box helpers", () => {
  it("offers regex range and impulse, tokens and python, each with a placeholder", () => {
    expect(KIND_OPTIONS.map((o) => [o.kind, o.feature])).toEqual([
      ["regex", "range"],
      ["regex", "impulse"],
      ["tokens", "range"],
      ["python", "range"],
    ]);
    expect(KIND_OPTIONS.every((o) => o.placeholder.length > 0)).toBe(true);
    expect(optionOf("regex", "impulse").value).toBe("regex-impulse");
    expect(optionOf("something else", "range").value).toBe("regex");
  });

  it("keeps only well-formed tried entries", () => {
    expect(decodeTried(null)).toEqual([]);
    expect(decodeTried([ENTRY, { name: 3 }, null, { name: "x", best_cell: 1.5, best_score: 1 }])).toEqual([ENTRY]);
  });

  it("says each entry's best cell and what its score measures", () => {
    expect(triedText(ENTRY)).toBe("/\\(/ — best cell 3: 0.9731 bal. acc.");
    expect(triedText({ ...ENTRY, label_type: "continuous", best_score: 0.5 })).toBe("/\\(/ — best cell 3: 0.5 R²");
  });
});

describe("hypothesis box", () => {
  it("is hidden when the kernel has no trace", async () => {
    const { box } = await setup({ _hypothesis_box: false });
    expect(box.hidden).toBe(true);
  });

  it("is labelled for assistive technology", async () => {
    const { box, input, picker } = await setup();
    expect(box.hidden).toBe(false);
    const label = box.querySelector<HTMLLabelElement>("label.rnnw-hypothesis-label")!;
    expect(label.htmlFor).toBe(input.id);
    expect(picker.getAttribute("aria-label")).toBe("kind of hypothesis");
    expect(box.querySelector(".rnnw-hypothesis-box")!.getAttribute("role")).toBe("search");
    expect(box.querySelector(".rnnw-hypothesis-error")!.getAttribute("role")).toBe("alert");
  });

  it("sends the typed text, kind and feature on Enter and shows it is busy until the reply", async () => {
    const { model, box, input, picker, busy } = await setup();
    input.value = "\\(";
    picker.value = "regex-impulse";
    picker.dispatchEvent(new Event("change"));
    const enter = key(input, "Enter");
    expect(enter.defaultPrevented).toBe(true);
    expect(model.sent()).toEqual([{ type: "try_hypothesis", id: 1, text: "\\(", kind: "regex", feature: "impulse" }]);
    expect(busy.hidden).toBe(false);
    expect(box.dataset.busy).toBe("true");
    model.message({ type: "hypothesis_done", id: 1, ok: true, name: "/\\(/ (impulse)" });
    expect(busy.hidden).toBe(true);
    expect(box.dataset.busy).toBe("false");
  });

  it("stays busy until the reply to the latest request", async () => {
    const { model, input, busy } = await setup();
    input.value = "a";
    key(input, "Enter");
    input.value = "b";
    key(input, "Enter");
    model.message({ type: "hypothesis_done", id: 1, ok: true });
    expect(busy.hidden).toBe(false);
    model.message({ type: "export", id: 2 });
    expect(busy.hidden).toBe(false);
    model.message({ type: "hypothesis_done", id: 2, ok: false, error: "bad" });
    expect(busy.hidden).toBe(true);
  });

  it("says so in place when there is no kernel to send to", async () => {
    const { model, input, busy, error } = await setup();
    model.send = () => {
      throw new Error("comm closed");
    };
    input.value = "a";
    key(input, "Enter");
    expect(busy.hidden).toBe(true);
    expect(error.hidden).toBe(false);
    expect(error.textContent).toBe("no kernel to score the hypothesis: comm closed");
  });

  it("the try button sends like Enter, with the picker's kind", async () => {
    const { model, box, input, picker } = await setup();
    picker.value = "python";
    input.value = 'tokens[i] == "("';
    box.querySelector<HTMLButtonElement>("button.rnnw-hypothesis-try")!.click();
    expect(model.sent()).toEqual([{ type: "try_hypothesis", id: 1, text: 'tokens[i] == "("', kind: "python", feature: "range" }]);
  });

  it("Escape clears the text and sends nothing; keys never reach the notebook", async () => {
    const { model, root, input } = await setup();
    let reached = 0;
    root.parentElement!.addEventListener("keydown", () => reached++);
    input.value = "abc";
    key(input, "Escape");
    expect(input.value).toBe("");
    key(input, "a");
    expect(model.sent()).toEqual([]);
    expect(reached).toBe(0);
  });

  it("shows the kernel's error under the box as text and hides it when cleared", async () => {
    const { model, root, error, input } = await setup();
    model.receive("hypothesis_error", XSS);
    expect(error.hidden).toBe(false);
    expect(error.textContent).toBe(XSS);
    expect(error.querySelector("img")).toBeNull();
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(root.querySelector<HTMLElement>(".rnnw-bars-plot")!.hidden).toBe(false); // the bars stay
    model.receive("hypothesis_error", "");
    expect(error.hidden).toBe(true);
  });

  it("lists the tried hypotheses latest first, the one shown marked", async () => {
    const { model, entries } = await setup();
    model.receive("tried", [ENTRY, { ...TOKENS, name: XSS }]);
    model.receive("current", ENTRY.name);
    expect(entries().map((b) => b.dataset.name)).toEqual([XSS, ENTRY.name]);
    expect(entries()[0]!.textContent).toBe(`${XSS} — best cell 1: 0.75 bal. acc.`);
    expect(entries()[1]!.getAttribute("aria-current")).toBe("true");
    expect(entries()[0]!.hasAttribute("aria-current")).toBe(false);
  });

  it("clicking a tried hypothesis shows it and puts its text and kind back in the box", async () => {
    const { model, input, picker, entries } = await setup({ tried: [ENTRY, TOKENS], current: TOKENS.name });
    entries()[1]!.click();
    expect(model.lastSave()).toEqual({ current: ENTRY.name });
    expect(input.value).toBe(ENTRY.text);
    expect(picker.value).toBe("regex");
    entries()[0]!.click();
    expect(picker.value).toBe("tokens");
    expect(input.value).toBe("( )");
  });

  it("drops its message listener on cleanup", async () => {
    const { model, cleanup } = await setup();
    cleanup();
    expect(model.listenerCount()).toBe(0);
  });
});
