/**
 * The servers the receivers benchmark compares. Each row names a module exporting
 * `start(mode, options): Promise<number>` (the port it listens on, 127.0.0.1). Add a framework by
 * adding a row here (path relative to this file).
 */
export interface Contender {
  /** Name in the table and in `--only`. */
  framework: string;
  /** Module with the server factory, relative to this folder. */
  module: string;
  /** `json`: the route only parses JSON; `hooks`: the route behind our middleware; `octokit`: behind @octokit/webhooks. */
  modes: ReadonlyArray<BenchMode>;
}

/** What the benchmarked route does. */
export type BenchMode = 'json' | 'hooks' | 'octokit';

/** Options every server factory gets. */
export interface BenchServerOptions {
  /** The signing secret (`whsec_…`); octokit uses the same string as its secret. */
  secret: string;
  /** Route path. */
  path: string;
}

/** A server factory module. */
export type StartServer = (mode: BenchMode, options: BenchServerOptions) => Promise<number>;

export const contenders: ReadonlyArray<Contender> = [
  { framework: 'express', module: './server.ts', modes: ['json', 'hooks', 'octokit'] },
  { framework: 'fastify', module: '../../fastify/bench/server.ts', modes: ['json', 'hooks'] },
  { framework: 'koa', module: '../../koa/bench/server.ts', modes: ['json', 'hooks'] },
  { framework: 'hono', module: '../../hono/bench/server.ts', modes: ['json', 'hooks'] },
];
