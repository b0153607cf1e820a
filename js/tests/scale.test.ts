import { describe, expect, it } from "vitest";
import { formatTick, linearScale, niceTicks, roundTo, tickStep } from "../src/lib/scale";

describe("linearScale", () => {
  const y = linearScale([-1, 1], [290, 10]);

  it("maps the domain onto an inverted pixel range and back", () => {
    expect(y(-1)).toBe(290);
    expect(y(1)).toBe(10);
    expect(y(0)).toBe(150);
    expect(y.invert(150)).toBe(0);
    expect(y.invert(80)).toBeCloseTo(0.5, 12);
  });

  it("extrapolates without clamp and stays inside with clamp", () => {
    expect(y(2)).toBe(-130);
    expect(y.invert(430)).toBe(-2);
    const c = linearScale([-1, 1], [290, 10], { clamp: true });
    expect(c(2)).toBe(10);
    expect(c(-3)).toBe(290);
    expect(c.invert(430)).toBe(-1);
    expect(c.invert(-50)).toBe(1);
  });

  it("maps a degenerate domain to the middle of the range", () => {
    expect(linearScale([2, 2], [0, 100])(5)).toBe(50);
  });
});

describe("ticks", () => {
  it("chooses 1, 2 or 5 times a power of ten", () => {
    expect(tickStep(0, 1, 5)).toBe(0.2);
    expect(tickStep(-1, 1, 4)).toBe(0.5);
    expect(tickStep(0, 1000, 3)).toBe(500);
  });

  it("gives round values inside the domain without float noise", () => {
    expect(niceTicks(-1, 1, 4)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(niceTicks(0, 0.3, 3)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(-0.93, 0.71, 4)).toEqual([-0.5, 0, 0.5]);
    expect(linearScale([5, -5], [0, 1]).ticks(2)).toEqual([-5, 0, 5]);
  });

  it("formats labels with the decimals the step needs", () => {
    expect(formatTick(0.5, 0.5)).toBe("0.5");
    expect(formatTick(-1, 0.5)).toBe("-1.0");
    expect(formatTick(200, 100)).toBe("200");
    expect(formatTick(0.05, 0.05)).toBe("0.05");
  });

  it("rounds a dragged value to the precision of the span", () => {
    expect(roundTo(0.411873, 2)).toBe(0.412);
    expect(roundTo(12.3456, 200)).toBe(12.3);
    expect(roundTo(0.5, 0)).toBe(0.5);
  });
});
