import { main } from './cli/main.js';
import { ignoreBrokenPipes } from './cli/output.js';

ignoreBrokenPipes([process.stdout, process.stderr]);

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`nfdm: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
