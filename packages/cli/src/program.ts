import { Command } from 'commander';
import { version } from '../package.json';
import { registerCatalog } from './commands/catalog';
import { registerDispatch } from './commands/dispatch';
import { registerMigrate } from './commands/migrate';
import { registerPrune } from './commands/prune';
import { registerReplay } from './commands/replay';
import { registerSendTest } from './commands/send-test';
import { registerSign } from './commands/sign';
import { registerVerify } from './commands/verify';

/** The `hooks` command and its subcommands. */
export function createProgram(): Command {
  const program = new Command('hooks')
    .description('Sign and verify webhooks, test your receiver, replay deliveries, run the dispatcher and maintain its database.')
    .version(version, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 check failed (verify rejected, receiver answered non-2xx), 2 usage,
3 bad input, 4 network, 5 storage, 70 internal error. Guide: docs/cli.md`,
    )
    .exitOverride()
    // Errors are printed by main() with their stable code, so commander only throws.
    .configureOutput({ outputError: () => {} });
  registerSign(program);
  registerVerify(program);
  registerSendTest(program);
  registerReplay(program);
  registerDispatch(program);
  registerMigrate(program);
  registerPrune(program);
  registerCatalog(program);
  for (const command of program.commands) command.exitOverride().configureOutput({ outputError: () => {} });
  return program;
}
