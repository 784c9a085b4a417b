import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AdminSender, createAdminHandler, toNodeListener } from '@hooks/sender';
import express, { type Request } from 'express';
import { bundleForBrowser } from './bundle';

/** What the host app needs of its sender: the admin API's part and token minting. */
export type HostSender = AdminSender & { createPortalToken(input: { tenant: string; expiresInSeconds?: number; scopes?: Array<'read' | 'write'> }): { token: string; expiresAt: Date } };

/** A running host SaaS. */
export interface HostApp {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  close(): Promise<void>;
}

// The demo SaaS's "session": a cookie naming the workspace (a real app checks its own login).
function workspaceOf(request: Request): string | undefined {
  return /(?:^|;\s*)workspace=([A-Za-z0-9_-]+)/.exec(request.headers.cookie ?? '')?.[1];
}

/**
 * The SaaS of docs/portal.md, in Express: its own login (a cookie here), one route minting a
 * portal token for the signed-in workspace, the admin API, and a settings page with one tag.
 */
export async function startHostApp(sender: HostSender, options: { readOnlyWorkspaces?: string[] } = {}): Promise<HostApp> {
  const app = express();
  const [portalScript, reactScript] = await Promise.all([bundleForBrowser('src/index.ts'), bundleForBrowser('test/support/react-page.ts')]);

  // 1. The admin API. Portal tokens carry their own tenant; authorize() serves the host's back office.
  app.use('/api/webhooks', toNodeListener(createAdminHandler(sender, { basePath: '/api/webhooks', authorize: () => null })));

  // 2. One route minting a token for the signed-in user's workspace.
  app.get('/api/webhooks-token', (request, response) => {
    const workspace = workspaceOf(request);
    if (!workspace) return void response.status(401).json({ error: 'sign in first' });
    const scopes = options.readOnlyWorkspaces?.includes(workspace) ? (['read'] as const) : (['read', 'write'] as const);
    response.set('cache-control', 'no-store').json(sender.createPortalToken({ tenant: workspace, expiresInSeconds: 900, scopes: [...scopes] }));
  });

  // 3. The element's script and one tag in the settings page.
  app.get('/hooks-portal.js', (_request, response) => void response.type('text/javascript').send(portalScript));
  app.get('/react-page.js', (_request, response) => void response.type('text/javascript').send(reactScript));
  app.get('/login/:workspace', (request, response) => void response.cookie('workspace', request.params.workspace, { httpOnly: true, sameSite: 'lax' }).redirect('/settings/webhooks'));
  app.get('/settings/webhooks', (request, response) => {
    const pageSize = typeof request.query.pageSize === 'string' ? ` page-size="${Number(request.query.pageSize) || 20}"` : '';
    response.type('html').send(page('Webhooks', `<hooks-portal api-base="/api/webhooks" token-url="/api/webhooks-token"${pageSize}></hooks-portal>`, '/hooks-portal.js'));
  });
  app.get('/settings/webhooks-react', (_request, response) => void response.type('html').send(page('Webhooks (React)', '<div id="root"></div>', '/react-page.js')));

  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function page(title: string, body: string, script: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title} · Settings · Acme SaaS</title>
    <script type="module" src="${script}"></script>
    <style>body { margin: 0; font-family: system-ui, sans-serif; } main { max-width: 72rem; margin: 0 auto; padding: 1rem; }</style>
  </head>
  <body>
    <main>
      <h1>Settings</h1>
      ${body}
    </main>
  </body>
</html>`;
}
