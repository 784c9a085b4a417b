import { maskSecret } from '@hooks/core';

// Every secret and password the CLI has read, so no line it prints can contain one, even a
// message from a library or a receiver that echoes it back.
const redactions = new Map<string, string>();

/** Registers a value that must never be printed, and what to print instead. */
export function redact(value: string, replacement: string = maskSecret(value)): void {
  if (value.length >= 4) redactions.set(value, replacement);
}

/** `text` with every registered secret replaced by its mask. */
export function scrub(text: string): string {
  let out = text;
  for (const [value, replacement] of redactions) {
    if (out.includes(value)) out = out.split(value).join(replacement);
  }
  return out;
}

/** Writes to standard output, secrets masked. */
export function writeOut(text: string): void {
  process.stdout.write(scrub(text));
}

/** Writes to standard error, secrets masked. */
export function writeError(text: string): void {
  process.stderr.write(scrub(text));
}

/** Prints a value as one JSON document on standard output (the `--json` mode). */
export function printJson(value: unknown): void {
  writeOut(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints one JSON line on standard output (streams of events, e.g. `dispatch --json`). */
export function printJsonLine(value: unknown): void {
  writeOut(`${JSON.stringify(value)}\n`);
}

/** Resolves once everything written so far reached the OS, so exiting loses no output. */
export function flushOutput(): Promise<void> {
  return new Promise((resolve) => {
    process.stdout.write('', () => process.stderr.write('', () => resolve()));
  });
}
