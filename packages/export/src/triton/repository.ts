/**
 * Triton model repositories: every graph of an export as its own Triton model
 * `<model>_<graph>/1/model.onnx` with its `config.pbtxt` (config.ts), plus the export's manifest
 * (`<model>.nfdm-onnx.json`: dim, prior, standardisation, grid — what a client needs to prepare
 * inputs) and a client recipe (`<model>.README.md`) for the workflows that take several graphs
 * or several calls. The names are those `nfdm serve` gives the graphs under /v2, so one client
 * works against both.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ONNX_MANIFEST_FILE, type OnnxExport } from '../export.js';
import { type TritonConfigOptions, type TritonModelConfig, tritonConfig } from './config.js';
import { tritonRecipe } from './recipe.js';

/** The Triton model name of `graph` of the nfdm model `model` (as `nfdm serve` names it under /v2). */
export function tritonModelName(model: string, graph: string): string {
  return `${model}_${graph}`;
}

/** Model names Triton (and `nfdm serve`) accept. */
const NAME_RE = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * Write every graph of `exported` into the Triton repository `repoDir` (created) as the models
 * `<model>_<graph>` (version 1), with the manifest and the client recipe next to them. Returns
 * the files written and the configs.
 */
export function writeTritonRepository(
  exported: OnnxExport,
  repoDir: string,
  model: string,
  options: TritonConfigOptions = {},
): { files: string[]; configs: TritonModelConfig[] } {
  if (!NAME_RE.test(model)) throw new Error(`model name '${model}' may only contain A-Z a-z 0-9 . _ - (max 100 characters)`);
  const files: string[] = [];
  const put = (path: string, bytes: Uint8Array | string) => {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
    files.push(path);
  };
  mkdirSync(repoDir, { recursive: true });
  const configs: TritonModelConfig[] = [];
  for (const [graph, bytes] of Object.entries(exported.graphs)) {
    if (!bytes) continue;
    const name = tritonModelName(model, graph);
    const config = tritonConfig(name, bytes, options);
    mkdirSync(join(repoDir, name, '1'), { recursive: true });
    put(join(repoDir, name, '1', 'model.onnx'), bytes);
    put(join(repoDir, name, 'config.pbtxt'), config.text);
    configs.push(config);
  }
  const graphs = Object.fromEntries(configs.map((c) => [c.name.slice(model.length + 1), `${c.name}/1/model.onnx`]));
  put(join(repoDir, `${model}.${ONNX_MANIFEST_FILE}`), `${JSON.stringify({ ...exported.metadata, graphs }, null, 2)}\n`);
  put(join(repoDir, `${model}.README.md`), tritonRecipe(model, exported, configs));
  return { files, configs };
}
