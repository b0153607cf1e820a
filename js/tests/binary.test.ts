import { describe, expect, it } from "vitest";
import { decode, decodeCells, encodeCells } from "../src/lib/binary";

const f32 = (values: number[]) => new DataView(new Float32Array(values).buffer);

describe("decode", () => {
  it("decodes a float32 DataView row-major with its shape", () => {
    const { array, shape } = decode({ dtype: "float32", shape: [2, 3], data: f32([0, 1, 2, 3, 4.5, -5]) }, "float32");
    expect(shape).toEqual([2, 3]);
    expect(array).toBeInstanceOf(Float32Array);
    expect(Array.from(array)).toEqual([0, 1, 2, 3, 4.5, -5]);
  });

  it("accepts an ArrayBuffer and a typed array", () => {
    const buffer = new Uint32Array([7, 8]).buffer;
    expect(Array.from(decode({ dtype: "uint32", shape: [2], data: buffer }).array)).toEqual([7, 8]);
    expect(Array.from(decode({ dtype: "int32", shape: [2], data: new Int32Array([-1, 2]) }).array)).toEqual([-1, 2]);
    expect(Array.from(decode({ dtype: "uint8", shape: [3], data: new Uint8Array([1, 0, 255]) }).array)).toEqual([1, 0, 255]);
  });

  it("honours a view's byte offset, copying when it is unaligned", () => {
    const bytes = new Uint8Array(9);
    new DataView(bytes.buffer).setUint32(1, 258, true);
    new DataView(bytes.buffer).setUint32(5, 1, true);
    const view = new DataView(bytes.buffer, 1, 8);
    expect(Array.from(decode({ dtype: "uint32", shape: [2], data: view }).array)).toEqual([258, 1]);
  });

  it("raises when the byte length does not match the shape", () => {
    expect(() => decode({ dtype: "float32", shape: [2, 3], data: f32([1, 2, 3, 4, 5]) })).toThrow(
      /shape \[2, 3\] needs 24 bytes, got 20/,
    );
    expect(() => decode({ dtype: "uint32", shape: [1], data: new Uint8Array(3) })).toThrow(RangeError);
  });

  it("raises on an unknown or unexpected dtype and a bad shape", () => {
    expect(() => decode({ dtype: "float64", shape: [1], data: new ArrayBuffer(8) })).toThrow(/unsupported dtype "float64"/);
    expect(() => decode({ dtype: "uint32", shape: [1], data: new ArrayBuffer(4) }, "float32")).toThrow(/expected dtype float32/);
    expect(() => decode({ dtype: "uint8", shape: [-1], data: new ArrayBuffer(0) })).toThrow(/shape/);
    expect(() => decode({ dtype: "uint8", shape: [1], data: [1] })).toThrow(/DataView, ArrayBuffer or typed array/);
    expect(() => decode(null)).toThrow(/packed array/);
  });
});

describe("cells", () => {
  it("encodes a cell list as little-endian uint32 bytes", () => {
    const view = encodeCells([3, 256]);
    expect(view).toBeInstanceOf(DataView);
    expect(view.byteLength).toBe(8);
    expect(view.getUint32(0, true)).toBe(3);
    expect(view.getUint32(4, true)).toBe(256);
  });

  it("decodes cells sorted and unique, and tolerates null and lists", () => {
    expect(decodeCells(encodeCells([9, 2, 9, 0]))).toEqual([0, 2, 9]);
    expect(decodeCells(new DataView(new ArrayBuffer(0)))).toEqual([]);
    expect(decodeCells(null)).toEqual([]);
    expect(decodeCells([4, 1])).toEqual([1, 4]);
    expect(() => decodeCells(new Uint8Array(6))).toThrow(/multiple of 4/);
  });
});
