/** `nfdm export`: write a trained model as ONNX graphs that onnxruntime can run without tfjs. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { exportAnyModel, ONNX_MANIFEST_FILE, writeOnnxExport, writeTritonRepository } from '@nfdm/export';
import type { Context } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { checkWritableFolder, ensureDir, writingFile } from '../files.js';
import { BACKENDS, examples, need } from '../options.js';
import { Output } from '../output.js';
import { locateModel, objectiveOf, openModel, startBackend } from '../runtime.js';

export function exportCommand(ctx: Context) {
  return new Command('export')
    .description(
      'export a trained model to ONNX (opset 17), one .onnx per graph plus nfdm-onnx.json, in a directory: diffusion models — drift, velocity, velocity+divergence, one-call samplers and the components; nfbm — bridge velocity, drift and source→target samplers; diffflow — drift, score and its SDE/ODE samplers; cfm — velocity, velocity+divergence and one-call ODE samplers',
    )
    .option('--model <dir>', 'a training output directory or a model directory (required)')
    .option('--out <dir>', 'output directory for the .onnx files (required)')
    .option('--force', 'write into an existing, non-empty directory')
    .addOption(
      new Option(
        '--format <format>',
        'onnx: an nfdm export directory (for nfdm serve and the runtime); triton: a Triton model repository, one model <name>_<graph>/1/model.onnx + config.pbtxt per graph (adds to an existing repository)',
      )
        .choices(['onnx', 'triton'] as const)
        .default('onnx' as const),
    )
    .option('--name <name>', 'triton: the model name of the graphs (default: the --model directory name)')
    .addOption(new Option('--backend <name>', 'tfjs backend used to read the weights').choices(BACKENDS).default('auto' as const))
    .option('--json', 'print the files written as JSON on stdout')
    .option('--verbose', 'notes on stderr even when it is not a terminal')
    .addHelpText(
      'after',
      examples([
        'nfdm export --model runs/nfdm-8g --out onnx/nfdm-8g',
        'nfdm serve --models onnx --port 8080   # serve every exported model in onnx/ (same as nfdm-serve)',
        'nfdm export --model runs/nfdm-8g --format triton --out triton-repo   # Triton models nfdm-8g_<graph>',
      ]),
    )
    .action(async (opts) => {
      const out = new Output(ctx.io, Boolean(opts.json), Boolean(opts.verbose));
      const modelDir = need(opts.model, '--model <dir>');
      const dir = need(opts.out, '--out <dir>');
      if (dir.toLowerCase().endsWith('.onnx')) {
        throw new UsageError(`--out ${dir}: give a directory; an export is several .onnx graphs plus a manifest`);
      }
      if (existsSync(dir) && !statSync(dir).isDirectory()) throw new CliError(`--out ${dir} is a file; give a folder`);
      const triton = opts.format === 'triton';
      if (existsSync(dir) && readdirSync(dir).length > 0 && !opts.force && !triton) {
        throw new CliError(`${dir} already exists and is not empty; pass --force to write into it`, 1);
      }
      const location = locateModel(modelDir);
      await startBackend(opts.backend, out);
      const opened = openModel(location);
      // Each family's exporter knows its graphs and defaults (DiffFlow's grid, bridge penalties);
      // a model trained on images records their shape, so runtimes and servers can draw samples.
      // A diffusion model's training objective is recorded too: an NFDM-OT export is then few-step for runtimes and the playground.
      const imageShape = opened.meta?.data?.imageShape;
      const image = imageShape ? { height: imageShape[0], width: imageShape[1], channels: imageShape[2] } : undefined;
      const objective = opened.family === 'diffusion' && opened.meta ? objectiveOf(opened.meta) : undefined;
      const exported = exportAnyModel(opened.model, { ...(image ? { image } : {}), ...(objective ? { objective } : {}) });
      ensureDir(dir, `--out ${dir}`);
      checkWritableFolder(dir, join(dir, ONNX_MANIFEST_FILE), `--out ${dir}`);
      const name = opts.name ?? basename(resolve(modelDir));
      const files = triton
        ? writingFile(join(dir, `${name}.README.md`), () => tritonFiles(exported, dir, name, Boolean(opts.force)))
        : writingFile(join(dir, ONNX_MANIFEST_FILE), () => writeOnnxExport(exported, dir));
      opened.model.dispose();
      out.human(`exported ${opened.path} to ${dir}: ${files.length} files`);
      for (const f of files) out.human(`  ${f}`);
      out.result({ model: opened.path, out: dir, files });
    });
}

/** Write the Triton models of `exported` named `<name>_<graph>`; an existing model of that name needs --force. */
function tritonFiles(exported: Parameters<typeof writeTritonRepository>[0], dir: string, name: string, force: boolean): string[] {
  const clash = Object.keys(exported.graphs).find((g) => existsSync(join(dir, `${name}_${g}`)));
  if (clash && !force) throw new CliError(`${join(dir, `${name}_${clash}`)} already exists; pass --force to overwrite, or --name`, 1);
  try {
    return writeTritonRepository(exported, dir, name).files;
  } catch (error) {
    if (/model name/.test((error as Error).message)) throw new UsageError(`--name: ${(error as Error).message}`);
    throw error;
  }
}
