import type { AnyModel } from "@anywidget/types";
import { decodeCells } from "./binary";
import { message } from "./dom";

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

/** What `followSelection` needs of a view: the view's model and how to react. */
export interface SelectionFollower {
  /** The view's model: its `selection` field holds the Selection's reference. */
  model: { get(name: "selection"): unknown; widget_manager?: ManagerLike };
  /** The view's name, for the error message. */
  view: string;
  /** Handlers for the Selection's events ("change:cells", ...), bound while it is followed. */
  events: Record<string, () => void>;
  /** Takes the followed Selection (null while resolving or when not found) and the error ("" if none). */
  assign(selection: SelectionModel | null, error: string): void;
  /** Runs once a resolution has settled (found or not): the view redraws. */
  settled(): void;
}

/** The Selection a view follows; `rebind` after the view's `selection` field changes. */
export interface SelectionFollowing {
  /** Resolve the reference again and move the handlers there; a newer call wins over an older one. */
  rebind(): Promise<void>;
  /** Unbind the handlers for good; resolutions still pending are ignored. */
  dispose(): void;
}

/**
 * Follow the Selection that a view's `selection` field refers to: resolve it through the widget
 * manager, bind the view's handlers to it, and tell the view (`assign`) which Selection it now
 * has, or why there is none. Every view shares this so that a stale resolution (the reference
 * changed while it was pending) or one finishing after the view was closed never binds.
 */
export function followSelection(follower: SelectionFollower): SelectionFollowing {
  const { model, view, events, assign, settled } = follower;
  let current: SelectionModel | null = null;
  let error = "";
  let generation = 0;
  let disposed = false;

  const unbind = () => {
    if (current) for (const [name, handler] of Object.entries(events)) current.off(name, handler);
    current = null;
  };

  async function rebind(): Promise<void> {
    const mine = ++generation;
    unbind();
    assign(null, error);
    try {
      const resolved = await resolveModel<SelectionState>(model.get("selection"), model.widget_manager);
      if (disposed || mine !== generation) return;
      current = resolved;
      for (const [name, handler] of Object.entries(events)) resolved.on(name, handler);
      error = "";
    } catch (failure) {
      if (disposed || mine !== generation) return;
      error = `${view} could not find its Selection: ${message(failure)}`;
    }
    assign(current, error);
    settled();
  }

  return {
    rebind,
    dispose: () => {
      disposed = true;
      generation++;
      unbind();
    },
  };
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
