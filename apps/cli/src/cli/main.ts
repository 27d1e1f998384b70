/**
 * The `nfdm` program. `main(argv)` parses, runs one command and resolves to the exit status
 * (it never calls process.exit): 0 on success, 2 for usage errors (unknown commands or
 * options, bad flag values), 1 for failures, 130 after Ctrl-C stopped training cleanly.
 * Every error is one line `nfdm: <message>` on stderr; `NFDM_DEBUG=1` adds the stack.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from '@commander-js/extra-typings';
import { classifierCommand } from './commands/classifier.js';
import { datasetsCommand } from './commands/datasets.js';
import { demoCommand } from './commands/demo.js';
import { evalCommand } from './commands/eval.js';
import { exportCommand } from './commands/export.js';
import { infoCommand } from './commands/info.js';
import { plotCommand } from './commands/plot.js';
import { reproduceCommand } from './commands/reproduce.js';
import { sampleCommand } from './commands/sample.js';
import { trainCommand } from './commands/train.js';
import type { Context } from './context.js';
import { CliError, EXIT_FAILURE, EXIT_USAGE, oneLine } from './errors.js';
import { describeErrnoError, isErrnoError } from './fs-errors.js';
import { examples } from './options.js';
import { type Io, processIo } from './output.js';

function version(): string {
  for (const rel of ['../package.json', '../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8'));
      if (pkg.name === '@nfdm/cli') return pkg.version;
    } catch {
      // try the next location (dist/ vs src/cli/)
    }
  }
  return 'unknown';
}

/** Apply the root's exit and output settings to every command below it. */
function inherit(cmd: Command<unknown[], Record<string, unknown>, Record<string, unknown>>): void {
  for (const sub of cmd.commands) {
    sub.copyInheritedSettings(cmd as never);
    inherit(sub as never);
  }
}

export function buildProgram(ctx: Context): Command {
  const program = new Command('nfdm')
    .description('Train, sample, evaluate and plot diffusion models with learned forward processes (NFDM, NDM) and fixed baselines.')
    .version(version(), '-V, --version')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
      // Errors are printed once, as one line, by main().
      outputError: () => {},
    })
    .addHelpText(
      'after',
      examples([
        'nfdm demo                                   # NFDM on 8gaussians: plots + metrics in demo-out/',
        'nfdm datasets',
        'nfdm train --model nfdm --data moons --steps 20000 --out runs/moons',
        'nfdm sample --model runs/moons --n 5000 --out samples.csv',
        'nfdm eval --model runs/moons --metrics nll,nelbo,mmd',
        'nfdm plot density --model runs/moons --out density.png',
        'nfdm info --model runs/moons                # family, config, parameters, standardisation, training summary',
        'nfdm export --model runs/moons --out onnx/moons && nfdm serve --models onnx --port 8080',
        '# every command has --help with examples, and --json for machine-readable output;',
        '# --debug (any command) prints the stack trace of an error',
      ]),
    );
  program.addCommand(trainCommand(ctx));
  program.addCommand(sampleCommand(ctx));
  program.addCommand(evalCommand(ctx));
  program.addCommand(plotCommand(ctx));
  program.addCommand(exportCommand(ctx));
  program.addCommand(infoCommand(ctx));
  program.addCommand(classifierCommand(ctx));
  // Listed for --help only: main() hands `nfdm serve …` to @nfdm/serve before parsing.
  program.command('serve').description('serve exported ONNX models over HTTP (flags: nfdm serve --help)');
  program.addCommand(demoCommand(ctx));
  program.addCommand(reproduceCommand(ctx));
  program.addCommand(datasetsCommand(ctx));
  inherit(program as never);
  return program as unknown as Command;
}

/** Run the CLI on `argv` (as process.argv: node, script, args…); resolves to the exit status. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  // `nfdm serve …` is the HTTP server of @nfdm/serve (same flags as `nfdm-serve`); it runs
  // until SIGTERM/SIGINT and owns its own argument parsing and messages.
  if (argv[2] === 'serve') {
    const serve = await import('@nfdm/serve');
    return (await serve.main(argv.slice(3))) ?? 0;
  }
  const ctx: Context = { io, exitCode: 0 };
  const program = buildProgram(ctx);
  // `--debug` anywhere (or NFDM_DEBUG=1) adds the stack trace to runtime errors.
  const debug = argv.includes('--debug') || Boolean(process.env.NFDM_DEBUG);
  const args = argv.filter((a, i) => i < 2 || a !== '--debug');
  try {
    await program.parseAsync(args);
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      // `nfdm` or `nfdm plot` alone: the help went to stderr.
      if (error.code === 'commander.help' || error.code === 'commander.executeSubCommandAsync')
        return error.exitCode === 0 ? 0 : EXIT_USAGE;
      io.stderr.write(`nfdm: ${oneLine(error)}\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`nfdm: ${isErrnoError(error) ? describeErrnoError(error) : oneLine(error)}\n`);
    if (debug && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return error instanceof CliError ? error.exitCode : EXIT_FAILURE;
  }
}
