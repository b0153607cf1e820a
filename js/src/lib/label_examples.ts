// Label by example (issue 26): the SelectView's labelled step ranges, as pure functions.
//
// An example is `{start, stop, label}` in global steps (stop exclusive), label 1 (positive) or
// 0 (negative); the list lives in the view's `examples` trait, in the order the examples were
// made, and no two examples overlap (the kernel refuses overlaps; `addExample` keeps them out).
// The view draws the part of each example inside its window; examples outside it are kept.

/** One labelled step range: global steps `start:stop` (stop exclusive), 1 positive, 0 negative. */
export interface Example {
  start: number;
  stop: number;
  label: 0 | 1;
}

/** The most examples a view keeps (Python's MAX_EXAMPLES). */
export const MAX_EXAMPLES = 1000;

/** The `examples` trait as a list of well-formed examples; anything malformed is left out. */
export function readExamples(raw: unknown): Example[] {
  if (!Array.isArray(raw)) return [];
  const out: Example[] = [];
  for (const item of raw) {
    const e = item as Partial<Record<keyof Example, unknown>> | null;
    const start = Number(e?.start);
    const stop = Number(e?.stop);
    const label = Number(e?.label);
    if (!Number.isInteger(start) || !Number.isInteger(stop) || start < 0 || stop <= start) continue;
    if (label !== 0 && label !== 1) continue;
    out.push({ start, stop, label });
  }
  return out;
}

/**
 * `examples` with `next` added at the end, keeping the list free of overlaps (what
 * CellScorer.score_examples needs): examples of the same label that `next` overlaps are merged
 * into it, and the parts of examples of the other label under it are cut away (the last brush
 * wins; one may split in two). Brushing a range again with the other label thus relabels it.
 * Null when the result would hold more than `max` examples.
 */
export function addExample(examples: readonly Example[], next: Example, max = MAX_EXAMPLES): Example[] | null {
  let merged: Example = { ...next };
  const kept: Example[] = [];
  for (const e of examples) {
    if (e.stop <= next.start || e.start >= next.stop) kept.push(e);
    else if (e.label === next.label) merged = { ...merged, start: Math.min(merged.start, e.start), stop: Math.max(merged.stop, e.stop) };
    else {
      if (e.start < next.start) kept.push({ ...e, stop: next.start });
      if (e.stop > next.stop) kept.push({ ...e, start: next.stop });
    }
  }
  return kept.length + 1 > max ? null : [...kept, merged];
}

/** `examples` without the one at `index` (unchanged when there is none). */
export function removeExample(examples: readonly Example[], index: number): Example[] {
  return examples.filter((_, i) => i !== index);
}

/** The part of an example a window shows, in columns `from:to` of the window. */
export interface ShownExample extends Example {
  /** Its position in the `examples` list. */
  index: number;
  from: number;
  to: number;
}

/** The examples overlapping the window of `nColumns` steps from `windowStart`, clipped to it. */
export function examplesInWindow(examples: readonly Example[], windowStart: number, nColumns: number): ShownExample[] {
  const end = windowStart + nColumns;
  const out: ShownExample[] = [];
  examples.forEach((e, index) => {
    if (e.stop <= windowStart || e.start >= end) return;
    out.push({ ...e, index, from: Math.max(e.start, windowStart) - windowStart, to: Math.min(e.stop, end) - windowStart });
  });
  return out;
}

/** "+3 −1": how many positive and negative examples there are. */
export function exampleCounts(examples: readonly Example[]): { positive: number; negative: number } {
  const positive = examples.filter((e) => e.label === 1).length;
  return { positive, negative: examples.length - positive };
}
