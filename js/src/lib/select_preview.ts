// The browser's copy of `select_cells` (rnn_widgets/analysis/_selection.py), for the live
// preview while the threshold is dragged or the range brushed. It runs only on the window's
// values and answers null when the window cannot give the kernel's exact answer, so the
// preview never differs from what the kernel sets on release. Shared cases in
// tests/shared/select_cases.json prove the equality on both sides.

/**
 * The cells on (value >= threshold) at every step of `start:stop` and off at the `padBefore`
 * steps before and `padAfter` steps after it, padding outside the sequence imposing nothing.
 *
 * @param values row-major [n_columns, nCells] float32 states of the window
 * @param windowStart the global step of the window's first row
 * @param sequenceFirst the first step of the sequence holding `start`
 * @param sequenceStop the step after its last one; `Infinity` when it ends beyond the window
 * @param valueRange the layer/kind's value range: a threshold outside it is an error (null)
 * @returns the sorted cells, or null when the range is empty, crosses the sequence end, or
 *   it or its (clipped) padding leaves the window, or the threshold is outside `valueRange`
 */
export function previewCells(
  values: ArrayLike<number>,
  nCells: number,
  windowStart: number,
  start: number,
  stop: number,
  threshold: number,
  padBefore: number,
  padAfter: number,
  sequenceFirst: number,
  sequenceStop: number,
  valueRange?: readonly [number, number],
): number[] | null {
  if (!(nCells > 0) || !Number.isFinite(threshold) || !(stop > start) || start < sequenceFirst) return null;
  if (stop > sequenceStop) return null; // crosses the sequence end: the kernel refuses it
  if (valueRange && !(valueRange[0] <= threshold && threshold <= valueRange[1])) return null;
  const nColumns = Math.floor(values.length / nCells);
  const windowStop = windowStart + nColumns;
  const before = Math.max(sequenceFirst, start - Math.max(0, padBefore));
  const after = Math.min(sequenceStop, stop + Math.max(0, padAfter));
  if (before < windowStart || after > windowStop) return null;
  const cells: number[] = [];
  for (let cell = 0; cell < nCells; cell++) {
    let keep = true;
    for (let step = before; step < after && keep; step++) {
      const on = (values[(step - windowStart) * nCells + cell] ?? NaN) >= threshold;
      keep = step >= start && step < stop ? on : !on;
    }
    if (keep) cells.push(cell);
  }
  return cells;
}

/**
 * Per column, the fraction of `cells` that are on (>= threshold): the heat under the tokens.
 * Zero everywhere when no cell is selected.
 */
export function onFractions(values: ArrayLike<number>, nCells: number, cells: readonly number[], threshold: number): Float32Array {
  const nColumns = nCells > 0 ? Math.floor(values.length / nCells) : 0;
  const out = new Float32Array(nColumns);
  const valid = cells.filter((c) => c >= 0 && c < nCells);
  if (valid.length === 0) return out;
  for (let col = 0; col < nColumns; col++) {
    let on = 0;
    for (const cell of valid) if ((values[col * nCells + cell] ?? NaN) >= threshold) on++;
    out[col] = on / valid.length;
  }
  return out;
}
