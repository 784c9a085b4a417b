import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { docsDirectory, guides, readmes, repositoryRoot } from './markdown';

// The guides and READMEs name environment variables in many places (code, shell lines, compose
// files). A reader copies them from one page into the next, so every page must use the same
// names: one pair for a receiver's secret rotation, and the variables the `hooks` CLI reads.

/** The receiver's secret, and the one being retired during a rotation (the sender's `previous`). */
const WEBHOOK_SECRET_NAMES = ['WEBHOOK_SECRET', 'WEBHOOK_SECRET_PREVIOUS'];

/** Conventions of the examples on the sending side, besides what the CLI reads. */
const SENDER_NAMES = [/^HOOKS_KEY_[A-Z0-9]+$/, /^HOOKS_PORTAL_TOKEN_SECRET$/];

const pages = [...guides(), ...readmes()];
const texts = new Map(pages.map((page) => [page, readFileSync(resolve(docsDirectory, page), 'utf8')]));

/** `name` → pages using it, for every match of `pattern` in the guides and READMEs. */
function namesIn(pattern: RegExp): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const [page, text] of texts) {
    for (const match of text.matchAll(pattern)) {
      const list = names.get(match[0]) ?? [];
      if (!list.includes(page)) list.push(page);
      names.set(match[0], list);
    }
  }
  return names;
}

/** Every `HOOKS_*` variable the CLI reads: its constants and `process.env.HOOKS_*` uses. */
function cliVariables(): string[] {
  const folder = join(repositoryRoot, 'packages/cli/src');
  const files = readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts'));
  const found = new Set<string>();
  for (const file of files) {
    const text = readFileSync(join(folder, file), 'utf8');
    for (const match of text.matchAll(/'(HOOKS_[A-Z0-9_]+)'|process\.env\.(HOOKS_[A-Z0-9_]+)/g)) found.add(match[1] ?? match[2] ?? '');
  }
  return [...found];
}

describe('environment variables are named the same on every page', () => {
  it('uses one pair of names for the webhook secret and its rotation', () => {
    const names = namesIn(/\bWEBHOOK_SECRET[A-Z0-9_]*/g);
    const others = [...names].filter(([name]) => !WEBHOOK_SECRET_NAMES.includes(name)).map(([name, where]) => `${name} (${where.join(', ')})`);
    expect(others, `use ${WEBHOOK_SECRET_NAMES.join(' and ')}`).toEqual([]);
    // The rotation variable is actually shown somewhere, so the pair is a real convention.
    expect(names.get('WEBHOOK_SECRET_PREVIOUS')?.length ?? 0).toBeGreaterThan(1);
  });

  it('names only HOOKS_* variables the CLI reads or the examples define', () => {
    const known = cliVariables();
    expect(known).toEqual(expect.arrayContaining(['HOOKS_DATABASE', 'HOOKS_ENCRYPTION_KEY']));
    const unknown = [...namesIn(/\bHOOKS_[A-Z0-9_]+/g)]
      .filter(([name]) => !known.includes(name) && !SENDER_NAMES.some((pattern) => pattern.test(name)))
      .map(([name, where]) => `${name} (${where.join(', ')})`);
    expect(unknown).toEqual([]);
  });
});
