// Hit testing for the parallel-coordinates plot. Columns are equal bands over the plot's
// width; a token's values are drawn at its band's centre.

export interface Columns {
  left: number;
  width: number;
  count: number;
}

export function columnWidth({ width, count }: Columns): number {
  return count > 0 ? width / count : 0;
}

export function columnCenter(cols: Columns, index: number): number {
  return cols.left + (index + 0.5) * columnWidth(cols);
}

/** The column whose band contains x (clamped to the first / last column); -1 when there are none. */
export function nearestColumn(cols: Columns, x: number): number {
  if (cols.count <= 0 || cols.width <= 0) return -1;
  const i = Math.floor((x - cols.left) / columnWidth(cols));
  return Math.min(Math.max(i, 0), cols.count - 1);
}

export interface CellHit {
  cell: number;
  value: number;
  distance: number;
}

/**
 * The cell whose line passes closest (in pixels) to y at `column`, or null when none is within
 * `tolerance`. `values` is row-major [n_columns, n_cells]; `toY` maps a value to a pixel.
 */
export function nearestCell(
  values: ArrayLike<number>,
  nCells: number,
  column: number,
  y: number,
  toY: (value: number) => number,
  tolerance = Infinity,
): CellHit | null {
  if (column < 0 || nCells <= 0 || (column + 1) * nCells > values.length) return null;
  let best: CellHit | null = null;
  const row = column * nCells;
  for (let cell = 0; cell < nCells; cell++) {
    const value = values[row + cell] ?? NaN;
    if (!Number.isFinite(value)) continue;
    const distance = Math.abs(toY(value) - y);
    if (distance <= tolerance && (best === null || distance < best.distance)) best = { cell, value, distance };
  }
  return best;
}

/** Whether a pointer at y grabs the threshold line drawn at `thresholdY`. */
export function hitsThreshold(y: number, thresholdY: number, tolerance = 4): boolean {
  return Number.isFinite(thresholdY) && Math.abs(y - thresholdY) <= tolerance;
}
