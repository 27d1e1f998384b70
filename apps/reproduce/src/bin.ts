/** `nfdm-reproduce …` is `nfdm reproduce …`: the same command, through the nfdm CLI's main(). */
import { ignoreBrokenPipes, main } from '@nfdm/cli/lib';

ignoreBrokenPipes([process.stdout, process.stderr]);

main([process.argv[0], process.argv[1], 'reproduce', ...process.argv.slice(2)]).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`nfdm: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
