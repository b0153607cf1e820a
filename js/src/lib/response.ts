// Pure helpers of the ResponseView: decoding its payloads, the extent of a curve, which rank of
// the sorted distribution is under a pointer, and hover texts. See docs/response_view_contract.md.
import { decode, type PackedArray } from "./binary";
import { formatValue } from "./svg";

export interface PanelPayload {
  name: string;
  waveform: string;
  start: number;
  change: number | null;
  inputs: PackedArray;
  output: PackedArray;
}

export interface CurvesPayload {
  cell: number;
  names: string[];
  values: PackedArray;
  panels: PanelPayload[];
}

export interface DistributionPayload {
  metric: string;
  values: PackedArray;
  cells: PackedArray;
  order: PackedArray;
}

export interface Panel {
  name: string;
  /** "step" or "sine". */
  waveform: string;
  /** The step of the first sample. */
  start: number;
  /** The step the step input changes at, or null for a sinusoid. */
  change: number | null;
  inputs: Float32Array;
  output: Float32Array;
}

export interface DecodedCurves {
  cell: number;
  names: string[];
  /** The cell's value of each metric (NaN where undefined), in the order of `names`. */
  values: Float32Array;
  panels: Panel[];
}

export interface DecodedDistribution {
  metric: string;
  /** The metric per row (NaN where undefined). */
  values: Float32Array;
  /** The cell index of each row. */
  cells: Uint32Array;
  /** Rows with a defined value, ascending by value: order[rank] is the row drawn at rank. */
  order: Uint32Array;
}

/** Decode and check `_curves`; throws saying what is wrong. */
export function decodeCurves(raw: unknown): DecodedCurves | null {
  if (raw === null || raw === undefined) return null;
  const p = raw as Partial<CurvesPayload>;
  if (!Number.isInteger(p.cell) || (p.cell as number) < 0) throw new TypeError(`cell must be a non-negative integer, got ${JSON.stringify(p.cell)}`);
  const names = Array.isArray(p.names) ? p.names.map(String) : [];
  const values = decode(p.values, "float32").array;
  if (values.length !== names.length) throw new RangeError(`values must have ${names.length} entries (one per metric), got ${values.length}`);
  if (!Array.isArray(p.panels) || p.panels.length === 0) throw new TypeError("panels must be a non-empty list");
  const panels = p.panels.map((panel, i) => {
    const inputs = decode(panel.inputs, "float32").array;
    const output = decode(panel.output, "float32").array;
    if (inputs.length !== output.length) throw new RangeError(`panel ${i}: inputs has ${inputs.length} steps but output ${output.length}`);
    const change = panel.change === null || panel.change === undefined ? null : Number(panel.change);
    return { name: String(panel.name ?? ""), waveform: String(panel.waveform ?? ""), start: Number(panel.start) || 0, change, inputs, output };
  });
  return { cell: p.cell as number, names, values, panels };
}

/** Decode and check `_distribution`; throws saying what is wrong. */
export function decodeDistribution(raw: unknown): DecodedDistribution | null {
  if (raw === null || raw === undefined) return null;
  const p = raw as Partial<DistributionPayload>;
  const values = decode(p.values, "float32").array;
  const cells = decode(p.cells, "uint32").array;
  const order = decode(p.order, "uint32").array;
  if (cells.length !== values.length) throw new RangeError(`cells must have ${values.length} entries (one per row), got ${cells.length}`);
  const seen = new Uint8Array(values.length);
  for (const row of order) {
    if (row >= values.length || seen[row]) throw new RangeError(`order must list distinct rows 0 .. ${values.length - 1}`);
    if (!Number.isFinite(values[row]!)) throw new RangeError(`order lists row ${row}, whose value is undefined`);
    seen[row] = 1;
  }
  return { metric: String(p.metric ?? ""), values, cells, order };
}

/** [min, max] of the finite values of the arrays, widened by 5 % (a flat curve gets ± 1). */
export function extent(...arrays: ArrayLike<number>[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const array of arrays) {
    for (let i = 0; i < array.length; i++) {
      const v = array[i]!;
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo > hi) return [-1, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

/** The rank nearest to x on a sorted curve of `count` points spread over [left, left + width]. */
export function rankNear(left: number, width: number, count: number, x: number): number {
  if (count <= 0) return -1;
  if (count === 1) return 0;
  const rank = Math.round(((x - left) / width) * (count - 1));
  return Math.min(count - 1, Math.max(0, rank));
}

/** The x of a rank on the sorted curve (the inverse of rankNear at the points). */
export function rankX(left: number, width: number, count: number, rank: number): number {
  return count <= 1 ? left + width / 2 : left + (rank / (count - 1)) * width;
}

/** The rank of a cell on the sorted curve, or -1 when its value is undefined (or unknown). */
export function rankOf(dist: DecodedDistribution, cell: number): number {
  for (let rank = 0; rank < dist.order.length; rank++) if (dist.cells[dist.order[rank]!] === cell) return rank;
  return -1;
}

/** "cell 12: 4 (rank 3 of 128)" for the point under the pointer. */
export function distributionHover(cell: number, value: number, rank: number, count: number): string {
  return `cell ${cell}: ${formatValue(value)} (rank ${rank + 1} of ${count}, ascending)`;
}

/** "cell 5 · settling_time 4 · delta -0.21 · ..." : the shown cell's metrics, undefined ones as "–". */
export function cellSummary(curves: DecodedCurves, shown: readonly string[]): string {
  const parts = [`cell ${curves.cell}`];
  for (const name of shown) {
    const index = curves.names.indexOf(name);
    if (index < 0) continue;
    const v = curves.values[index]!;
    parts.push(`${name} ${Number.isFinite(v) ? formatValue(v) : "–"}`);
  }
  return parts.join(" · ");
}

/** A cell list after a click: the cell alone, or (shift) the cell toggled in the selection. */
export function clickedCells(selected: readonly number[], cell: number, toggle: boolean): number[] {
  if (!toggle) return [cell];
  const set = new Set(selected);
  if (set.has(cell)) set.delete(cell);
  else set.add(cell);
  return [...set].sort((a, b) => a - b);
}
