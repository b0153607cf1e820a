// The shared setup of a view test: a fake Selection model, mounting a view into the document
// against fake models, and the cleanup after each test.
import { afterEach, vi } from "vitest";
import { FakeModel, FakeWidgetManager } from "../src/lib/fake_model";
import type { SelectionState } from "../src/lib/selection";

/** A view module's default export, as the tests call it. */
export type ViewModule<M> = { render(props: { model: M; el: HTMLElement }): Promise<() => void> };

const mounted: (() => void)[] = [];

/**
 * After each test: runs the cleanup of every view `mountView` mounted, empties the document,
 * restores real timers and every mock.
 */
export function cleanUpViewsAfterEach(): void {
  afterEach(() => {
    for (const cleanup of mounted.splice(0)) cleanup();
    document.body.replaceChildren();
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
}

/** A fake Selection registered with `manager`: no cells, layer 0 "h", threshold 0.3, then `over`. */
export function fakeSelection(manager: FakeWidgetManager, over: Partial<SelectionState> = {}): FakeModel<SelectionState> {
  return new FakeModel<SelectionState>(
    {
      layer: 0,
      kind: "h",
      cells: new DataView(new ArrayBuffer(0)),
      start: 0,
      stop: 0,
      pad_before: 1,
      pad_after: 0,
      threshold: 0.3,
      hovered_step: null,
      sequence: 0,
      ...over,
    },
    manager,
  );
}

/**
 * Renders `view` for `model` into a new element in the document. The view's cleanup runs after
 * the test unless the test has called the returned `cleanup` itself.
 */
export async function mountView<M>(view: ViewModule<M>, model: M): Promise<{ el: HTMLDivElement; cleanup: () => void }> {
  const el = document.createElement("div");
  document.body.append(el);
  const viewCleanup = await view.render({ model, el });
  const cleanup = () => {
    const index = mounted.indexOf(cleanup);
    if (index >= 0) mounted.splice(index, 1);
    viewCleanup();
  };
  mounted.push(cleanup);
  return { el, cleanup };
}

