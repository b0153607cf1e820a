// MatchView: the ranked matches of the selected cells (the LSTMVis "match view") as rows of
// words aligned at each match's first word. The kernel <-> browser contract is
// docs/match_view_contract.md. Words are text only (textContent, never HTML); their background
// is the share of selected cells on at that step, or the value of a chosen annotation track.
// As in LSTMVis, the matched steps stand out from their context: framed in the accent colour and
// bold at full strength, while the context around them is faded towards the background. Colours
// come from the theme (lib/theme.ts) and are re-read when JupyterLab's theme changes; the text
// on a coloured word is black or white, whichever reads better (at least 4.5:1).
import type { AnyWidget, RenderProps } from "@anywidget/types";
import { el, fmt, message } from "../lib/dom";
import { attachHelp, createErrorBox, createHintBox, createNoticeBox, domListeners, guardedRender, legendItem, modelListeners, showErrorText, type Gesture } from "../lib/view";
import { categoryColor } from "../lib/colormap";
import { cssVariable, mix, parseRgba, rgbText, textOn, themeColors, watchTheme } from "../lib/theme";
import { decode, type PackedArray } from "../lib/binary";
import { followSelection, throttle, type SelectionModel } from "../lib/selection";
import { attachExport, snapshotSvg, type ExportModel } from "../lib/export";

export interface MatchRowPayload {
  sequence: number;
  start: number;
  stop: number;
  shared: number;
  union: number;
  position: number;
  context_start: number;
  tokens: string[];
}

export interface TrackPayload {
  name: string;
  label_type: "numeric" | "categorical";
  values: PackedArray;
  categories?: string[];
  value_range?: [number, number];
}

export interface RowsPayload {
  rows: MatchRowPayload[];
  counts: PackedArray;
  offsets: PackedArray;
  n_selected: number;
  n_candidates: number;
  track: TrackPayload | null;
}

export type MatchViewState = {
  selection: string;
  top: number;
  context: number;
  min_length: number;
  track: string | null;
  navigate_to: number | null;
  error: string;
  /** What the view shows in place of rows when there is nothing to match yet: a neutral hint. */
  hint?: string;
  /** A notice that is not an error (a size clamped to its bound), shown above the rows. */
  message?: string;
  _rows: RowsPayload | null;
  _tracks: string[];
};

export const HOVER_SAVE_MS = 150;
/** The drop-down option that colours words by the count of selected cells on. */
export const COUNT_OPTION = "match count";

/** The categorical palette: the one every view uses (lib/colormap.ts), so a track's colours agree. */
export { categoryColor };

/** The heat ramp of the light theme (`--rnnw-heat-low` .. `--rnnw-heat-high` in lib/view.css). */
export const HEAT_LOW: readonly [number, number, number] = [247, 251, 255];
export const HEAT_HIGH: readonly [number, number, number] = [8, 48, 107];
/** How much of its colour a context word keeps (the rest is the background): context is faded. */
export const CONTEXT_STRENGTH = 0.4;

/** `low` (0) to `high` (1), light to dark blue by default, as "rgb(r, g, b)"; the fraction is clamped to [0, 1]. */
export function heatColor(fraction: number, low: readonly number[] = HEAT_LOW, high: readonly number[] = HEAT_HIGH): string {
  const t = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  return rgbText(mix(high, low, t));
}

/** The colour a context word shows for data colour `color`: faded towards the background. */
export function contextColor(color: string, background: string = "#ffffff"): string {
  const rgb = parseRgba(color) ?? [0, 0, 0, 1];
  const bg = parseRgba(background) ?? [255, 255, 255, 1];
  return rgbText(mix(rgb, bg, CONTEXT_STRENGTH));
}

/** The gestures the `?` button lists. */
export const GESTURES: readonly Gesture[] = [
  ["hover a word", "marks its step in every linked view"],
  ["click a row", "shows that match in the SelectView (scrolls there, focuses its sequence)"],
  ["colour: …", "colours the words by the count of selected cells on, or by an annotation track"],
  ["PNG / SVG", "download the view as drawn"],
];

const WHITESPACE_GLYPHS: Record<string, string> = { "\n": "⏎", "\r": "␍", "\t": "⇥", " ": "␣" };

/** How a token is shown: whitespace-only tokens as visible glyphs, line breaks as glyphs. */
export function visibleToken(token: string): string {
  if (token.length > 0 && token.trim() === "") return [...token].map((c) => WHITESPACE_GLYPHS[c] ?? "·").join("");
  return token.replace(/[\n\r\t]/g, (c) => WHITESPACE_GLYPHS[c] ?? c);
}

interface DecodedRow extends MatchRowPayload {
  counts: Uint32Array;
  track: Float32Array | Uint32Array | null;
}

interface DecodedRows {
  rows: DecodedRow[];
  nSelected: number;
  nCandidates: number;
  track: { name: string; labelType: "numeric" | "categorical"; categories: string[]; range: [number, number] } | null;
}

/** Decode and check `_rows`; throws with a message saying what is wrong. */
export function decodeRows(raw: unknown): DecodedRows | null {
  if (raw === null || raw === undefined) return null;
  const p = raw as Partial<RowsPayload>;
  if (!Array.isArray(p.rows)) throw new TypeError(`rows must be a list, got ${typeof p.rows}`);
  const counts = decode(p.counts, "uint32").array;
  const offsets = decode(p.offsets, "uint32").array;
  if (offsets.length !== p.rows.length + 1) throw new RangeError(`offsets must have ${p.rows.length + 1} entries, got ${offsets.length}`);
  if ((offsets[offsets.length - 1] ?? 0) !== counts.length) throw new RangeError(`offsets end at ${offsets[offsets.length - 1]}, counts has ${counts.length}`);
  let trackValues: Float32Array | Uint32Array | null = null;
  let track: DecodedRows["track"] = null;
  if (p.track) {
    const labelType = p.track.label_type === "categorical" ? "categorical" : "numeric";
    trackValues = labelType === "categorical" ? decode(p.track.values, "uint32").array : decode(p.track.values, "float32").array;
    if (trackValues.length !== counts.length) throw new RangeError(`track values must have ${counts.length} entries, got ${trackValues.length}`);
    const range = Array.isArray(p.track.value_range) ? p.track.value_range.map(Number) : [0, 1];
    track = {
      name: String(p.track.name),
      labelType,
      categories: Array.isArray(p.track.categories) ? p.track.categories.map(String) : [],
      range: [range[0] ?? 0, range[1] ?? 1],
    };
  }
  const rows = p.rows.map((r, i): DecodedRow => {
    const a = offsets[i]!;
    const b = offsets[i + 1]!;
    if (b < a) throw new RangeError(`offsets must not decrease (row ${i})`);
    if (!Array.isArray(r.tokens) || r.tokens.length !== b - a) {
      throw new RangeError(`row ${i} must have ${b - a} tokens, got ${Array.isArray(r.tokens) ? r.tokens.length : typeof r.tokens}`);
    }
    return {
      sequence: Number(r.sequence),
      start: Number(r.start),
      stop: Number(r.stop),
      shared: Number(r.shared),
      union: Number(r.union),
      position: Number(r.position),
      context_start: Number(r.context_start),
      tokens: r.tokens.map(String),
      counts: counts.subarray(a, b),
      track: trackValues ? trackValues.subarray(a, b) : null,
    };
  });
  return { rows, nSelected: Number(p.n_selected) || 0, nCandidates: Number(p.n_candidates) || 0, track };
}

type Props = Pick<RenderProps<MatchViewState>, "model" | "el">;

const render = guardedRender<Props>("MatchView", mount);

async function mount({ model, el: host }: Props): Promise<() => void> {
  const listeners = domListeners(); // every DOM listener is added with its signal
  const { on } = listeners;

  // ---------------------------------------------------------------- DOM
  const root = el("div", "rnnw-match-view rnnw-view");
  const header = el("div", "rnnw-match-header");
  const summary = el("span", "rnnw-match-summary");
  const trackLabel = el("label", "rnnw-match-track-label", "colour: ");
  const trackSelect = el("select", "rnnw-match-track rnnw-control");
  trackSelect.title = "colour the words by the count of selected cells on, or by a track";
  trackLabel.append(trackSelect);
  header.append(summary, trackLabel);
  const errorBox = createErrorBox();
  const hintBox = createHintBox();
  const notice = createNoticeBox();
  const list = el("div", "rnnw-match-list");
  const legend = el("div", "rnnw-match-legend rnnw-legend");
  root.append(header, errorBox, hintBox, notice, list, legend);
  host.append(root);

  // ---------------------------------------------------------------- state
  let sel: SelectionModel | null = null;
  let data: DecodedRows | null = null;
  let rowsError = "";
  let selectionError = "";
  let tracksKey = "";
  let tokensByStep = new Map<number, HTMLElement[]>();
  let marked: HTMLElement[] = [];
  const hoverSave = throttle(() => sel?.save_changes(), HOVER_SAVE_MS);

  // ---------------------------------------------------------------- drawing
  function showError(): void {
    const text = String(model.get("error") ?? "") || rowsError || selectionError;
    const hint = text === "" ? String(model.get("hint") ?? "") : "";
    showErrorText(errorBox, text);
    showErrorText(hintBox, hint);
    showErrorText(notice, String(model.get("message") ?? ""));
    list.hidden = text !== "" || hint !== "";
    legend.hidden = list.hidden || legend.childElementCount === 0;
  }

  function updateTrackSelect(): void {
    const names = (model.get("_tracks") ?? []).map(String);
    const key = JSON.stringify(names);
    if (key !== tracksKey) {
      tracksKey = key;
      const count = el("option", "", COUNT_OPTION);
      count.value = "";
      trackSelect.replaceChildren(count, ...names.map((n) => Object.assign(el("option", "", n), { value: n })));
    }
    trackSelect.value = String(model.get("track") ?? "");
    trackLabel.hidden = names.length === 0;
  }

  function drawRows(): void {
    updateTrackSelect();
    tokensByStep = new Map();
    marked = [];
    list.replaceChildren();
    legend.replaceChildren();
    if (!data) {
      summary.textContent = "";
      showError();
      return;
    }
    const { rows, nSelected, nCandidates, track } = data;
    // The palette now (the theme may have changed since the last draw).
    const background = themeColors(root).background;
    const low = parseRgba(cssVariable(root, "--rnnw-heat-low", "")) ?? HEAT_LOW;
    const high = parseRgba(cssVariable(root, "--rnnw-heat-high", "")) ?? HEAT_HIGH;
    const heat = (fraction: number) => heatColor(fraction, low, high);
    summary.textContent = `${fmt(rows.length)} of ${fmt(nCandidates)} candidates · ${fmt(nSelected)} cell${nSelected === 1 ? "" : "s"} selected`;
    // Columns before the match start: the same for every row, so the first words line up.
    const before = Math.max(Number(model.get("context")) || 0, ...rows.map((r) => r.start - r.context_start));
    root.style.setProperty("--rnnw-match-before", String(before));
    const seen = new Set<number>();
    rows.forEach((row, rank) => {
      const line = el("div", "rnnw-match-row");
      line.dataset.start = String(row.start);
      line.dataset.stop = String(row.stop);
      line.dataset.sequence = String(row.sequence);
      line.title = `sequence ${fmt(row.sequence)}, position ${fmt(row.position)}, steps ${fmt(row.start)}–${fmt(row.stop)} · click to show it in the SelectView`;
      const score = el("span", "rnnw-match-score", `${row.shared} / ${row.union}`);
      score.title = "selected cells on throughout (shared) / cells in either set (union)";
      const words = el("div", "rnnw-match-words");
      row.tokens.forEach((token, i) => {
        const step = row.context_start + i;
        const column = before + (step - row.start); // 0-based column in the aligned matrix
        const word = el("span", "rnnw-match-token", visibleToken(token));
        word.dataset.step = String(step);
        word.dataset.column = String(column);
        word.style.gridColumn = String(column + 1);
        const inMatch = step >= row.start && step < row.stop;
        word.classList.add(inMatch ? "rnnw-match-in" : "rnnw-match-context");
        if (step === row.start) word.classList.add("rnnw-match-first");
        if (step === row.stop - 1) word.classList.add("rnnw-match-last");
        const count = row.counts[i] ?? 0;
        word.dataset.count = String(count);
        let detail: string;
        let color: string | null = null;
        if (track && row.track) {
          const v = row.track[i] ?? 0;
          if (track.labelType === "categorical") {
            color = categoryColor(v);
            detail = `${track.name}: ${track.categories[v] ?? v}`;
            seen.add(v);
          } else {
            const [lo, hi] = track.range;
            color = heat(hi > lo ? (v - lo) / (hi - lo) : 0);
            detail = `${track.name}: ${v.toPrecision(3)}`;
          }
        } else {
          const fraction = nSelected > 0 ? count / nSelected : 0;
          word.dataset.heat = fraction.toFixed(3);
          if (count > 0) color = heat(fraction);
          detail = `${count} of ${nSelected} selected cells on`;
        }
        if (color !== null) {
          const shown = inMatch ? color : contextColor(color, background);
          const ink = textOn(parseRgba(shown) ?? [255, 255, 255]);
          word.style.backgroundColor = shown;
          word.style.color = ink;
          word.classList.toggle("rnnw-match-dark", ink === "#ffffff");
        }
        word.title = `${token}\nstep ${fmt(step)} · ${inMatch ? "match" : "context"} · ${detail}`;
        const same = tokensByStep.get(step);
        if (same) same.push(word);
        else tokensByStep.set(step, [word]);
        words.append(word);
      });
      line.append(el("span", "rnnw-match-rank", String(rank + 1)), score, words);
      list.append(line);
    });
    drawLegend(data, seen, heat);
    markHovered();
    showError();
  }

  /** Names every colour the rows use: the data colours, the match's frame, the faded context, the hovered step. */
  function drawLegend({ rows, nSelected, track }: DecodedRows, seen: Set<number>, heat: (fraction: number) => string): void {
    if (rows.length === 0) return;
    if (track?.labelType === "categorical") {
      for (const code of [...seen].sort((a, b) => a - b)) {
        legend.append(legendItem(track.categories[code] ?? String(code), "box", categoryColor(code), "rnnw-match-legend-item"));
      }
    } else if (track) {
      const [lo, hi] = track.range;
      legend.append(legendItem(`${track.name}: ${lo.toPrecision(3)} … ${hi.toPrecision(3)}`, "ramp", `${heat(0)}, ${heat(1)}`, "rnnw-match-legend-key rnnw-match-legend-heat"));
    } else if (nSelected > 0) {
      const text = nSelected === 1 ? "the selected cell on" : `selected cells on: 1 … ${fmt(nSelected)} of ${fmt(nSelected)}`;
      legend.append(legendItem(text, "ramp", `${heat(1 / nSelected)}, ${heat(1)}`, "rnnw-match-legend-key rnnw-match-legend-heat"));
    }
    legend.append(
      legendItem("match: framed, bold", "frame", "var(--rnnw-accent)", "rnnw-match-legend-key rnnw-match-legend-match"),
      legendItem("context: faded", "text", "", "rnnw-match-legend-key rnnw-match-legend-context"),
      legendItem("hovered step", "frame", "var(--rnnw-hover)", "rnnw-match-legend-key rnnw-match-legend-hovered"),
    );
  }

  function markHovered(): void {
    for (const w of marked) w.classList.remove("rnnw-hovered");
    const raw = sel?.get("hovered_step");
    marked = raw === null || raw === undefined ? [] : (tokensByStep.get(Number(raw)) ?? []);
    for (const w of marked) w.classList.add("rnnw-hovered");
  }

  // ---------------------------------------------------------------- gestures
  function setHovered(step: number | null): void {
    if (!sel || (sel.get("hovered_step") ?? null) === step) return;
    sel.set("hovered_step", step);
    hoverSave();
  }

  function onPointerOver(e: Event): void {
    const word = (e.target as Element | null)?.closest?.(".rnnw-match-token") as HTMLElement | null;
    if (!word || !list.contains(word)) return;
    setHovered(Number(word.dataset.step));
  }

  function onClick(e: Event): void {
    const line = (e.target as Element | null)?.closest?.(".rnnw-match-row") as HTMLElement | null;
    if (!line || !list.contains(line)) return;
    const start = Number(line.dataset.start);
    if (!Number.isFinite(start)) return;
    // Clicking the same row again while the kernel has not reset it yet must still be sent.
    if (model.get("navigate_to") === start) model.set("navigate_to", null);
    model.set("navigate_to", start);
    model.save_changes();
  }

  function onTrackChange(): void {
    model.set("track", trackSelect.value === "" ? null : trackSelect.value);
    model.save_changes();
  }

  // ---------------------------------------------------------------- model listeners
  const onRows = () => {
    try {
      data = decodeRows(model.get("_rows"));
      rowsError = "";
    } catch (error) {
      data = null;
      rowsError = `MatchView received bad _rows: ${message(error)}`;
    }
    drawRows();
  };
  const onTracks = () => updateTrackSelect();
  const onError = () => showError();
  const unwatchTheme = watchTheme(root, () => drawRows()); // heat and faded colours are computed here
  const onHovered = () => markHovered();
  const selection = followSelection({
    model,
    view: "MatchView",
    events: { "change:hovered_step": onHovered },
    assign: (next, error) => {
      sel = next;
      selectionError = error;
    },
    settled: () => {
      markHovered();
      showError();
    },
  });
  const onSelectionRef = () => void selection.rebind();

  const modelEvents = modelListeners(model);
  modelEvents.on("_rows", onRows);
  modelEvents.on("_tracks", onTracks);
  modelEvents.on("track", onTracks);
  modelEvents.on(["error", "hint", "message"], onError);
  modelEvents.on("selection", onSelectionRef);
  on(list, "pointerover", onPointerOver);
  on(list, "pointerleave", () => setHovered(null));
  on(list, "click", onClick);
  on(trackSelect, "change", onTrackChange);

  onRows();
  await selection.rebind();

  const dropExport = attachExport(model as unknown as ExportModel, header, {
    name: "MatchView",
    svg: () => snapshotSvg(root, { skip: (node) => node === header }),
  });
  attachHelp(header, "MatchView", GESTURES, on);

  return () => {
    unwatchTheme();
    selection.dispose();
    listeners.abort();
    hoverSave.cancel();
    modelEvents.off();
    dropExport();
    root.remove();
  };
}

export default { render } satisfies AnyWidget<MatchViewState>;
