// MatchView: the ranked matches of the selected cells (the LSTMVis "match view") as rows of
// words aligned at each match's first word. The kernel <-> browser contract is
// docs/match_view_contract.md. Words are text only (textContent, never HTML); their background
// is the share of selected cells on at that step, or the value of a chosen annotation track.
import type { AnyWidget, RenderProps } from "@anywidget/types";
import { el, fmt, message } from "../lib/dom";
import { createErrorBox, createNoticeBox, domListeners, guardedRender, modelListeners, showErrorText } from "../lib/view";
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
  /** A notice that is not an error (a size clamped to its bound), shown above the rows. */
  message?: string;
  _rows: RowsPayload | null;
  _tracks: string[];
};

export const HOVER_SAVE_MS = 150;
/** The drop-down option that colours words by the count of selected cells on. */
export const COUNT_OPTION = "match count";

/** A fixed categorical palette (Tableau 10), indexed by category code modulo its length. */
export const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

const LIGHT: [number, number, number] = [247, 251, 255];
const DARK: [number, number, number] = [8, 48, 107];

/** Light (0) to dark (1) blue, as "rgb(r, g, b)"; the fraction is clamped to [0, 1]. */
export function heatColor(fraction: number): string {
  const t = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const [r, g, b] = LIGHT.map((l, i) => Math.round(l + (DARK[i]! - l) * t));
  return `rgb(${r}, ${g}, ${b})`;
}

/** The palette colour of a category code. */
export function categoryColor(code: number): string {
  return PALETTE[((code % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
}

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
  const root = el("div", "rnnw-match-view");
  const header = el("div", "rnnw-match-header");
  const summary = el("span", "rnnw-match-summary");
  const trackLabel = el("label", "rnnw-match-track-label", "colour: ");
  const trackSelect = el("select", "rnnw-match-track rnnw-control");
  trackSelect.title = "colour the words by the count of selected cells on, or by a track";
  trackLabel.append(trackSelect);
  header.append(summary, trackLabel);
  const errorBox = createErrorBox();
  const notice = createNoticeBox();
  const list = el("div", "rnnw-match-list");
  const legend = el("div", "rnnw-match-legend");
  root.append(header, errorBox, notice, list, legend);
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
    showErrorText(errorBox, text);
    showErrorText(notice, String(model.get("message") ?? ""));
    list.hidden = text !== "";
    legend.hidden = text !== "" || legend.childElementCount === 0;
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
        if (inMatch) word.classList.add("rnnw-match-in");
        if (step === row.start) word.classList.add("rnnw-match-first");
        const count = row.counts[i] ?? 0;
        word.dataset.count = String(count);
        let detail: string;
        if (track && row.track) {
          const v = row.track[i] ?? 0;
          if (track.labelType === "categorical") {
            word.style.backgroundColor = categoryColor(v);
            word.classList.add("rnnw-match-dark");
            detail = `${track.name}: ${track.categories[v] ?? v}`;
            seen.add(v);
          } else {
            const [lo, hi] = track.range;
            const fraction = hi > lo ? (v - lo) / (hi - lo) : 0;
            word.style.backgroundColor = heatColor(fraction);
            word.classList.toggle("rnnw-match-dark", fraction > 0.55);
            detail = `${track.name}: ${v.toPrecision(3)}`;
          }
        } else {
          const fraction = nSelected > 0 ? count / nSelected : 0;
          word.dataset.heat = fraction.toFixed(3);
          if (count > 0) word.style.backgroundColor = heatColor(fraction);
          word.classList.toggle("rnnw-match-dark", fraction > 0.55);
          detail = `${count} of ${nSelected} selected cells on`;
        }
        word.title = `${token}\nstep ${fmt(step)} · ${detail}`;
        const same = tokensByStep.get(step);
        if (same) same.push(word);
        else tokensByStep.set(step, [word]);
        words.append(word);
      });
      line.append(el("span", "rnnw-match-rank", String(rank + 1)), score, words);
      list.append(line);
    });
    if (track?.labelType === "categorical") {
      for (const code of [...seen].sort((a, b) => a - b)) {
        const item = el("span", "rnnw-match-legend-item", track.categories[code] ?? String(code));
        item.style.setProperty("--rnnw-swatch", categoryColor(code));
        legend.append(item);
      }
    }
    markHovered();
    showError();
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
  modelEvents.on(["error", "message"], onError);
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

  return () => {
    selection.dispose();
    listeners.abort();
    hoverSave.cancel();
    modelEvents.off();
    dropExport();
    root.remove();
  };
}

export default { render } satisfies AnyWidget<MatchViewState>;
