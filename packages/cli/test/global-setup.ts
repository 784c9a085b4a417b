import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), '..');

function runTsup(directory: string): void {
  const require = createRequire(join(directory, 'package.json'));
  const manifest = require.resolve('tsup/package.json');
  const bin = (JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> }).bin.tsup!;
  try {
    execFileSync(process.execPath, [join(dirname(manifest), bin)], { cwd: directory, stdio: 'pipe' });
  } catch (error) {
    const output = `${(error as { stdout?: Buffer }).stdout ?? ''}${(error as { stderr?: Buffer }).stderr ?? ''}`;
    throw new Error(`Building ${directory} failed:\n${output.slice(-4000)}`);
  }
}

/** Builds the binary from the current sources once per run: the tests run `dist/bin.js` as users do. */
export default function setup(): void {
  runTsup(packageDirectory);
  // The catalog fixtures import @hooks/core as a user's module does, through its published entry.
  const core = join(packageDirectory, '..', 'core');
  if (!existsSync(join(core, 'dist', 'node', 'index.js'))) runTsup(core);
}
