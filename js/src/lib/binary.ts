// Arrays from the kernel arrive as {dtype, shape, data}; see rnn_widgets/widgets/_buffers.py.

export type DType = "float32" | "uint32" | "int32" | "uint8";

export type TypedArrayOf<D extends DType> = D extends "float32"
  ? Float32Array
  : D extends "uint32"
    ? Uint32Array
    : D extends "int32"
      ? Int32Array
      : Uint8Array;

/** What a synced trait holds before decoding. */
export interface PackedArray {
  dtype: string;
  shape: number[];
  data: DataView | ArrayBuffer | ArrayBufferView;
}

export interface Decoded<D extends DType = DType> {
  dtype: D;
  shape: number[];
  array: TypedArrayOf<D>;
}

const CONSTRUCTORS = {
  float32: Float32Array,
  uint32: Uint32Array,
  int32: Int32Array,
  uint8: Uint8Array,
} as const;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function isDType(value: unknown): value is DType {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(CONSTRUCTORS, value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}

function bytesOf(data: unknown): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(`array data must be a DataView, ArrayBuffer or typed array, got ${describe(data)}`);
}

/**
 * Decode a packed array. Throws when the dtype is unknown (or not `expected`), the shape is not
 * a list of non-negative integers, or the byte length differs from prod(shape) * itemsize.
 * The result views the received bytes when they are aligned, and copies them otherwise.
 */
export function decode<D extends DType>(packed: unknown, expected?: D): Decoded<D> {
  if (packed === null || typeof packed !== "object") {
    throw new TypeError(`expected a packed array {dtype, shape, data}, got ${describe(packed)}`);
  }
  const { dtype, shape, data } = packed as Partial<PackedArray>;
  if (!isDType(dtype)) throw new TypeError(`unsupported dtype ${JSON.stringify(dtype)}`);
  if (expected !== undefined && dtype !== expected) throw new TypeError(`expected dtype ${expected}, got ${dtype}`);
  if (!Array.isArray(shape) || !shape.every((n) => Number.isInteger(n) && n >= 0)) {
    throw new TypeError(`shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const Ctor = CONSTRUCTORS[dtype];
  const count = shape.reduce((a: number, b: number) => a * b, 1);
  const bytes = bytesOf(data);
  const expectedBytes = count * Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength !== expectedBytes) {
    throw new RangeError(`${dtype} array of shape [${shape.join(", ")}] needs ${expectedBytes} bytes, got ${bytes.byteLength}`);
  }
  let array: Float32Array | Uint32Array | Int32Array | Uint8Array;
  if (!LITTLE_ENDIAN && Ctor.BYTES_PER_ELEMENT > 1) array = readLittleEndian(dtype, bytes, count);
  else if (bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) array = new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
  else array = new Ctor(bytes.slice().buffer); // unaligned view into a larger buffer: copy
  return { dtype: dtype as D, shape: [...shape], array: array as TypedArrayOf<D> };
}

function readLittleEndian(dtype: DType, bytes: Uint8Array, count: number) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new CONSTRUCTORS[dtype](count);
  for (let i = 0; i < count; i++) {
    out[i] =
      dtype === "float32" ? view.getFloat32(i * 4, true) : dtype === "int32" ? view.getInt32(i * 4, true) : view.getUint32(i * 4, true);
  }
  return out;
}

/** A cell list as the little-endian uint32 DataView the Selection's `cells` field holds. */
export function encodeCells(cells: Iterable<number>): DataView {
  const array = new Uint32Array([...cells]);
  const view = new DataView(array.buffer);
  if (!LITTLE_ENDIAN) array.forEach((c, i) => view.setUint32(i * 4, c, true));
  return view;
}

/**
 * Cells as the front end saves them to the Selection: a plain sorted list. Not a DataView:
 * the Selection is a plain ipywidgets model whose default serializer copies state through
 * JSON, which turns a DataView into {} (the kernel would read no cells). The kernel accepts
 * the list and answers with its binary form, which `decodeCells` reads too.
 */
export function cellsToSave(cells: Iterable<number>): number[] {
  return [...new Set(cells)].sort((a, b) => a - b);
}

/** The Selection's `cells` as a sorted list of unique cells (null and plain lists accepted). */
export function decodeCells(value: unknown): number[] {
  if (value === null || value === undefined) return [];
  let cells: number[];
  if (Array.isArray(value)) {
    cells = value.map(Number);
  } else {
    const bytes = bytesOf(value);
    if (bytes.byteLength % 4 !== 0) throw new RangeError(`cells need a multiple of 4 bytes, got ${bytes.byteLength}`);
    cells = Array.from(decode({ dtype: "uint32", shape: [bytes.byteLength / 4], data: bytes }).array);
  }
  return [...new Set(cells)].sort((a, b) => a - b);
}
