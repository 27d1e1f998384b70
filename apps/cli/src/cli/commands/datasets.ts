/** `nfdm datasets`: every data source the other commands accept, with sizes and origin. */
import { Command } from '@commander-js/extra-typings';
import { listDatasets } from '@nfdm/datasets';
import type { Context } from '../context.js';
import { examples } from '../options.js';
import { Output, table } from '../output.js';

export function datasetsCommand(ctx: Context) {
  return new Command('datasets')
    .description('list the datasets --data accepts: toy sets, Fashion-MNIST, your CSV / NPY files')
    .option('--json', 'print the list as JSON on stdout')
    .addHelpText('after', examples(['nfdm datasets', 'nfdm datasets --json']))
    .action((opts) => {
      const out = new Output(ctx.io, Boolean(opts.json), false);
      const rows = listDatasets();
      const lines = [['name', 'dim', 'size', 'H (nats)', 'available', 'origin']];
      for (const r of rows) {
        lines.push([
          r.name,
          r.dim === null ? 'any' : String(r.dim),
          r.size,
          r.entropy === undefined ? '' : r.entropy.toFixed(3),
          r.available ? 'yes' : 'no',
          r.origin,
        ]);
      }
      out.human(table(lines));
      out.human('\nH is the differential entropy of a toy distribution: a floor for the test NLL in nats.');
      out.result({ datasets: rows });
    });
}
