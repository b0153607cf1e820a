// The RelevanceBars' hypothesis box: pick a kind, type a hypothesis, press Enter; the kernel
// labels the trace, scores every cell and answers with new bars. The box sends a request (a
// custom message: an action, not state); what it changes comes back as state (`tried`,
// `hypothesis_error`, `_bars`) and a reply that ends the busy indicator. See
// docs/relevance_bars_contract.md. Everything typed or named is text (textContent, value).
import { el, message } from "./dom";
import { formatValue } from "./svg";
import type { Gesture, Listen } from "./view";

/** One entry of the kernel's `tried` list. */
export interface TriedEntry {
  name: string;
  text: string;
  kind: string;
  feature: string;
  label_type: string;
  best_cell: number;
  best_score: number;
}

/** A choice of the kind picker: what `try_hypothesis` takes, and how the box explains it. */
export interface KindOption {
  value: string;
  kind: "regex" | "tokens" | "python";
  feature: "range" | "impulse";
  label: string;
  placeholder: string;
}

/** The kinds the picker offers, in its order (hypotheses.from_text reads them). */
export const KIND_OPTIONS: readonly KindOption[] = [
  { value: "regex", kind: "regex", feature: "range", label: "regex: every step of a match", placeholder: "a regular expression, e.g. \\(.*?\\)" },
  { value: "regex-impulse", kind: "regex", feature: "impulse", label: "regex: first and last step of a match", placeholder: "a regular expression, e.g. \\(.*?\\)" },
  { value: "tokens", kind: "tokens", feature: "range", label: "tokens", placeholder: "tokens separated by spaces, e.g. ( )   (\\s is a space)" },
  { value: "python", kind: "python", feature: "range", label: "python", placeholder: 'an expression over tokens and i, e.g. tokens[i] == "("' },
];

/** The lines the `?` help adds when the view has a hypothesis box. */
export const HYPOTHESIS_GESTURES: readonly Gesture[] = [
  ["hypothesis + Enter", "scores every cell for the typed hypothesis and shows its bars"],
  ["Escape in the box", "clears the typed text"],
  ["click a tried hypothesis", "shows its bars again and puts its text back in the box"],
];

/** The picker's choice for a kind and feature (the first regex choice for anything unknown). */
export function optionOf(kind: string, feature: string): KindOption {
  return KIND_OPTIONS.find((o) => o.kind === kind && o.feature === feature) ?? KIND_OPTIONS[0]!;
}

/** The well-formed entries of `tried` (anything else is dropped). */
export function decodeTried(raw: unknown): TriedEntry[] {
  if (!Array.isArray(raw)) return [];
  const entries: TriedEntry[] = [];
  for (const item of raw) {
    if (item === null || typeof item !== "object") continue;
    const e = item as Record<string, unknown>;
    if (typeof e.name !== "string" || !Number.isInteger(e.best_cell) || typeof e.best_score !== "number") continue;
    entries.push({
      name: e.name,
      text: String(e.text ?? ""),
      kind: String(e.kind ?? "regex"),
      feature: String(e.feature ?? "range"),
      label_type: String(e.label_type ?? "binary"),
      best_cell: Number(e.best_cell),
      best_score: e.best_score,
    });
  }
  return entries;
}

/** What a tried entry says: its name and its best cell with that cell's score. */
export function triedText(entry: TriedEntry): string {
  const measure = entry.label_type === "continuous" ? "R²" : "bal. acc.";
  return `${entry.name} — best cell ${entry.best_cell}: ${formatValue(entry.best_score)} ${measure}`;
}

/** The part of the widget model the box uses. */
export interface HypothesisModel {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  save_changes(): void;
  send(content: Record<string, unknown>): void;
  on(eventName: string, callback: (...args: any[]) => void): void;
  off(eventName?: string | null, callback?: ((...args: any[]) => void) | null): void;
}

export interface HypothesisBox {
  /** The box, its error line and the tried list, in one element (exports leave it out). */
  element: HTMLElement;
  /** Redraws from the model (`tried`, `hypothesis_error`, `current`, `_hypothesis_box`). */
  update(): void;
  /** Removes the model listener; the DOM listeners go with the view's `on`. */
  dispose(): void;
}

let boxIds = 0;

/**
 * The hypothesis box of a view: `.rnnw-hypotheses` holding the kind picker, the text input and a
 * `try` button, the busy line, the error line and the list of tried hypotheses. Enter (or the
 * button) sends `{type: "try_hypothesis", id, text, kind, feature}`; the busy line shows until
 * the kernel's `{type: "hypothesis_done", id}` for the latest request arrives.
 */
export function createHypothesisBox(model: HypothesisModel, on: Listen): HypothesisBox {
  const id = `rnnw-hypothesis-${++boxIds}`;
  const element = el("div", "rnnw-hypotheses");
  const form = el("div", "rnnw-hypothesis-box");
  form.setAttribute("role", "search");
  form.setAttribute("aria-label", "try a hypothesis");
  const label = el("label", "rnnw-hypothesis-label", "hypothesis");
  label.htmlFor = id;
  const picker = el("select", "rnnw-hypothesis-kind rnnw-control");
  picker.setAttribute("aria-label", "kind of hypothesis");
  picker.title = "what the typed text is";
  for (const option of KIND_OPTIONS) picker.append(Object.assign(el("option", "", option.label), { value: option.value }));
  const input = el("input", "rnnw-hypothesis-input rnnw-control");
  input.id = id;
  input.type = "text";
  input.autocomplete = "off";
  input.spellcheck = false;
  input.setAttribute("aria-describedby", `${id}-error`);
  const button = el("button", "rnnw-hypothesis-try rnnw-control", "try");
  button.type = "button";
  button.title = "score every cell for this hypothesis (Enter)";
  const busy = el("span", "rnnw-hypothesis-busy", "scoring…");
  busy.setAttribute("role", "status");
  busy.hidden = true;
  form.append(label, picker, input, button, busy);
  const error = el("div", "rnnw-hypothesis-error");
  error.id = `${id}-error`;
  error.setAttribute("role", "alert");
  error.hidden = true;
  const list = el("ol", "rnnw-hypothesis-tried");
  list.setAttribute("aria-label", "hypotheses tried");
  element.append(form, error, list);

  let pending: number | null = null;
  let requests = 0;
  let listKey = "";

  function chosen(): KindOption {
    return KIND_OPTIONS.find((o) => o.value === picker.value) ?? KIND_OPTIONS[0]!;
  }

  function setBusy(state: boolean): void {
    busy.hidden = !state;
    element.dataset.busy = String(state);
    input.setAttribute("aria-busy", String(state));
  }

  function submit(): void {
    const option = chosen();
    pending = ++requests;
    setBusy(true);
    try {
      model.send({ type: "try_hypothesis", id: pending, text: input.value, kind: option.kind, feature: option.feature });
    } catch (failure) {
      // No kernel behind the view (a notebook saved as HTML): say so instead of spinning.
      pending = null;
      setBusy(false);
      showError(`no kernel to score the hypothesis: ${message(failure)}`);
    }
  }

  function showError(text: string): void {
    error.textContent = text;
    error.hidden = text === "";
    input.setAttribute("aria-invalid", String(text !== ""));
  }

  function showPlaceholder(): void {
    input.placeholder = chosen().placeholder;
  }

  function drawList(): void {
    const entries = decodeTried(model.get("tried"));
    const current = String(model.get("current") ?? "");
    const key = JSON.stringify([entries, current]);
    if (key === listKey) return;
    listKey = key;
    list.hidden = entries.length === 0;
    const items = entries
      .slice()
      .reverse() // the latest first
      .map((entry) => {
        const item = el("li", "rnnw-hypothesis-entry");
        const pick = el("button", "rnnw-hypothesis-show", triedText(entry));
        pick.type = "button";
        pick.dataset.name = entry.name;
        pick.title = `show the bars of ${entry.name}`;
        const shown = entry.name === current;
        pick.classList.toggle("rnnw-hypothesis-current", shown);
        if (shown) pick.setAttribute("aria-current", "true");
        item.append(pick);
        return item;
      });
    list.replaceChildren(...items);
  }

  function update(): void {
    element.hidden = !model.get("_hypothesis_box");
    showError(String(model.get("hypothesis_error") ?? ""));
    drawList();
  }

  const onMessage = (content: unknown) => {
    const msg = content as { type?: unknown; id?: unknown } | null;
    if (!msg || msg.type !== "hypothesis_done" || msg.id !== pending) return;
    pending = null;
    setBusy(false);
  };

  on<KeyboardEvent>(input, "keydown", (e) => {
    e.stopPropagation(); // typing here is text, never JupyterLab's notebook shortcuts
    if (e.key === "Enter" && !e.isComposing) {
      e.preventDefault();
      submit();
    } else if (e.key === "Escape" && input.value !== "") {
      e.preventDefault();
      input.value = "";
    }
  });
  on<KeyboardEvent>(picker, "keydown", (e) => e.stopPropagation());
  on(picker, "change", showPlaceholder);
  on(button, "click", submit);
  on<MouseEvent>(list, "click", (e) => {
    const target = (e.target as Element | null)?.closest<HTMLButtonElement>("button.rnnw-hypothesis-show");
    const name = target?.dataset.name;
    if (!target || name === undefined) return;
    const entry = decodeTried(model.get("tried")).find((t) => t.name === name);
    if (entry && KIND_OPTIONS.some((o) => o.kind === entry.kind)) {
      // Labelled examples are brushed, not typed: showing them leaves the box as it is.
      picker.value = optionOf(entry.kind, entry.feature).value;
      input.value = entry.text;
      showPlaceholder();
    }
    model.set("current", name);
    model.save_changes();
  });
  model.on("msg:custom", onMessage);

  showPlaceholder();
  setBusy(false);
  update();
  return {
    element,
    update,
    dispose: () => model.off("msg:custom", onMessage),
  };
}
