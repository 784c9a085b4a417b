import { describe, expect, test } from 'vitest';
import { version } from '../package.json';
import { runCli } from './support';

const COMMANDS = ['sign', 'verify', 'send-test', 'replay', 'dispatch', 'migrate', 'prune', 'catalog'];

describe('hooks', () => {
  test('lists every command in its help, with the exit codes', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    for (const command of COMMANDS) expect(run.stdout).toContain(`${command} [options]`);
    expect(run.stdout).toMatch(/Exit codes: 0 ok, 1 check failed/);
  });

  test.each(COMMANDS)('`%s --help` describes the command with examples and exits 0', async (command) => {
    const run = await runCli([command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Usage: hooks ${command}`);
    expect(run.stdout).toContain('Examples:');
    expect(run.stdout).toContain(`$ hooks ${command}`);
  });

  test('`help <command>` is the same as `<command> --help`', async () => {
    const [viaHelp, viaOption] = await Promise.all([runCli(['help', 'verify']), runCli(['verify', '--help'])]);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toBe(viaOption.stdout);
  });

  test('prints its version', async () => {
    const run = await runCli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });

  test('without a command, prints the help on stderr and exits 2', async () => {
    const run = await runCli([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: hooks');
  });

  test('an unknown command or option is a usage error (exit 2) with a stable code', async () => {
    const unknownCommand = await runCli(['sgin']);
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toMatch(/^hooks: error\[usage_error\]: unknown command 'sgin'/);
    expect(unknownCommand.stderr).toContain('(Did you mean sign?)');
    const unknownOption = await runCli(['sign', '--secrett', 'x', '--json']);
    expect(unknownOption.code).toBe(2);
    expect(JSON.parse(unknownOption.stdout)).toEqual({ ok: false, error: { code: 'usage_error', message: "unknown option '--secrett'\n(Did you mean --secret?)", hint: expect.any(String), exitCode: 2 } });
  });

  test('a malformed option value is a usage error that names the option', async () => {
    const run = await runCli(['prune', '--database', 'x.db', '--older-than', 'a month']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("option '--older-than <age>' argument 'a month' is invalid");
  });
});
