import { readFile, stat } from 'node:fs/promises';
import { CliError } from './errors';

/** Largest file or stdin the CLI reads: far above any webhook body, small enough to never exhaust memory. */
const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** Reads a whole file as bytes (webhook bodies are compared byte for byte: no decoding here). */
export async function readFileBytes(path: string, what: string): Promise<Buffer> {
  let size: number;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new CliError('unreadable_input', `The ${what} "${path}" is a directory, not a file.`);
    size = info.size;
  } catch (error) {
    if (error instanceof CliError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError('file_not_found', `The ${what} "${path}" does not exist.`);
    throw new CliError('unreadable_input', `The ${what} "${path}" cannot be read: ${(error as Error).message}`, { cause: error });
  }
  if (size > MAX_INPUT_BYTES) throw new CliError('unreadable_input', `The ${what} "${path}" is larger than ${MAX_INPUT_BYTES} bytes.`);
  try {
    return await readFile(path);
  } catch (error) {
    throw new CliError('unreadable_input', `The ${what} "${path}" cannot be read: ${(error as Error).message}`, { cause: error });
  }
}

/** Reads standard input to its end; refuses an interactive terminal, where the user would wait forever. */
export async function readStdin(what: string, hint: string): Promise<Buffer> {
  if (process.stdin.isTTY) throw new CliError('missing_input', `No ${what}: give a file or pipe it on standard input.`, { hint });
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += buffer.length;
    if (total > MAX_INPUT_BYTES) throw new CliError('unreadable_input', `The ${what} on standard input is larger than ${MAX_INPUT_BYTES} bytes.`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** A file's bytes, or standard input's when the file is absent or `-`. */
export function readSource(file: string | undefined, what: string, hint: string): Promise<Buffer> {
  return file === undefined || file === '-' ? readStdin(what, hint) : readFileBytes(file, what);
}
