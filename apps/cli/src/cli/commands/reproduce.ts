/**
 * `nfdm reproduce`: a thin entry. The experiment suite lives in the private workspace package
 * @nfdm/reproduce (apps/reproduce), which depends on this CLI; the CLI does not depend on it,
 * so it is loaded by name at run time and gets every argument (`--help` too).
 */
import { Command, CommanderError, Option } from '@commander-js/extra-typings';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';

export const REPRODUCE_PACKAGE = '@nfdm/reproduce';

/** The command of @nfdm/reproduce, built on its own copy of commander. */
interface ReproduceCommand {
  parent: unknown;
  copyInheritedSettings(from: unknown): unknown;
  parseAsync(args: string[], options: { from: 'user' }): Promise<unknown>;
}

/** Load @nfdm/reproduce (a variable name: neither tsup nor tsc make the CLI depend on it). */
export async function loadReproduce(name = REPRODUCE_PACKAGE): Promise<{ reproduceCommand(ctx: Context): ReproduceCommand }> {
  try {
    return await import(name);
  } catch (error) {
    const e = error as { code?: string; message?: string };
    if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message?.includes(`'${name}'`))
      throw new CliError(
        `nfdm reproduce runs the experiment suite from the nfdm repository (workspace package ${name}), which is not installed here`,
      );
    throw error;
  }
}

/** The package's errors come from its copies of commander and of the CLI helpers: main() knows them by class. */
function asOurs(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof CliError || error instanceof CommanderError) return error;
  const { exitCode, code } = error as Error & { exitCode?: unknown; code?: unknown };
  if (typeof exitCode !== 'number') return error;
  const ours =
    typeof code === 'string' && code.startsWith('commander.')
      ? new CommanderError(exitCode, code, error.message)
      : error.name === 'CliError'
        ? new CliError(error.message, exitCode)
        : error;
  if (ours !== error && error.stack) ours.stack = error.stack;
  return ours;
}

/**
 * A command that hands its arguments on: it keeps allowing them (and answers `--help` itself)
 * when main() copies nfdm's settings into every command.
 */
class ForwardingCommand extends Command {
  override copyInheritedSettings(source: Parameters<Command['copyInheritedSettings']>[0]): this {
    super.copyInheritedSettings(source);
    return this.helpOption(false).allowUnknownOption().allowExcessArguments();
  }
}

export function reproduceCommand(ctx: Context) {
  return new ForwardingCommand('reproduce')
    .description(
      'run the experiment suite (density, few-step sampling, bridges, images, image bridge) under a budget and write REPORT.md with tables, figures, configs and a verdict per paper claim',
    )
    .helpOption(false)
    .addOption(new Option('-h, --help').hideHelp())
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (opts, cmd) => {
      const command = (await loadReproduce()).reproduceCommand(ctx);
      // nfdm's exit and output settings, and `nfdm reproduce` in its usage line.
      command.copyInheritedSettings(cmd.parent);
      command.parent = cmd.parent;
      await command.parseAsync(opts.help ? [...cmd.args, '--help'] : cmd.args, { from: 'user' }).catch((error: unknown) => {
        throw asOurs(error);
      });
    });
}
