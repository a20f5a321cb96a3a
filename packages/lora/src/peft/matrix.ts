/**
 * Small row-major float32 matrices for converting PEFT weights (exact copies, no arithmetic except where a
 * scale factor other than 1 is applied).
 */
export interface Mat {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

/** A matrix from a `[rows, cols]` file tensor. */
export function mat(shape: readonly number[], data: Float32Array): Mat {
  return { rows: shape[0]!, cols: shape[1]!, data };
}

/** Rows `[start, start + count)`. */
export function rowSlice(m: Mat, start: number, count: number): Mat {
  return { rows: count, cols: m.cols, data: m.data.slice(start * m.cols, (start + count) * m.cols) };
}

/** Columns `[start, start + count)`. */
export function colSlice(m: Mat, start: number, count: number): Mat {
  const data = new Float32Array(m.rows * count);
  for (let i = 0; i < m.rows; i++) data.set(m.data.subarray(i * m.cols + start, i * m.cols + start + count), i * count);
  return { rows: m.rows, cols: count, data };
}

/** Stack matrices with equal column counts. */
export function concatRows(parts: readonly Mat[], cols: number): Mat {
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const data = new Float32Array(rows * cols);
  let offset = 0;
  for (const p of parts) {
    data.set(p.data, offset);
    offset += p.data.length;
  }
  return { rows, cols, data };
}

/** Zero-pad to `rows × cols` (new rows/columns at the end). */
export function padTo(m: Mat, rows: number, cols: number): Mat {
  if (m.rows === rows && m.cols === cols) return m;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < m.rows; i++) data.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), i * cols);
  return { rows, cols, data };
}

/** `m · factor` (returns `m` itself for factor 1, so unscaled weights stay bit-exact). */
export function scaled(m: Mat, factor: number): Mat {
  return factor === 1 ? m : { ...m, data: m.data.map((v) => v * factor) };
}

/** A constant matrix. */
export function filled(rows: number, cols: number, value: number): Mat {
  return { rows, cols, data: new Float32Array(rows * cols).fill(value) };
}

/** Whether every element equals `value`. */
export function isConstant(m: Mat, value: number): boolean {
  return m.data.every((v) => v === value);
}
