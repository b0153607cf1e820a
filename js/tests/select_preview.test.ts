// The shared cases of tests/shared/select_cases.json, also run against the kernel's
// select_cells by tests/test_select_preview_cases.py: the browser preview equals it.
import { describe, expect, it } from "vitest";
import { onFractions, previewCells } from "../src/lib/select_preview";

interface Case {
  name: string;
  lengths: number[];
  values: number[][];
  start: number;
  stop: number;
  threshold: number;
  pad_before: number;
  pad_after: number;
  expected: number[] | null;
}

// Node's fs without @types/node (the project's tsconfig has no node types).
type NodeFs = { readFileSync(path: string, encoding: "utf8"): string };
const nodeProcess = (globalThis as unknown as { process: { getBuiltinModule(id: string): unknown } }).process;
const { readFileSync } = nodeProcess.getBuiltinModule("node:fs") as NodeFs;
const here = (import.meta as unknown as { dirname: string }).dirname; // vitest runs the file under node
const casesPath = `${here}/../../tests/shared/select_cases.json`;
const cases: Case[] = JSON.parse(readFileSync(casesPath, "utf8")).cases;

function prepared(c: Case) {
  const nCells = c.values[0]!.length;
  const states = Float32Array.from(c.values.flat());
  const bounds = [0];
  for (const n of c.lengths) bounds.push(bounds[bounds.length - 1]! + n);
  const seq = bounds.findIndex((b, i) => b <= c.start && c.start < (bounds[i + 1] ?? -1));
  let lo = Math.min(...states);
  let hi = Math.max(...states);
  if (hi - lo < 1e-6) [lo, hi] = [lo - 0.5, hi + 0.5];
  return { nCells, states, first: bounds[seq]!, last: bounds[seq + 1]!, range: [lo, hi] as [number, number] };
}

describe("previewCells on the shared cases", () => {
  it("has at least 20 cases", () => expect(cases.length).toBeGreaterThanOrEqual(20));

  for (const c of cases) {
    it(c.name, () => {
      const { nCells, states, first, last, range } = prepared(c);
      const args = [c.start, c.stop, c.threshold, c.pad_before, c.pad_after] as const;
      expect(previewCells(states, nCells, 0, ...args, first, last, range)).toEqual(c.expected);
      if (c.expected === null) return;
      // Every sub-window: exact when it holds the range and its clipped padding, else null.
      const nSteps = c.values.length;
      const needFrom = Math.max(first, c.start - c.pad_before);
      for (let a = 0; a <= c.start; a++) {
        for (let b = c.stop; b <= nSteps; b++) {
          const sub = states.subarray(a * nCells, b * nCells);
          const seqStop = last < b ? last : Infinity; // the view knows the end only when it is visible
          const got = previewCells(sub, nCells, a, ...args, first, seqStop, range);
          const needTo = Math.min(seqStop, c.stop + c.pad_after);
          expect(got).toEqual(a <= needFrom && needTo <= b ? c.expected : null);
        }
      }
    });
  }
});

describe("onFractions", () => {
  it("is the share of the selected cells on at each column", () => {
    const values = Float32Array.from([0, 1, 1, /**/ 1, 1, 0, /**/ 0, 0, 0]);
    expect(Array.from(onFractions(values, 3, [0, 1], 0.5))).toEqual([0.5, 1, 0]);
    expect(Array.from(onFractions(values, 3, [], 0.5))).toEqual([0, 0, 0]);
    expect(Array.from(onFractions(values, 3, [7], 0.5))).toEqual([0, 0, 0]);
  });
});
