/** Small helpers the families' training tasks share. */
import { estimate } from '../model.js';

/** Mean and standard error over draws (0 for a single draw, as the NELBO reports). */
export function meanStderr(values: number[]): { mean: number; stderr: number } {
  const e = estimate(values);
  return { mean: e.mean, stderr: values.length > 1 ? e.stderr : 0 };
}
