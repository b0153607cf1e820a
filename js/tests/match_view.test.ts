import { describe, expect, it, vi } from "vitest";
import { FakeModel, FakeWidgetManager } from "../src/lib/fake_model";
import view, {
  categoryColor,
  contextColor,
  decodeRows,
  heatColor,
  HOVER_SAVE_MS,
  type MatchRowPayload,
  type MatchViewState,
  type RowsPayload,
  type TrackPayload,
} from "../src/views/match_view";
import { cleanUpViewsAfterEach, fakeSelection, mountView } from "./view_harness";

const XSS = "<img src=x onerror=alert(1)>";
const u32 = (xs: number[]) => ({ dtype: "uint32", shape: [xs.length], data: new DataView(new Uint32Array(xs).buffer) });
const f32 = (xs: number[]) => ({ dtype: "float32", shape: [xs.length], data: new DataView(new Float32Array(xs).buffer) });

interface RowSpec extends Omit<MatchRowPayload, "tokens"> {
  tokens: string[];
  counts: number[];
}

// Three matches with different amounts of context before their start (sequence starts cut it).
const ROWS: RowSpec[] = [
  { sequence: 0, start: 4, stop: 6, shared: 2, union: 2, position: 4, context_start: 2, tokens: ["a", "b", "M1", "M2", "c", "d"], counts: [0, 1, 2, 2, 1, 0] },
  { sequence: 1, start: 13, stop: 14, shared: 2, union: 3, position: 1, context_start: 12, tokens: [XSS, "M", "e", "f"], counts: [1, 2, 0, 1] },
  { sequence: 2, start: 20, stop: 23, shared: 1, union: 3, position: 0, context_start: 20, tokens: ["x", "y", "z", "w"], counts: [1, 1, 1, 0] },
];

function makeRows(rows: RowSpec[] = ROWS, track: TrackPayload | null = null, nSelected = 2, nCandidates = 386987): RowsPayload {
  const offsets = [0];
  for (const r of rows) offsets.push(offsets[offsets.length - 1]! + r.counts.length);
  return {
    rows: rows.map(({ counts: _counts, ...r }) => r),
    counts: u32(rows.flatMap((r) => r.counts)),
    offsets: u32(offsets),
    n_selected: nSelected,
    n_candidates: nCandidates,
    track,
  };
}

cleanUpViewsAfterEach();

async function setup(over: Partial<MatchViewState> = {}) {
  const manager = new FakeWidgetManager();
  const selection = fakeSelection(manager, { cells: new DataView(new Uint32Array([0, 2]).buffer), threshold: 0.5 });
  const model = new FakeModel<MatchViewState>(
    {
      selection: manager.add(selection),
      top: 50,
      context: 2,
      min_length: 1,
      track: null,
      navigate_to: null,
      error: "",
      _rows: makeRows(),
      _tracks: ["pos", "surprise"],
      ...over,
    },
    manager,
  );
  const { el, cleanup } = await mountView(view, model);
  const root = el.querySelector<HTMLElement>(".rnnw-match-view")!;
  const rows = () => [...root.querySelectorAll<HTMLElement>(".rnnw-match-row")];
  const tokens = (row: Element) => [...row.querySelectorAll<HTMLElement>(".rnnw-match-token")];
  return { model, selection, el, root, rows, tokens, cleanup };
}

const over = (target: Element) => target.dispatchEvent(new PointerEvent("pointerover", { bubbles: true }));

describe("MatchView rows", () => {
  it("renders one row per match with its data attributes, rank and shared / union", async () => {
    const { rows, root } = await setup();
    expect(rows().map((r) => [r.dataset.start, r.dataset.sequence])).toEqual([
      ["4", "0"],
      ["13", "1"],
      ["20", "2"],
    ]);
    expect(rows().map((r) => r.querySelector(".rnnw-match-rank")!.textContent)).toEqual(["1", "2", "3"]);
    expect(rows().map((r) => r.querySelector(".rnnw-match-score")!.textContent)).toEqual(["2 / 2", "2 / 3", "1 / 3"]);
    expect(root.querySelector(".rnnw-match-summary")!.textContent).toBe("3 of 386,987 candidates · 2 cells selected");
  });

  it("renders tokens as literal text, never as HTML", async () => {
    const { rows, tokens, el } = await setup();
    const words = tokens(rows()[1]!);
    expect(words.map((w) => w.textContent)).toEqual([XSS, "M", "e", "f"]);
    expect(el.querySelector("img")).toBeNull();
    expect(words[0]!.children.length).toBe(0);
  });

  it("shows whitespace tokens visibly", async () => {
    const spec: RowSpec = { ...ROWS[2]!, tokens: ["\n", " ", "a b", "\t"] };
    const { rows, tokens } = await setup({ _rows: makeRows([spec]) });
    expect(tokens(rows()[0]!).map((w) => w.textContent)).toEqual(["⏎", "␣", "a b", "⇥"]);
  });

  it("aligns every row at the match's first word", async () => {
    const { rows, tokens } = await setup();
    const firstColumns = rows().map((row) => {
      const first = tokens(row).find((w) => w.dataset.step === row.dataset.start)!;
      expect(first.classList.contains("rnnw-match-first")).toBe(true);
      expect(first.style.gridColumn).toBe(String(Number(first.dataset.column) + 1));
      return first.dataset.column;
    });
    expect(firstColumns).toEqual(["2", "2", "2"]); // context 2 columns before, for every row
    // Columns are consecutive within a row: a row with less context starts further right.
    expect(tokens(rows()[1]!).map((w) => w.dataset.column)).toEqual(["1", "2", "3", "4"]);
    expect(tokens(rows()[2]!).map((w) => w.dataset.column)).toEqual(["2", "3", "4", "5"]);
  });

  it("widens the left part when a row has more context than the context trait", async () => {
    const { rows, tokens } = await setup({ context: 1 });
    expect(rows().map((row) => tokens(row).find((w) => w.classList.contains("rnnw-match-first"))!.dataset.column)).toEqual(["2", "2", "2"]);
  });

  it("highlights the match words", async () => {
    const { rows, tokens } = await setup();
    expect(tokens(rows()[0]!).map((w) => w.classList.contains("rnnw-match-in"))).toEqual([false, false, true, true, false, false]);
    expect(tokens(rows()[2]!).filter((w) => w.classList.contains("rnnw-match-in")).map((w) => w.textContent)).toEqual(["x", "y", "z"]);
  });

  it("colours each word by the share of selected cells on, light to dark, the context faded", async () => {
    const { rows, tokens } = await setup();
    const words = tokens(rows()[0]!);
    expect(words.map((w) => w.dataset.count)).toEqual(["0", "1", "2", "2", "1", "0"]);
    expect(words.map((w) => w.dataset.heat)).toEqual(["0.000", "0.500", "1.000", "1.000", "0.500", "0.000"]);
    expect(words[0]!.style.backgroundColor).toBe("");
    expect(words[1]!.style.backgroundColor).toBe(contextColor(heatColor(0.5))); // context
    expect(words[2]!.style.backgroundColor).toBe(heatColor(1)); // the match, at full strength
    expect(words[2]!.classList.contains("rnnw-match-dark")).toBe(true);
    expect(words[1]!.classList.contains("rnnw-match-dark")).toBe(false);
  });

  it("writes black or white on a coloured word, whichever contrasts more", async () => {
    const { rows, tokens } = await setup();
    const words = tokens(rows()[0]!);
    expect(words[2]!.style.color).toBe("rgb(255, 255, 255)"); // on dark blue
    expect(words[1]!.style.color).toBe("rgb(0, 0, 0)"); // on faded light blue
    expect(words[0]!.style.color).toBe(""); // no colour: the theme's text colour
  });

  it("marks the match and its context apart: a frame from the first to the last match word", async () => {
    const { rows, tokens } = await setup();
    const words = tokens(rows()[0]!);
    expect(words.map((w) => (w.classList.contains("rnnw-match-in") ? "in" : w.classList.contains("rnnw-match-context") ? "ctx" : "?"))).toEqual(["ctx", "ctx", "in", "in", "ctx", "ctx"]);
    expect(words.map((w) => w.classList.contains("rnnw-match-last"))).toEqual([false, false, false, true, false, false]);
  });

  it("heatColor goes from light to dark", () => {
    const lum = (c: string) => c.match(/\d+/g)!.map(Number).reduce((a, b) => a + b, 0);
    expect(lum(heatColor(0))).toBeGreaterThan(lum(heatColor(0.5)));
    expect(lum(heatColor(0.5))).toBeGreaterThan(lum(heatColor(1)));
    expect(heatColor(2)).toBe(heatColor(1));
    expect(heatColor(NaN)).toBe(heatColor(0));
  });

  it("colours words by a categorical track with the fixed palette", async () => {
    const codes = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1];
    const track: TrackPayload = { name: "pos", label_type: "categorical", values: u32(codes), categories: ["D", "N", "V"] };
    const { rows, tokens, root } = await setup({ _rows: makeRows(ROWS, track), track: "pos" });
    const words = rows().flatMap(tokens);
    const expected = words.map((w, i) => {
      const color = hexToRgb(categoryColor(codes[i]!));
      return w.classList.contains("rnnw-match-in") ? color : contextColor(color);
    });
    expect(words.map((w) => w.style.backgroundColor)).toEqual(expected);
    expect(words[1]!.title).toContain("pos: N");
    expect([...root.querySelectorAll(".rnnw-match-legend-item")].map((i) => i.textContent)).toEqual(["D", "N", "V"]);
  });

  it("colours words by a numeric track as heat over its range", async () => {
    const values = Array.from({ length: 14 }, (_, i) => i);
    const track: TrackPayload = { name: "surprise", label_type: "numeric", values: f32(values), value_range: [0, 13] };
    const { rows, tokens } = await setup({ _rows: makeRows(ROWS, track), track: "surprise" });
    const words = rows().flatMap(tokens);
    expect(words[0]!.style.backgroundColor).toBe(contextColor(heatColor(0))); // context: faded
    expect(words[2]!.style.backgroundColor).toBe(heatColor(2 / 13)); // the first match word
    expect(words[12]!.style.backgroundColor).toBe(heatColor(12 / 13));
  });

  it("redraws on new rows from the kernel without writing anything back", async () => {
    const { model, selection, rows } = await setup();
    model.receive("_rows", makeRows([ROWS[2]!]));
    expect(rows().map((r) => r.dataset.start)).toEqual(["20"]);
    expect(model.calls).toEqual([]);
    expect(selection.calls).toEqual([]);
  });
});

describe("MatchView track drop-down", () => {
  it("offers the match count and every track, and sets the track trait", async () => {
    const { model, root } = await setup();
    const select = root.querySelector<HTMLSelectElement>("select.rnnw-match-track")!;
    expect([...select.options].map((o) => o.textContent)).toEqual(["match count", "pos", "surprise"]);
    expect(select.value).toBe("");
    select.value = "pos";
    select.dispatchEvent(new Event("change"));
    expect(model.get("track")).toBe("pos");
    expect(model.lastSave()).toEqual({ track: "pos" });
    select.value = "";
    select.dispatchEvent(new Event("change"));
    expect(model.lastSave()).toEqual({ track: null });
  });

  it("follows the track trait set by the kernel", async () => {
    const { model, root } = await setup();
    model.receive("track", "surprise");
    expect(root.querySelector<HTMLSelectElement>("select.rnnw-match-track")!.value).toBe("surprise");
  });
});

describe("MatchView gestures", () => {
  it("hovering a word sets the selection's hovered_step, saved throttled", async () => {
    vi.useFakeTimers();
    const { selection, rows, tokens, root } = await setup();
    over(tokens(rows()[0]!)[3]!);
    expect(selection.get("hovered_step")).toBe(5);
    over(tokens(rows()[1]!)[1]!);
    expect(selection.get("hovered_step")).toBe(13);
    expect(selection.saves).toBe(0);
    vi.advanceTimersByTime(HOVER_SAVE_MS);
    expect(selection.saves).toBe(1);
    expect(selection.lastSave()).toEqual({ hovered_step: 13 });
    root.querySelector(".rnnw-match-list")!.dispatchEvent(new PointerEvent("pointerleave"));
    expect(selection.get("hovered_step")).toBeNull();
  });

  it("marks the words of the step hovered in any view", async () => {
    const { selection, root } = await setup();
    selection.receive("hovered_step", 4);
    const marked = () => [...root.querySelectorAll<HTMLElement>(".rnnw-hovered")].map((w) => w.dataset.step);
    expect(marked()).toEqual(["4"]);
    selection.receive("hovered_step", 13);
    expect(marked()).toEqual(["13"]);
    selection.receive("hovered_step", null);
    expect(marked()).toEqual([]);
    expect(selection.calls).toEqual([]);
  });

  it("keeps the hovered mark across new rows", async () => {
    const { selection, model, root } = await setup();
    selection.receive("hovered_step", 21);
    model.receive("_rows", makeRows([ROWS[2]!]));
    expect([...root.querySelectorAll<HTMLElement>(".rnnw-hovered")].map((w) => w.textContent)).toEqual(["y"]);
  });

  it("clicking a row sets navigate_to to its start and saves", async () => {
    const { model, rows, tokens } = await setup();
    tokens(rows()[1]!)[2]!.click();
    expect(model.get("navigate_to")).toBe(13);
    expect(model.lastSave()).toEqual({ navigate_to: 13 });
    rows()[2]!.click();
    expect(model.lastSave()).toEqual({ navigate_to: 20 });
  });

  it("sends a second click on the same row even before the kernel reset navigate_to", async () => {
    const { model, rows } = await setup();
    rows()[0]!.click();
    rows()[0]!.click();
    expect(model.saves).toBe(2);
    expect(model.lastSave()).toEqual({ navigate_to: 4 });
    expect(model.setsOf("navigate_to")).toEqual([4, null, 4]);
  });
});

describe("MatchView empty state, legend and help", () => {
  it("shows the kernel's hint in the neutral hint box, not the error box", async () => {
    const { model, root } = await setup({ _rows: null, hint: `Select cells to match ${XSS}` });
    const hint = root.querySelector<HTMLElement>(".rnnw-hint")!;
    expect(hint.hidden).toBe(false);
    expect(hint.textContent).toBe(`Select cells to match ${XSS}`);
    expect(hint.getAttribute("role")).toBe("status");
    expect(root.querySelector("img")).toBeNull();
    expect(root.querySelector<HTMLElement>(".rnnw-error")!.hidden).toBe(true);
    expect(root.querySelector<HTMLElement>(".rnnw-match-list")!.hidden).toBe(true);
    model.receive("hint", "");
    model.receive("_rows", makeRows());
    expect(hint.hidden).toBe(true);
    expect(root.querySelectorAll(".rnnw-match-row").length).toBe(3);
  });

  it("shows an error over a hint", async () => {
    const { root } = await setup({ _rows: null, hint: "select cells", error: "bad threshold" });
    expect(root.querySelector<HTMLElement>(".rnnw-error")!.hidden).toBe(false);
    expect(root.querySelector<HTMLElement>(".rnnw-hint")!.hidden).toBe(true);
  });

  it("names every colour: the count ramp, the match's frame, the faded context, the hovered step", async () => {
    const { root } = await setup();
    const items = [...root.querySelectorAll<HTMLElement>(".rnnw-match-legend .rnnw-legend-item")];
    expect(items.map((i) => i.textContent)).toEqual(["selected cells on: 1 … 2 of 2", "match: framed, bold", "context: faded", "hovered step"]);
    expect(items[0]!.style.getPropertyValue("--rnnw-ramp")).toBe(`linear-gradient(to right, ${heatColor(0.5)}, ${heatColor(1)})`);
    expect(items[1]!.style.getPropertyValue("--rnnw-swatch")).toBe("var(--rnnw-accent)");
  });

  it("has a ? button that shows and hides the list of gestures", async () => {
    const { root } = await setup();
    const button = root.querySelector<HTMLButtonElement>(".rnnw-match-header .rnnw-help-button")!;
    const panel = root.querySelector<HTMLElement>(".rnnw-help")!;
    expect([button.textContent, button.getAttribute("aria-expanded"), panel.hidden]).toEqual(["?", "false", true]);
    button.click();
    expect([button.getAttribute("aria-expanded"), panel.hidden]).toEqual(["true", false]);
    expect([...panel.querySelectorAll(".rnnw-help-gesture")].map((d) => d.textContent)).toContain("click a row");
    button.click();
    expect(panel.hidden).toBe(true);
  });
});

describe("MatchView errors", () => {
  it("shows the kernel's notice as text above the rows, which stay shown", async () => {
    const { model, root } = await setup();
    const notice = root.querySelector<HTMLElement>(".rnnw-notice")!;
    expect(notice.hidden).toBe(true);
    model.receive("message", `top 1000000000 is more than 1000 ${XSS}; showing 1000`);
    expect(notice.hidden).toBe(false);
    expect(notice.textContent).toBe(`top 1000000000 is more than 1000 ${XSS}; showing 1000`);
    expect(root.querySelector("img")).toBeNull();
    expect(root.querySelector<HTMLElement>(".rnnw-match-list")!.hidden).toBe(false);
    expect(root.querySelectorAll(".rnnw-match-row").length).toBe(3);
    model.receive("message", "");
    expect(notice.hidden).toBe(true);
  });

  it("shows the kernel's error in place of the rows, as text", async () => {
    const { model, root } = await setup();
    const box = root.querySelector<HTMLElement>(".rnnw-error")!;
    expect(box.hidden).toBe(true);
    model.receive("error", `Select cells to match ${XSS}`);
    model.receive("_rows", null);
    expect(box.hidden).toBe(false);
    expect(box.textContent).toBe(`Select cells to match ${XSS}`);
    expect(root.querySelector("img")).toBeNull();
    expect(root.querySelector<HTMLElement>(".rnnw-match-list")!.hidden).toBe(true);
    expect(root.querySelectorAll(".rnnw-match-row").length).toBe(0);
    model.receive("error", "");
    model.receive("_rows", makeRows());
    expect(box.hidden).toBe(true);
    expect(root.querySelectorAll(".rnnw-match-row").length).toBe(3);
  });

  it("reports a malformed payload in place instead of throwing", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const bad = { ...makeRows(), offsets: u32([0, 6]) };
    const { root } = await setup({ _rows: bad });
    const box = root.querySelector<HTMLElement>(".rnnw-error")!;
    expect(box.hidden).toBe(false);
    expect(box.textContent).toContain("offsets");
  });

  it("decodeRows checks the counts buffer", () => {
    expect(decodeRows(null)).toBeNull();
    expect(() => decodeRows({ ...makeRows(), counts: f32([1, 2]) })).toThrow(/uint32/);
    const decoded = decodeRows(makeRows())!;
    expect(Array.from(decoded.rows[1]!.counts)).toEqual([1, 2, 0, 1]);
  });
});

describe("MatchView cleanup", () => {
  it("removes every listener and the DOM", async () => {
    vi.useFakeTimers();
    const { model, selection, root, rows, tokens, cleanup } = await setup();
    expect(model.listenerCount()).toBeGreaterThan(0);
    expect(selection.listenerCount()).toBeGreaterThan(0);
    const word = tokens(rows()[0]!)[2]!;
    const row = rows()[0]!;
    over(word); // a pending throttled save
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(selection.listenerCount()).toBe(0);
    expect(root.isConnected).toBe(false);
    vi.advanceTimersByTime(HOVER_SAVE_MS * 2);
    expect(selection.saves).toBe(0);
    const before = model.calls.length;
    row.click();
    over(word);
    expect(model.calls.length).toBe(before);
    expect(selection.setsOf("hovered_step")).toEqual([4]);
  });
});

function hexToRgb(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}
