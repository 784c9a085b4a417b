import { CommanderError } from 'commander';
import { CliError, toCliError } from './errors';
import { EXIT } from './exit-codes';
import { printJson, writeError } from './io';
import { createProgram } from './program';

/** Prints an error: a line with its code on standard error, or a JSON document on standard output with `--json`. */
export function reportError(error: CliError, json: boolean): void {
  if (json) {
    printJson({ ok: false, error: { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}), exitCode: error.exitCode } });
    return;
  }
  writeError(`hooks: error[${error.code}]: ${error.message}\n`);
  if (error.hint) writeError(`  hint: ${error.hint}\n`);
}

/** Runs the CLI with the arguments after `hooks`; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const program = createProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
      // `hooks help verify` asked for help (exit 0); `hooks` alone prints it to stderr as a usage error.
      if (error.code === 'commander.help') return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      reportError(new CliError('usage_error', error.message.replace(/^error: /, ''), { hint: 'Run `hooks help <command>` for its options.' }), json);
      return EXIT.usage;
    }
    const failure = toCliError(error);
    reportError(failure, json);
    return failure.exitCode;
  }
}
