import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { bundleForBrowser } from '../test/support/bundle';

// What a page downloads for <hooks-portal>: the element with every dependency (lit), minified
// and gzipped, beside the runtimes a React-based portal (the approach of separately hosted
// portals such as Hookdeck Outpost's) ships before any of its own code. Target: < 60 KB gzipped.

const TARGET_BYTES = 60 * 1024;

async function bundleModule(source: string): Promise<string> {
  const result = await build({ stdin: { contents: source, resolveDir: new URL('..', import.meta.url).pathname, loader: 'ts' }, bundle: true, format: 'esm', platform: 'browser', minify: true, write: false, define: { 'process.env.NODE_ENV': '"production"' }, legalComments: 'none', logLevel: 'silent' });
  return result.outputFiles[0]?.text ?? '';
}

const kilobytes = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const gzipped = (text: string) => gzipSync(text, { level: 9 }).length;

const rows: Array<{ name: string; raw: number; gzip: number }> = [];
const element = await bundleForBrowser('src/index.ts', { minify: true });
rows.push({ name: '<hooks-portal> (lit included)', raw: element.length, gzip: gzipped(element) });
const wrapper = await bundleForBrowser('src/react.ts', { minify: true });
rows.push({ name: '@hooks/portal/react (element + react + wrapper)', raw: wrapper.length, gzip: gzipped(wrapper) });
const lit = await bundleModule("export { LitElement, html, css } from 'lit'; export { repeat } from 'lit/directives/repeat.js';");
rows.push({ name: 'lit alone (the dependency)', raw: lit.length, gzip: gzipped(lit) });
const react = await bundleModule("export { createElement, useState } from 'react'; export { createRoot } from 'react-dom/client';");
rows.push({ name: 'react + react-dom (a React portal, no code)', raw: react.length, gzip: gzipped(react) });

const portal = rows[0]?.gzip ?? 0;
console.log('Bundle size of the custom element, minified, gzip -9');
console.log(`${'bundle'.padEnd(52)} ${'minified'.padStart(10)} ${'gzipped'.padStart(10)} ${'portal ÷ this'.padStart(14)}`);
for (const row of rows) {
  console.log(`${row.name.padEnd(52)} ${kilobytes(row.raw).padStart(10)} ${kilobytes(row.gzip).padStart(10)} ${(portal / row.gzip).toFixed(2).padStart(14)}`);
}
console.log(`\n<hooks-portal> is ${kilobytes(portal)} gzipped: ${((portal / TARGET_BYTES) * 100).toFixed(0)} % of the 60 KB target (${portal < TARGET_BYTES ? 'within' : 'OVER'}).`);
if (portal >= TARGET_BYTES) process.exitCode = 1;
