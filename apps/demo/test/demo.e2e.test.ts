import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMessageId, signHeaders } from '@hooks/core';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import axe from 'axe-core';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReceivedEntry, type ReceiverName, type RunningDemo, startDemo } from '../src/index';

// The whole demo in real headless Chromium (Debian's package; never a downloaded browser):
// the settings page is <hooks-portal> with a portal token for the demo workspace, driving the sender's admin API; the sender delivers to five real framework
// servers, and what they verified is read back from their /received lists.

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const RESULTS = fileURLToPath(new URL('../test-results', import.meta.url));
const RECEIVERS: ReceiverName[] = ['express', 'fastify', 'koa', 'next', 'hono'];
const LABELS: Record<ReceiverName, string> = { express: 'Express', fastify: 'Fastify', koa: 'Koa', next: 'Next.js', hono: 'Hono' };

let demo: RunningDemo;
let context: BrowserContext;
let page: Page;
let dataDir: string;
let userDataDir: string;
const secrets = new Map<ReceiverName, string>();
// Script errors of the page; the last test expects none.
const pageErrors: string[] = [];

/** Polls `check` until it returns a value that is not undefined/false, or fails with the last problem. */
async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function received(name: ReceiverName): Promise<ReceivedEntry[]> {
  const response = await fetch(demo.urls.receivers[name].received);
  expect(response.status).toBe(200);
  return (await response.json()) as ReceivedEntry[];
}

const portal = () => page.locator('hooks-portal');
const portalButton = (name: string | RegExp) => portal().getByRole('button', { name, exact: typeof name === 'string' });

/** Opens an endpoint from the portal's list (going back to the list first). */
async function openEndpoint(label: string): Promise<void> {
  if ((await portalButton('← All endpoints').count()) > 0) await portalButton('← All endpoints').click();
  await portalButton(`Open ${label} receiver`).click();
  await portal().getByRole('heading', { level: 2, name: `${label} receiver` }).waitFor();
}

function deliveryLog() {
  return portal().locator('ul.deliveries');
}

/** Runs axe-core on the whole page (the portal's shadow DOM included): no serious or critical violation. */
async function expectAccessible(screen: string): Promise<void> {
  const violations = await page.evaluate(async () => {
    const result = await (window as unknown as { axe: typeof axe }).axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((violation) => ({ id: violation.id, impact: violation.impact, nodes: violation.nodes.map((node) => node.target.join(' ')).slice(0, 3) }));
  });
  const blocking = violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  expect(blocking, `${screen}: ${JSON.stringify(blocking)}`).toEqual([]);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'hooks-demo-data-'));
  userDataDir = mkdtempSync(join(tmpdir(), 'hooks-demo-chromium-'));
  // A short retry schedule, so retries show up in the log within the test.
  demo = await startDemo({ port: 0, dataDir, retry: { schedule: [1_500, 1_500], jitter: 0, maxAttempts: 3 }, secretOverlapMs: 10 * 60_000 });
  context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, args: ARGS, headless: true, viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(demo.urls.settings).origin });
  // axe-core for the accessibility checks, as an init script: the page's CSP refuses inline scripts.
  await context.addInitScript({ content: axe.source });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  await demo?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

describe('demo: the portal in the platform page, the sender and five receivers in a real browser', () => {
  // The steps run in order and build on each other, like a person using the page.
  it('adds an endpoint per receiver in the portal and shows each signing secret once', async () => {
    await page.goto(demo.urls.settings);
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
    await expect(page.getByRole('navigation', { name: 'Breadcrumb' }).textContent()).resolves.toMatch(/Settings\s*→?\s*Integrations\s*→?\s*Webhooks/);
    await portal().getByRole('heading', { level: 2, name: 'Endpoints' }).waitFor();
    await expectAccessible('empty portal in the platform page');

    // Express subscribes to two events; the others get all (none checked).
    for (const name of RECEIVERS) {
      const label = LABELS[name];
      if ((await portalButton('← All endpoints').count()) > 0) await portalButton('← All endpoints').click();
      await portalButton('Add endpoint').click();
      // The receivers panel copies a receiver's URL for the portal's URL field.
      await page.getByRole('button', { name: `Copy ${demo.urls.receivers[name].label} URL` }).click();
      const url = await page.evaluate(() => navigator.clipboard.readText());
      expect(url).toBe(demo.urls.receivers[name].webhook);
      await portal().getByLabel('Endpoint URL').fill(url);
      await portal().getByLabel('Name', { exact: true }).fill(`${label} receiver`);
      if (name === 'express') {
        await portal().getByLabel('registrant.created').check();
        await portal().getByLabel('session.started').check();
      }
      await portalButton('Create endpoint').click();
      const secretInput = portal().getByRole('textbox', { name: 'Signing secret' });
      await secretInput.waitFor();
      const secret = await secretInput.inputValue();
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{20,}$/);
      secrets.set(name, secret);
      await portalButton('Copy').click();
      await portalButton('Copied.').waitFor();
      await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(secret);
      await portalButton('Done').click();
      // Shown once: the page no longer holds it.
      await expect(secretInput.count()).resolves.toBe(0);
    }
    expect(new Set(secrets.values()).size).toBe(5);
    await portalButton('← All endpoints').click();
    for (const name of RECEIVERS) await portalButton(`Open ${LABELS[name]} receiver`).waitFor();
  });

  it('delivers a simulated broadcast to every receiver, which verifies it, and logs each delivery', async () => {
    await page.getByRole('button', { name: 'Run a whole broadcast' }).click();
    await page.getByText(/Sent 11 events/).waitFor();
    for (const name of RECEIVERS.filter((entry) => entry !== 'express')) {
      const entries = await eventually(`11 events at ${name}`, async () => {
        const list = await received(name);
        return list.length >= 11 && list;
      });
      expect(entries.every((entry) => entry.outcome === 'handled' && entry.attempt === 1 && entry.signatures === 1)).toBe(true);
      expect(new Set(entries.map((entry) => entry.type))).toEqual(new Set(broadcastEvents.names));
    }
    // Express only subscribed to two events: 3 registrations and 1 session start.
    const expressEntries = await eventually('4 events at express', async () => {
      const list = await received('express');
      return list.length >= 4 && list;
    });
    expect(expressEntries.map((entry) => entry.type).sort()).toEqual(['registrant.created', 'registrant.created', 'registrant.created', 'session.started']);

    // The delivery log of an endpoint lists each delivery; the last delivery shows in the list.
    await openEndpoint('Hono');
    await eventually('11 succeeded deliveries in the Hono log', async () => {
      await portalButton('Refresh').click();
      return (await deliveryLog().locator('li.delivery.succeeded').count()) === 11;
    });
    await deliveryLog().locator('li.delivery').first().getByRole('button', { name: /^Attempts of/ }).click();
    await deliveryLog().getByRole('article', { name: /^Attempt 1/ }).first().getByText('Response status').waitFor();
    expect(await deliveryLog().getByRole('article', { name: /^Attempt 1/ }).first().textContent()).toContain('200');
    await expectAccessible('delivery log in the platform page');
  });

  it('sends a test event of the chosen type', async () => {
    await portalButton('Send a test').click();
    await portal().getByLabel('Event type').selectOption('broadcast.summary');
    await portalButton('Send test event').click();
    await portal().getByText('Test delivery succeeded: HTTP 200.').waitFor();
    const test = await eventually('the test event at hono', async () => (await received('hono')).find((entry) => entry.type === 'broadcast.summary' && (entry.data as { sessionId?: string }).sessionId === 'ses_01'));
    expect(test.outcome).toBe('handled');
  });

  it('regenerates a secret: deliveries carry both signatures during the overlap and keep verifying', async () => {
    await openEndpoint('Koa');
    await portalButton('Signing secret').click();
    await portalButton('Regenerate secret').click();
    const dialog = portal().getByRole('dialog', { name: 'Regenerate the signing secret?' });
    expect(await dialog.textContent()).toContain('keeps signing for 10 min');
    await dialog.getByRole('button', { name: 'Regenerate' }).click();
    await portal().getByText(/New secret created/).waitFor();
    const rotated = await portal().getByRole('textbox', { name: 'Signing secret' }).inputValue();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secrets.get('koa'));
    const koaBefore = (await received('koa')).length;
    await page.getByRole('button', { name: /^Registered/ }).click();
    const afterRotation = await eventually('a delivery at koa after the rotation', async () => {
      const list = await received('koa');
      return list.length > koaBefore && list[0];
    });
    expect(afterRotation).toMatchObject({ type: 'registrant.created', outcome: 'handled', signatures: 2 });
    // The receiver accepts a request signed with the old secret alone, and one signed with the new one alone.
    for (const secret of [secrets.get('koa') as string, rotated]) {
      const id = createMessageId();
      const body = JSON.stringify({ id, type: 'registrant.created', timestamp: new Date().toISOString(), data: broadcastEvents.definitions['registrant.created'].example });
      const headers = await signHeaders({ id, timestamp: new Date(), payload: body, secrets: secret, eventType: 'registrant.created' });
      const response = await fetch(demo.urls.receivers.koa.webhook, { method: 'POST', headers, body });
      expect(response.status).toBe(200);
    }
    // Other endpoints still sign with one secret.
    const honoBefore = (await received('hono')).length;
    await page.getByRole('button', { name: /^Attended/ }).click();
    const honoLatest = await eventually('a delivery at hono', async () => {
      const list = await received('hono');
      return list.length > honoBefore && list[0];
    });
    expect(honoLatest.signatures).toBe(1);
  });

  it('shows the retries of a broken receiver in the log, then a manual retry succeeds', async () => {
    // Attempts answer 500; the log shows each one, then the delivery fails.
    await page.getByLabel('Make Fastify answer 500').check();
    await expect.poll(() => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.key)).toBe('failing-fastify');
    await openEndpoint('Fastify');
    await page.getByRole('button', { name: /^Session ended/ }).click();
    const failing = deliveryLog().locator('li.delivery').filter({ hasText: 'session.ended' }).first();
    await eventually('the delivery to fail after 3 attempts', async () => {
      await portalButton('Refresh').click();
      return (await failing.getAttribute('class'))?.includes('failed');
    }, 20_000);
    await failing.getByRole('button', { name: /Attempts of session\.ended/ }).click();
    const attempts = failing.getByRole('article', { name: /^Attempt \d/ });
    await expect.poll(() => attempts.count()).toBe(3);
    for (let index = 0; index < 3; index++) {
      const text = await attempts.nth(index).textContent();
      expect(text).toContain(`Attempt ${index + 1}`);
      expect(text).toContain('500');
      expect(text).toContain('handler_error');
      expect(text).toMatch(/\d+ ms/);
    }
    const fastifyFailed = (await received('fastify')).filter((entry) => entry.type === 'session.ended' && entry.outcome === 'failed');
    expect(fastifyFailed.map((entry) => entry.attempt).sort()).toEqual([1, 2, 3]);

    // Fix the receiver and retry the failed delivery by hand: a 4th attempt succeeds.
    await page.getByLabel('Make Fastify answer 500').uncheck();
    await failing.getByRole('button', { name: /^Retry session\.ended/ }).click();
    await eventually('the retried delivery to succeed', async () => {
      await portalButton('Refresh').click();
      return (await failing.getAttribute('class'))?.includes('succeeded');
    });
    await expect.poll(() => attempts.count()).toBe(4);
    await expect(attempts.nth(3).textContent()).resolves.toContain('200');
    const recovered = (await received('fastify')).find((entry) => entry.type === 'session.ended' && entry.outcome === 'handled');
    expect(recovered?.attempt).toBe(4);
  });

  it('disables and enables an endpoint', async () => {
    // Nothing new is delivered to a disabled endpoint.
    await portalButton('Disable endpoint').click();
    await portalButton('Enable endpoint').waitFor();
    await portal().getByText('Disabled: turned off by hand').waitFor();
    const fastifyBefore = (await received('fastify')).length;
    const honoCount = (await received('hono')).length;
    await page.getByRole('button', { name: /^Event created/ }).click();
    await eventually('the event at hono', async () => (await received('hono')).length > honoCount);
    expect((await received('fastify')).length).toBe(fastifyBefore);
    await portalButton('Enable endpoint').click();
    await portalButton('Disable endpoint').waitFor();
    await portal().getByText('Enabled', { exact: true }).waitFor();
  });

  it('failed nowhere but at the broken receiver, and shows what each receiver verified', async () => {
    for (const endpoint of (await demo.platform.sender.endpoints.list({ limit: 100 })).items) {
      const failed = await demo.platform.sender.attempts.list({ endpointId: endpoint.id, success: false });
      expect({ endpoint: endpoint.name, failed: failed.items.length }).toEqual({ endpoint: endpoint.name, failed: endpoint.name === 'Fastify receiver' ? 3 : 0 });
    }

    // The receivers panel shows what each one verified.
    for (const name of RECEIVERS) {
      const panel = page.getByRole('article', { name: `${demo.urls.receivers[name].label} receiver` });
      await expect(panel.getByRole('list', { name: /^Received by/ }).getByRole('listitem').count()).resolves.toBeGreaterThan(0);
    }

    mkdirSync(RESULTS, { recursive: true });
    await portalButton('← All endpoints').click();
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(RESULTS, 'demo-settings.png'), fullPage: true });
  });

  it('deletes an endpoint after confirmation', async () => {
    await openEndpoint('Express');
    await portalButton('Delete endpoint').click();
    await portal().getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    await portalButton('Delete endpoint').waitFor();
    await portalButton('Delete endpoint').click();
    await portal().getByRole('dialog').getByRole('button', { name: 'Delete', exact: true }).click();
    // Back on the list (the button is not there while the endpoint is open): the others, without it.
    await portalButton('Open Koa receiver').waitFor();
    await expect(portalButton('Open Express receiver').count()).resolves.toBe(0);
    expect((await demo.platform.sender.endpoints.list({ limit: 100 })).items.map((endpoint) => endpoint.name)).not.toContain('Express receiver');
  });

  it('ran without script errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
