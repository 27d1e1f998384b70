/**
 * Node sources: a directory written by `writeOnnxExport` (every `*.onnx` inside, sorted), the
 * path of one `.onnx` graph, or graph bytes (load.ts's {@link collectBytes}).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { collectBytes, type GraphBytes, type OnnxModelSource, OnnxRuntimeError } from './load.js';

export function collectNode(source: OnnxModelSource): GraphBytes[] {
  if (typeof source !== 'string') return collectBytes(source);
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(source);
  } catch (error) {
    throw new OnnxRuntimeError(`${source}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (stat.isDirectory()) {
    const files = readdirSync(source)
      .filter((f) => f.endsWith('.onnx'))
      .sort();
    if (files.length === 0) throw new OnnxRuntimeError(`${source}: no .onnx files in this directory`);
    return files.map((f) => ({ bytes: readFileSync(join(source, f)), origin: join(source, f) }));
  }
  return [{ bytes: readFileSync(source), origin: source }];
}
