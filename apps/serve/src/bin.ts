import { main } from './cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`nfdm-serve: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
