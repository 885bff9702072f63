// The entrance: picks a command and loads only its module. `k6gate run …` (cli/run.ts) runs one
// test and never loads the HTTP app; `k6gate check …` (cli/check.ts) validates Canaries offline; anything else is `k6gate [serve] …` (cli/serve.ts), whose
// flags include --help and --version. Nothing else in k6gate reads process.env or argv.

import { flushStdio, stderr, stdout, type StdStream } from './os/stdio.ts';

declare const K6GATE_VERSION: string;
const VERSION = typeof K6GATE_VERSION === 'string' ? K6GATE_VERSION : '0.0.0-dev';

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'run') {
    const { runCommand, terminal } = await import('./cli/run.ts');
    return runCommand(argv.slice(1), terminal());
  }
  if (argv[0] === 'check') {
    const { checkCommand } = await import('./cli/check.ts');
    const write = (stream: StdStream) => (line: string) =>
      stream.write(line.endsWith('\n') ? line : `${line}\n`);
    return checkCommand(argv.slice(1), write(stdout), write(stderr));
  }
  const { serveCommand } = await import('./cli/serve.ts');
  return serveCommand(argv, process.env, VERSION);
}

// Compiled as ESM with code splitting (Makefile): each command, the Kubernetes client and the
// Slack SDK are chunks of their own, so a daemon loads only the ones its settings use.
// What a command wrote is out before the process ends (os/stdio.ts).
void main(Bun.argv.slice(2)).then(async (code) => {
  await flushStdio();
  process.exit(code);
});
