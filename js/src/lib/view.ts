// The scaffolding every view shares: the render wrapper that turns a failed mount into an error
// box, DOM listeners dropped together on cleanup, the view's error box, width tracking and the
// model listeners removed together on cleanup.
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
