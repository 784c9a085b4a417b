import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import lunr from 'lunr';
import { describe, expect, it } from 'vitest';
import { docsDirectory, guides, repositoryRoot } from './markdown';

// Checks the API site that `pnpm run docs` (TypeDoc) generated into docs/api: it builds nothing.
// turbo runs the root `docs` task before these tests (turbo.json: `@hooks/docs-check#test`
// depends on `//#docs`); run `pnpm run docs` first when running them by hand.

interface TypedocConfig {
  out: string;
  projectDocuments: string[];
  groupOrder: string[];
}

const config = JSON.parse(readFileSync(join(repositoryRoot, 'typedoc.json'), 'utf8')) as TypedocConfig;
const site = join(repositoryRoot, config.out);
const built = existsSync(join(site, 'index.html'));

/** The YAML frontmatter of a guide, as flat `key: value` pairs (all the guides use). */
function frontmatter(guide: string): Record<string, string> {
  const text = readFileSync(join(docsDirectory, guide), 'utf8');
  const match = /^---\n([\s\S]*?)\n---\n/.exec(text);
  const fields: Record<string, string> = {};
  for (const line of (match?.[1] ?? '').split('\n')) {
    const pair = /^([A-Za-z]+):\s*(.*)$/.exec(line);
    if (pair) fields[pair[1] ?? ''] = (pair[2] ?? '').trim();
  }
  return fields;
}

/** The body of a guide without its frontmatter. */
function body(guide: string): string {
  return readFileSync(join(docsDirectory, guide), 'utf8').replace(/^---\n[\s\S]*?\n---\n/, '');
}

/** TypeDoc stores navigation and search data as base64 deflated JSON in a script. */
function embeddedJson<T>(asset: string): T {
  const script = readFileSync(join(site, 'assets', asset), 'utf8');
  const data = /"([A-Za-z0-9+/=]+)"/.exec(script)?.[1] ?? '';
  return JSON.parse(inflateSync(Buffer.from(data, 'base64')).toString('utf8')) as T;
}

interface NavigationNode {
  text: string;
  path?: string;
  kind?: number;
  children?: NavigationNode[];
}

const DOCUMENT_KIND = 0x800000;

function htmlFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return htmlFiles(path);
    return entry.name.endsWith('.html') ? [path] : [];
  });
}

const decode = (text: string): string =>
  text
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

/** `%20` → space; a malformed escape is kept as written (and then not found). */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Every id (and name) a page defines, for fragment links. */
const idsCache = new Map<string, Set<string>>();
function idsOf(file: string): Set<string> {
  let ids = idsCache.get(file);
  if (!ids) {
    const text = readFileSync(file, 'utf8');
    ids = new Set([...text.matchAll(/\s(?:id|name)="([^"]*)"/g)].map((match) => decode(match[1] ?? '')));
    idsCache.set(file, ids);
  }
  return ids;
}

/** The markdown headings of a guide (outside code fences), as plain text. */
function headings(guide: string): string[] {
  const out: string[] = [];
  let fence: string | undefined;
  for (const line of body(guide).split('\n')) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker) {
      if (fence === undefined) fence = marker;
      else if (marker.startsWith(fence)) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading) {
      out.push(
        heading
          .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
          .replace(/`([^`]*)`/g, '$1')
          .replace(/[*_]{1,2}([^*_]+)[*_]{1,2}/g, '$1'),
      );
    }
  }
  return out;
}

describe('the generated site', () => {
  const navigation = built ? embeddedJson<NavigationNode[]>('navigation.js') : [];
  const documentPages = navigation.flatMap((group) => (group.children ?? []).filter((node) => node.kind === DOCUMENT_KIND).map((node) => ({ group: group.text, title: node.text, path: node.path ?? '' })));
  const readingOrder = config.projectDocuments.map((path) => relative(docsDirectory, resolve(repositoryRoot, path)));
  const pageOf = (guide: string) => documentPages.find((page) => page.title === frontmatter(guide).title);

  it('is newer than every guide (else run `pnpm run docs`)', () => {
    const builtAt = statSync(join(site, 'index.html')).mtimeMs;
    const stale = guides().filter((guide) => statSync(join(docsDirectory, guide)).mtimeMs > builtAt);
    expect(stale, 'guides changed after the site was built: run `pnpm run docs`').toEqual([]);
  });

  it('lists every guide in typedoc.json, in the reading order, overview first', () => {
    expect([...readingOrder].sort()).toEqual(guides());
    expect(readingOrder[0]).toBe('index.md');
  });

  it('gives every guide a title and a group of the navigation', () => {
    for (const guide of guides()) {
      const fields = frontmatter(guide);
      expect(fields.title, `${guide}: title`).toBeTruthy();
      expect(config.groupOrder, `${guide}: group "${fields.group}" is in groupOrder`).toContain(fields.group);
    }
  });

  it('shows every guide in the navigation, in the reading order', () => {
    expect(documentPages.map((page) => page.title)).toEqual(readingOrder.map((guide) => frontmatter(guide).title));
    expect(documentPages.map((page) => page.group)).toEqual(readingOrder.map((guide) => frontmatter(guide).group));
    // Groups appear in groupOrder, so the reading order never jumps back to an earlier group.
    const groups = [...new Set(documentPages.map((page) => page.group))];
    expect(groups).toEqual(config.groupOrder.filter((group) => groups.includes(group)));
  });

  it('shows each package README on its package page', () => {
    const packagePages = navigation.find((group) => group.text === 'Modules')?.children ?? [];
    expect(packagePages.length).toBeGreaterThan(0);
    for (const page of packagePages) {
      const name = page.text.replace('@hooks/', '');
      const readme = readFileSync(join(repositoryRoot, 'packages', name, 'README.md'), 'utf8');
      const firstParagraph = (readme.split('\n\n')[1] ?? '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, '').replace(/\s+/g, ' ').slice(0, 40);
      const html = decode(readFileSync(join(site, page.path ?? ''), 'utf8')).replace(/\s+/g, ' ');
      expect(html, `${page.text} page shows packages/${name}/README.md`).toContain(firstParagraph);
    }
  });

  it('keeps the text of every heading in the table of contents, code included', () => {
    for (const guide of guides()) {
      const page = pageOf(guide);
      expect(page, `${guide} has a page`).toBeDefined();
      const html = readFileSync(join(site, page?.path ?? ''), 'utf8');
      const toc = html.slice(html.indexOf('tsd-page-navigation'));
      const entries = [...toc.matchAll(/<a href="#[^"]*"[^>]*>(?:(?!<\/a>)[\s\S])*?<span>([\s\S]*?)<\/span><\/a>/g)].map((match) => decode(match[1] ?? '').replace(/\s+/g, ' ').trim());
      for (const heading of headings(guide)) expect(entries, `${guide}: "${heading}"`).toContain(heading.replace(/\s+/g, ' ').trim());
    }
  });

  it('has no broken relative link or fragment, between guides and API pages alike', () => {
    const broken: string[] = [];
    for (const file of htmlFiles(site)) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
        const link = decode(match[1] ?? '');
        if (link === '' || /^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith('//')) continue;
        const [path = '', fragment] = link.split('#');
        const target = path === '' ? file : resolve(dirname(file), safeDecode(path));
        const where = `${relative(site, file)} → ${link}`;
        if (!existsSync(target)) broken.push(`${where} (no such file)`);
        else if (fragment && !idsOf(target).has(safeDecode(fragment))) broken.push(`${where} (no such anchor)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('lets the search find the guides by their text, not only their titles', () => {
    const search = embeddedJson<{ rows: Array<{ kind: number; name: string; url: string }>; index: object }>('search.js');
    const index = lunr.Index.load(search.index);
    // Whole tokens as lunr cuts them (at white space and hyphens), so each one is a term of the index.
    const words = (text: string) =>
      new Set(
        lunr
          .tokenizer(text)
          .map((token) => lunr.trimmer(token).toString())
          .filter((word) => /^[a-z]{6,}$/.test(word)),
      );
    const perGuide = new Map(guides().map((guide) => [guide, words(body(guide))]));
    const guidesUsing = (word: string) => [...perGuide.values()].filter((set) => set.has(word)).length;
    for (const guide of guides()) {
      const title = words(frontmatter(guide).title ?? '');
      // The words this guide shares with the fewest others (none, mostly), never from its title:
      // finding the guide by them proves its text is indexed, not just its name.
      const rare = [...(perGuide.get(guide) ?? [])]
        .filter((word) => !title.has(word))
        .sort((a, b) => guidesUsing(a) - guidesUsing(b) || b.length - a.length)
        .slice(0, 3);
      const url = pageOf(guide)?.path;
      const found = rare.filter((word) => index.search(word).some((result) => search.rows[Number(result.ref)]?.url === url));
      expect(found, `${guide}: the search finds it by ${rare.join(', ')}`).toEqual(rare);
    }
  });
});

describe('the generated site exists', () => {
  it('was built by `pnpm run docs` before these tests', () => {
    expect(built, `${site} has no index.html: run \`pnpm run docs\` (turbo does it before this package's tests)`).toBe(true);
  });
});
