import { writeError } from './io';

/** A line of progress on standard error: redrawn in place on a terminal, one line per update when forced elsewhere (CI logs). */
export interface Progress {
  /** Shows the current state. */
  update(text: string): void;
  /** Shows the final state and ends the line. */
  done(text: string): void;
}

/**
 * Progress for long work. Shown when standard error is a terminal, or when forced with
 * `--progress` (or `HOOKS_PROGRESS=1`); `--no-progress` hides it. Never on standard output, which
 * carries the result (`--json`).
 */
export function createProgress(option: boolean | undefined): Progress {
  const forced = option ?? (process.env.HOOKS_PROGRESS === '1' ? true : undefined);
  const terminal = process.stderr.isTTY === true;
  const enabled = forced ?? terminal;
  if (!enabled) return { update() {}, done() {} };
  let last = '';
  // Redrawing more than ten times a second only costs time.
  let lastDrawn = 0;
  return {
    update(text) {
      if (text === last) return;
      last = text;
      if (terminal) {
        const now = Date.now();
        if (now - lastDrawn < 100) return;
        lastDrawn = now;
        writeError(`\r\x1b[2K${text}`);
      } else writeError(`${text}\n`);
    },
    done(text) {
      if (terminal) writeError(`\r\x1b[2K${text}\n`);
      else writeError(`${text}\n`);
    },
  };
}
