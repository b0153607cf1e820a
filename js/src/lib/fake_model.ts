// A stand-in for an anywidget / Backbone model in tests: `set` fires `change:<name>` and then
// `change` when the value changes (deep equality, like Backbone's _.isEqual), `save_changes` is
// recorded with the changes it would send, and `widget_manager.get_model` resolves other fakes.
import type { AnyModel } from "@anywidget/types";

type Handler = (...args: any[]) => void;

export type Call =
  | { method: "set"; key: string; value: unknown }
  | { method: "save_changes"; changes: Record<string, unknown> }
  | { method: "send"; content: unknown };

export class FakeWidgetManager {
  private models = new Map<string, FakeModel<any>>();
  private next = 0;

  /** Register a model; returns its reference "IPY_MODEL_<id>". */
  add(model: FakeModel<any>): string {
    const id = `fake${this.next++}`;
    this.models.set(id, model);
    return `IPY_MODEL_${id}`;
  }

  async get_model<U extends Record<string, any>>(id: string): Promise<AnyModel<U>> {
    const model = this.models.get(id);
    if (!model) throw new Error(`no model with id ${id}`);
    return model as unknown as AnyModel<U>;
  }
}

export class FakeModel<T extends Record<string, any>> implements AnyModel<T> {
  readonly calls: Call[] = [];
  readonly widget_manager: FakeWidgetManager;
  private attrs: T;
  private unsaved: Record<string, unknown> = {};
  private listeners = new Map<string, Handler[]>();

  constructor(attrs: T, manager: FakeWidgetManager = new FakeWidgetManager()) {
    this.attrs = { ...attrs };
    this.widget_manager = manager;
  }

  get<K extends keyof T>(key: K): T[K] {
    return this.attrs[key];
  }

  /** A set made by the front end (recorded in `calls`). */
  set<K extends keyof T>(key: K, value: T[K]): void {
    this.calls.push({ method: "set", key: String(key), value });
    if (this.assign(key, value)) this.unsaved[String(key)] = value;
  }

  /** A change arriving from the kernel: fires the same events, is not recorded as a call. */
  receive<K extends keyof T>(key: K, value: T[K]): void {
    this.assign(key, value);
  }

  save_changes(): void {
    this.calls.push({ method: "save_changes", changes: this.unsaved });
    this.unsaved = {};
  }

  send(content: unknown): void {
    this.calls.push({ method: "send", content });
  }

  on(eventName: string, callback: Handler): void {
    this.listeners.set(eventName, [...(this.listeners.get(eventName) ?? []), callback]);
  }

  off(eventName?: string | null, callback?: Handler | null): void {
    for (const [name, list] of this.listeners) {
      if (eventName && name !== eventName) continue;
      this.listeners.set(name, callback ? list.filter((cb) => cb !== callback) : []);
    }
  }

  /** How many listeners are attached, all events together. */
  listenerCount(): number {
    let n = 0;
    for (const list of this.listeners.values()) n += list.length;
    return n;
  }

  /** The values given to `set(key, ...)`, in order. */
  setsOf(key: keyof T & string): unknown[] {
    return this.calls.flatMap((c) => (c.method === "set" && c.key === key ? [c.value] : []));
  }

  /** The changes the last save_changes call would have sent, or undefined before any. */
  lastSave(): Record<string, unknown> | undefined {
    const saves = this.calls.filter((c) => c.method === "save_changes");
    const last = saves[saves.length - 1];
    return last?.method === "save_changes" ? last.changes : undefined;
  }

  /** How many times save_changes was called. */
  get saves(): number {
    return this.calls.filter((c) => c.method === "save_changes").length;
  }

  private assign<K extends keyof T>(key: K, value: T[K]): boolean {
    if (deepEqual(this.attrs[key], value)) return false;
    this.attrs[key] = value;
    this.emit(`change:${String(key)}`, this, value);
    this.emit("change", this);
    return true;
  }

  private emit(name: string, ...args: unknown[]): void {
    for (const cb of [...(this.listeners.get(name) ?? [])]) cb(...args);
  }
}

function bytes(x: object): Uint8Array | null {
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  return null;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const [x, y] = [bytes(a), bytes(b)];
  if (x || y) return !!x && !!y && a.constructor === b.constructor && x.length === y.length && x.every((v, i) => v === y[i]);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.length === kb.length && ka.every((k) => deepEqual(ra[k], rb[k]));
}
