import type { AnyModel } from "@anywidget/types";
import { decodeCells } from "./binary";

/** The synced fields of the shared Selection model (docs/select_view_contract.md). */
export type SelectionState = {
  layer: number;
  kind: string;
  cells: DataView | number[] | null; // bytes from the kernel; a plain list from a view (cellsToSave)
  start: number;
  stop: number;
  pad_before: number;
  pad_after: number;
  threshold: number;
  hovered_step: number | null;
  sequence: number;
};

export type SelectionModel = AnyModel<SelectionState>;

/** The Selection's fields coerced to their types, with `cells` decoded, sorted and unique. */
export interface SelectionSnapshot {
  layer: number;
  kind: string;
  cells: number[];
  start: number;
  stop: number;
  threshold: number;
  hoveredStep: number | null;
  sequence: number;
}

const REF_PREFIX = "IPY_MODEL_";

interface ManagerLike {
  get_model(id: string): Promise<unknown>;
}

function isModel(value: unknown): value is AnyModel {
  const m = value as Partial<AnyModel> | null;
  return !!m && typeof m.get === "function" && typeof m.set === "function" && typeof m.on === "function";
}

/**
 * Resolve a widget reference ("IPY_MODEL_<id>", as widget_serialization sends it) to its model
 * through the widget manager. An already deserialized model is returned as is.
 */
export async function resolveModel<T extends Record<string, any>>(ref: unknown, manager: ManagerLike | undefined): Promise<AnyModel<T>> {
  if (isModel(ref)) return ref as unknown as AnyModel<T>;
  if (typeof ref !== "string" || !ref.startsWith(REF_PREFIX)) {
    throw new TypeError(`expected a widget reference "IPY_MODEL_<id>", got ${JSON.stringify(ref)}`);
  }
  if (!manager) throw new Error("the model has no widget_manager to resolve the reference with");
  const model = await manager.get_model(ref.slice(REF_PREFIX.length));
  if (!isModel(model)) throw new Error(`widget ${ref} did not resolve to a model`);
  return model as unknown as AnyModel<T>;
}

function num(value: unknown, fallback: number): number {
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : fallback;
}

export function readSelection(sel: SelectionModel): SelectionSnapshot {
  const hovered = sel.get("hovered_step");
  return {
    layer: num(sel.get("layer"), 0),
    kind: String(sel.get("kind") ?? "h"),
    cells: decodeCells(sel.get("cells")),
    start: num(sel.get("start"), 0),
    stop: num(sel.get("stop"), 0),
    threshold: num(sel.get("threshold"), 0),
    hoveredStep: hovered === null || hovered === undefined ? null : num(hovered, 0),
    sequence: num(sel.get("sequence"), 0),
  };
}

/** A call that runs later; `cancel` drops it, `flush` runs a pending one now. */
export interface Scheduled {
  (): void;
  cancel(): void;
  flush(): void;
  pending(): boolean;
}

function scheduled(fn: () => void, ms: number, restart: boolean): Scheduled {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const fire = () => {
    timer = null;
    fn();
  };
  const call = (() => {
    if (timer !== null && !restart) return;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(fire, ms);
  }) as Scheduled;
  call.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  call.flush = () => {
    if (timer === null) return;
    clearTimeout(timer);
    fire();
  };
  call.pending = () => timer !== null;
  return call;
}

/** Trailing throttle: `fn` runs at most once per `ms`, at the end of an interval that saw calls. */
export function throttle(fn: () => void, ms: number): Scheduled {
  return scheduled(fn, ms, false);
}

/** Debounce: `fn` runs once, `ms` after the last call. */
export function debounce(fn: () => void, ms: number): Scheduled {
  return scheduled(fn, ms, true);
}
