// Pure helpers of the RelevanceBars view: decoding its payload, which bar is under a pointer,
// and the cell-set arithmetic of its gestures. See docs/relevance_bars_contract.md.
import { decode, type PackedArray } from "./binary";
import { formatValue } from "./svg";

export interface BarsPayload {
  name: string;
  scores: PackedArray;
  order: PackedArray;
  signs: PackedArray | null;
}

export interface DecodedBars {
  name: string;
  /** Scores by cell index. */
  scores: Float32Array;
  /** order[rank] is the cell drawn at that rank (best first). */
  order: Uint32Array;
  /** Signs by cell index (+1, -1, 0), or null for one colour. */
  signs: Int8Array | null;
  nCells: number;
}

/** Decode an int8 packed array (binary.ts knows the other dtypes). */
export function decodeInt8(packed: unknown): Int8Array {
  if (packed === null || typeof packed !== "object") throw new TypeError("expected a packed int8 array {dtype, shape, data}");
  const { dtype, shape, data } = packed as Partial<PackedArray>;
  if (dtype !== "int8") throw new TypeError(`expected dtype int8, got ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || shape.length !== 1 || !Number.isInteger(shape[0]) || shape[0]! < 0) {
    throw new TypeError(`int8 array must be 1-D, got shape ${JSON.stringify(shape)}`);
  }
  let bytes: Uint8Array;
  if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
  else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  else throw new TypeError("int8 array data must be a DataView, ArrayBuffer or typed array");
  if (bytes.byteLength !== shape[0]) throw new RangeError(`int8 array of shape [${shape[0]}] needs ${shape[0]} bytes, got ${bytes.byteLength}`);
  return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decode and check `_bars`; throws saying what is wrong. */
export function decodeBars(raw: unknown): DecodedBars | null {
  if (raw === null || raw === undefined) return null;
  const p = raw as Partial<BarsPayload>;
  const scores = decode(p.scores, "float32").array;
  const order = decode(p.order, "uint32").array;
  const n = scores.length;
  if (n === 0) throw new RangeError("scores is empty");
  if (order.length !== n) throw new RangeError(`order must have ${n} entries (one per cell), got ${order.length}`);
  const seen = new Uint8Array(n);
  for (const cell of order) {
    if (cell >= n || seen[cell]) throw new RangeError(`order must be a permutation of the cells 0 .. ${n - 1}`);
    seen[cell] = 1;
  }
  const signs = p.signs === null || p.signs === undefined ? null : decodeInt8(p.signs);
  if (signs && signs.length !== n) throw new RangeError(`signs must have ${n} entries, got ${signs.length}`);
  return { name: String(p.name ?? ""), scores, order, signs, nCells: n };
}

export interface Bands {
  left: number;
  width: number;
  count: number;
}

/** The rank of the bar whose band contains x, or -1 outside the bars. */
export function barAt({ left, width, count }: Bands, x: number): number {
  if (count <= 0 || width <= 0 || !Number.isFinite(x)) return -1;
  const rank = Math.floor(((x - left) / width) * count);
  return rank >= 0 && rank < count ? rank : -1;
}

/** Like barAt, but a pointer left or right of the bars gives the first or last bar (drags). */
export function barNear(bands: Bands, x: number): number {
  if (bands.count <= 0 || bands.width <= 0) return -1;
  if (x < bands.left) return 0;
  if (x >= bands.left + bands.width) return bands.count - 1;
  return barAt(bands, x);
}

/** The cells drawn at ranks from..to (either order, inclusive). */
export function cellsBetween(order: ArrayLike<number>, from: number, to: number): number[] {
  const [a, b] = from <= to ? [from, to] : [to, from];
  const cells: number[] = [];
  for (let rank = Math.max(0, a); rank <= Math.min(b, order.length - 1); rank++) cells.push(order[rank]!);
  return cells;
}

/** `cells` with `cell` removed when present, added otherwise; sorted. */
export function toggleCell(cells: readonly number[], cell: number): number[] {
  return cells.includes(cell) ? cells.filter((c) => c !== cell) : [...cells, cell].sort((a, b) => a - b);
}

/** The union of two cell lists, sorted and unique. */
export function unionCells(a: readonly number[], b: readonly number[]): number[] {
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}

/** What hovering a bar shows. */
export function hoverText(cell: number, score: number): string {
  return `cell ${cell}: ${formatValue(score)}`;
}

/** The score axis: spans every score, zero (where bars start) and the threshold. */
export function scoreDomain(scores: ArrayLike<number>, threshold: number | null): [number, number] {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (threshold !== null && Number.isFinite(threshold)) {
    lo = Math.min(lo, threshold);
    hi = Math.max(hi, threshold);
  }
  if (hi === lo) return [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.05;
  return [lo < 0 ? lo - pad : lo, hi > 0 ? hi + pad : hi];
}
