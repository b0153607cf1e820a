// The scaffolding every view shares: the render wrapper that turns a failed mount into an error
// box, DOM listeners dropped together on cleanup, the view's error box and its neutral hint box,
// the `?` button listing the view's gestures, legend items, width tracking and the model
// listeners removed together on cleanup.
import { el, message } from "./dom";

/** What a mounted view returns: undoes everything the mount did. */
export type Cleanup = () => void;

/**
 * The view's `render`: mounts it; if the mount throws, logs the error and shows
 * `<div class="rnnw-error">{viewName} failed: {message}</div>` in place of a half-built view.
 */
export function guardedRender<P extends { el: HTMLElement }>(viewName: string, mount: (props: P) => Promise<Cleanup>): (props: P) => Promise<Cleanup> {
  return async (props: P): Promise<Cleanup> => {
    try {
      return await mount(props);
    } catch (error) {
      // Never leave a blank output: say what went wrong where the view would be.
      console.error(error);
      const box = el("div", "rnnw-error", `${viewName} failed: ${message(error)}`);
      props.el.replaceChildren(box); // drop a half-built view
      return () => box.remove();
    }
  };
}

/** Adds a DOM listener that `DomListeners.abort` removes. */
export type Listen = <E extends Event>(target: EventTarget, type: string, fn: (e: E) => void, options?: AddEventListenerOptions) => void;

export type DomListeners = {
  /** Adds a listener with the shared abort signal. */
  on: Listen;
  /** The shared signal, for listeners added by hand. */
  signal: AbortSignal;
  /** Removes every listener added with `on` or with `signal`. */
  abort: () => void;
};

/** DOM listeners that are all removed by one `abort()` (an AbortController's signal). */
export function domListeners(): DomListeners {
  const controller = new AbortController();
  const on: Listen = (target, type, fn, options = {}) =>
    target.addEventListener(type, fn as EventListener, { ...options, signal: controller.signal });
  return { on, signal: controller.signal, abort: () => controller.abort() };
}

/** The view's hidden error box (`.rnnw-error`, role alert); `showErrorText` fills it. */
export function createErrorBox(): HTMLDivElement {
  const box = el("div", "rnnw-error");
  box.setAttribute("role", "alert");
  box.hidden = true;
  return box;
}

/** Shows `text` in the error box, or hides the box when the text is empty. */
export function showErrorText(box: HTMLElement, text: string): void {
  box.textContent = text;
  box.hidden = text === "";
}

/**
 * The view's hidden notice line (`.rnnw-notice`, role status) for the kernel's `message`: a
 * notice that is not an error (a size the browser asked for, clamped to its bound). Unlike the
 * error box it hides nothing; `showErrorText` fills it too.
 */
export function createNoticeBox(): HTMLDivElement {
  const box = el("div", "rnnw-notice");
  box.setAttribute("role", "status");
  box.hidden = true;
  return box;
}

/**
 * The view's hidden hint box (`.rnnw-hint`, role status): what an empty view shows in place of
 * its content (nothing selected yet, say) and what to do about it. Neutral, in the view's own
 * style: an empty state is not a failure, so it never uses the red error box. `showErrorText`
 * fills it too.
 */
export function createHintBox(): HTMLDivElement {
  const box = el("div", "rnnw-hint");
  box.setAttribute("role", "status");
  box.hidden = true;
  return box;
}

/** One line of a view's help: the gesture ("click a bar") and what it does. */
export type Gesture = readonly [gesture: string, effect: string];

let helpIds = 0;

/**
 * Adds a `?` button at the end of `toolbar` that shows or hides a panel listing `gestures`, put
 * right after the toolbar (`.rnnw-help`; exports leave it out). Escape closes it. Listeners are
 * added with `on`, so the view's cleanup removes them. Returns the panel.
 */
export function attachHelp(toolbar: HTMLElement, viewName: string, gestures: readonly Gesture[], on: Listen): HTMLElement {
  const id = `rnnw-help-${++helpIds}`;
  const button = el("button", "rnnw-help-button rnnw-control", "?");
  button.type = "button";
  button.title = `what you can do in the ${viewName}`;
  button.setAttribute("aria-label", `${viewName}: gestures`);
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", id);
  const panel = el("div", "rnnw-help");
  panel.id = id;
  panel.hidden = true;
  panel.setAttribute("role", "region");
  panel.setAttribute("aria-label", `${viewName}: gestures`);
  // Plain elements in a grid, not <dl>: JupyterLab's output area restyles dl, dt and dd.
  const list = el("div", "rnnw-help-list");
  for (const [gesture, effect] of gestures) list.append(el("span", "rnnw-help-gesture", gesture), el("span", "rnnw-help-effect", effect));
  panel.append(list);
  const show = (open: boolean) => {
    panel.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    button.classList.toggle("rnnw-help-open", open);
  };
  on(button, "click", () => show(panel.hidden !== false));
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Escape" && !panel.hidden) {
      e.stopPropagation();
      show(false);
      button.focus();
    }
  };
  on(button, "keydown", onKey);
  on(panel, "keydown", onKey);
  toolbar.append(button);
  toolbar.after(panel);
  return panel;
}

/** How a legend item's swatch looks (lib/view.css draws each from `--rnnw-swatch`). */
export type Swatch = "box" | "dot" | "line" | "dashed" | "dotted" | "frame" | "ramp" | "text";

/**
 * A legend item (`.rnnw-legend-item .rnnw-legend-<swatch>`): a swatch in `color` (any CSS colour,
 * `var(...)` included, so it follows the theme; for "ramp", a CSS gradient's colour list) and
 * its name as text. `className` adds the view's own classes.
 */
export function legendItem(text: string, swatch: Swatch, color: string, className = ""): HTMLSpanElement {
  const item = el("span", `rnnw-legend-item rnnw-legend-${swatch}${className ? ` ${className}` : ""}`, text);
  if (swatch === "ramp") item.style.setProperty("--rnnw-ramp", `linear-gradient(to right, ${color})`);
  else item.style.setProperty("--rnnw-swatch", color);
  return item;
}

/**
 * Calls `onWidth` with the element's content width (whole pixels) each time it changes to a new
 * positive value. Returns the observer to disconnect on cleanup, or null where the browser (or
 * jsdom) has no ResizeObserver.
 */
export function watchWidth(target: Element, onWidth: (width: number) => void): ResizeObserver | null {
  if (typeof ResizeObserver !== "function") return null;
  let last = 0;
  const observer = new ResizeObserver((entries) => {
    const w = Math.floor(entries[0]?.contentRect.width ?? 0);
    if (w > 0 && w !== last) {
      last = w;
      onWidth(w);
    }
  });
  observer.observe(target);
  return observer;
}

/** The part of a widget model the listener helper needs. */
export type ChangeSource = {
  on(eventName: `change:${string}`, callback: () => void): void;
  off(eventName?: string | null, callback?: (() => void) | null): void;
};

export type ModelListeners = {
  /** Calls `fn` on each `change:<name>` of the model, for every name given. */
  on: (names: string | readonly string[], fn: () => void) => void;
  /** Removes every listener added with `on`. */
  off: () => void;
};

/** Change listeners on a widget model that are all removed by one `off()`. */
export function modelListeners(model: ChangeSource): ModelListeners {
  const added: [`change:${string}`, () => void][] = [];
  return {
    on(names, fn) {
      for (const name of typeof names === "string" ? [names] : names) {
        const event = `change:${name}` as const;
        model.on(event, fn);
        added.push([event, fn]);
      }
    },
    off() {
      for (const [event, fn] of added) model.off(event, fn);
      added.length = 0;
    },
  };
}
