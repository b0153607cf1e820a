import { describe, expect, it } from "vitest";
import { columnCenter, hitsThreshold, nearestCell, nearestColumn } from "../src/lib/hit";

const cols = { left: 40, width: 100, count: 4 }; // bands of 25 px from x = 40

describe("columns", () => {
  it("finds the band under x, clamped to the ends", () => {
    expect(nearestColumn(cols, 40)).toBe(0);
    expect(nearestColumn(cols, 64.9)).toBe(0);
    expect(nearestColumn(cols, 65)).toBe(1);
    expect(nearestColumn(cols, 139)).toBe(3);
    expect(nearestColumn(cols, 500)).toBe(3);
    expect(nearestColumn(cols, 0)).toBe(0);
    expect(nearestColumn({ ...cols, count: 0 }, 50)).toBe(-1);
  });

  it("centres each column in its band", () => {
    expect(columnCenter(cols, 0)).toBe(52.5);
    expect(columnCenter(cols, 3)).toBe(127.5);
  });
});

describe("nearestCell", () => {
  // 2 columns x 3 cells, row-major; y = value (identity) to keep the arithmetic visible
  const values = new Float32Array([0, 10, 20, 30, 5, 12]);
  const id = (v: number) => v;

  it("picks the line closest in pixels at the column", () => {
    expect(nearestCell(values, 3, 0, 13, id)).toEqual({ cell: 1, value: 10, distance: 3 });
    expect(nearestCell(values, 3, 1, 13, id)).toEqual({ cell: 2, value: 12, distance: 1 });
  });

  it("returns null beyond the tolerance or outside the data", () => {
    expect(nearestCell(values, 3, 0, 15, id, 4)).toBeNull();
    expect(nearestCell(values, 3, 0, 14, id, 4)?.cell).toBe(1);
    expect(nearestCell(values, 3, 2, 0, id)).toBeNull();
    expect(nearestCell(values, 3, -1, 0, id)).toBeNull();
  });

  it("skips non-finite values", () => {
    expect(nearestCell(new Float32Array([NaN, 50]), 2, 0, 0, id)?.cell).toBe(1);
  });
});

describe("hitsThreshold", () => {
  it("grabs the line within the tolerance only", () => {
    expect(hitsThreshold(103, 100)).toBe(true);
    expect(hitsThreshold(96, 100)).toBe(true);
    expect(hitsThreshold(105, 100)).toBe(false);
    expect(hitsThreshold(100, NaN)).toBe(false);
  });
});
