// The entrance: picks a command and loads only its module. `k6gate run …` (cli/run.ts) runs one
// test and never loads the HTTP app; `k6gate check …` (cli/check.ts) validates Canaries offline; anything else is `k6gate [serve] …` (cli/serve.ts), whose
// flags include --help and --version. Nothing else in k6gate reads process.env or argv.

declare const K6GATE_VERSION: string;
const VERSION = typeof K6GATE_VERSION === 'string' ? K6GATE_VERSION : '0.0.0-dev';

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'run') {
    const { runCommand, terminal } = await import('./cli/run.ts');
    return runCommand(argv.slice(1), terminal());
  }
  if (argv[0] === 'check') {
    const { checkCommand } = await import('./cli/check.ts');
    const write = (stream: NodeJS.WriteStream) => (line: string) =>
      stream.write(line.endsWith('\n') ? line : `${line}\n`);
    return checkCommand(argv.slice(1), write(process.stdout), write(process.stderr));
  }
  const { serveCommand } = await import('./cli/serve.ts');
  return serveCommand(argv, process.env, VERSION);
}

// Compiled as ESM with code splitting (Makefile): each command, the Kubernetes client and the
// Slack SDK are chunks of their own, so a daemon loads only the ones its settings use.
void main(Bun.argv.slice(2)).then((code) => process.exit(code));
