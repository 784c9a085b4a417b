import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { createMemoryStorage, createSender } from '@hooks/sender';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contrastRatio, eventually, expectAccessible, expectNoHorizontalScroll, focusedInPortal, launchChromium, screenshot } from './support/browser';
import { type HostApp, startHostApp } from './support/host-app';
import { type LoopbackReceiver, startLoopbackReceiver } from './support/receiver';

// <hooks-portal> in real headless Chromium, mounted in an Express "SaaS" exactly as
// docs/portal.md shows (a token route, the admin API, one tag), against a running sender that
// delivers to a real loopback receiver. The steps build on each other like a person using the
// page; every screen is checked with axe-core and for sideways scrolling, at 1280 and 390 px.

const SCREENS_1280 = { width: 1280, height: 900 };
const SCREENS_390 = { width: 390, height: 844 };
const example = broadcastEvents.definitions['registrant.created'].example;

let sender: ReturnType<typeof createSender<typeof broadcastEvents>>;
let receiver: LoopbackReceiver;
let host: HostApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let endpointId = '';
const pageErrors: string[] = [];

beforeAll(async () => {
  receiver = await startLoopbackReceiver();
  sender = createSender({
    catalog: broadcastEvents,
    storage: createMemoryStorage(),
    urlPolicy: { allowHttp: true, allow: ['loopback'] },
    // Fast retries and a low threshold, so retries, failure and automatic disablement happen within the test.
    retry: { schedule: [300, 300], jitter: 0, maxAttempts: 3 },
    disablement: { notifyAfter: [2], disableAfter: 5 },
    dispatcher: { pollIntervalMs: 50, timeoutMs: 5_000, leaseMs: 15_000 },
    onError: () => {},
  });
  sender.start();
  host = await startHostApp(sender, { readOnlyWorkspaces: ['viewer_co'] });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: SCREENS_1280, locale: 'en-GB', timezoneId: 'Europe/London' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: host.origin });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    // 4xx answers the page expects (a refused URL) are logged by Chromium as resource errors.
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) pageErrors.push(message.text());
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await host?.close();
  await sender?.close();
  await receiver?.close();
});

const portal = () => page.locator('hooks-portal');
const button = (name: string | RegExp) => portal().getByRole('button', { name, exact: typeof name === 'string' });
const delivery = (type: string) => portal().locator('li.delivery').filter({ hasText: type });

async function deliveryState(type: string): Promise<{ id: string; status: string; attempts: number }[]> {
  const page = await sender.deliveries.list({ tenant: 'acme', endpointId, type, limit: 100 });
  return page.items.map((item) => ({ id: item.id, status: item.status, attempts: item.attempts }));
}

async function refreshLog(): Promise<void> {
  await button('Refresh').click();
}

async function describedBy(locator: Locator): Promise<string> {
  return locator.evaluate((element) => {
    const root = element.getRootNode() as ShadowRoot;
    return (element.getAttribute('aria-describedby') ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((id) => root.getElementById(id)?.textContent?.trim() ?? `(missing #${id})`)
      .join(' | ');
  });
}

describe('<hooks-portal> against a running sender', () => {
  it('shows the empty endpoint list to the signed-in workspace', async () => {
    await page.goto(`${host.origin}/login/acme`);
    await portal().getByRole('heading', { level: 2, name: 'Endpoints' }).waitFor();
    await portal().getByText('No endpoint yet').waitFor();
    await expectAccessible(page, 'empty list');
    await screenshot(page, 'list-empty-1280');
  });

  it('adds an endpoint: the URL policy error inline, then events, headers, rate limit and FIFO', async () => {
    await button('Add endpoint').click();
    const url = portal().getByLabel('Endpoint URL');
    await expect.poll(() => focusedInPortal(page)).toBe('field-url');
    // The catalog's descriptions next to each event, and "none = all" said plainly.
    await portal().getByText('Pick none to receive every event, including event types added later.').waitFor();
    await portal().getByText(broadcastEvents.definitions['session.started'].description as string).waitFor();

    // Refused by the sender's URL policy: its own message, tied to the field.
    await url.fill('https://user:password@hooks.example.com/in');
    await button('Create endpoint').click();
    await expect.poll(() => url.getAttribute('aria-invalid')).toBe('true');
    const apiAnswer = await fetch(`${host.origin}/api/webhooks/endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sender.createPortalToken({ tenant: 'acme' }).token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://user:password@hooks.example.com/in' }),
    });
    const apiMessage = ((await apiAnswer.json()) as { error: { message: string } }).error.message;
    expect(await describedBy(url)).toContain(apiMessage);
    expect(await focusedInPortal(page)).toBe('field-url');
    await expectAccessible(page, 'form with a URL error');
    await screenshot(page, 'form-error-1280');

    // Empty header name with a value: caught before sending, tied to its field.
    await url.fill(receiver.url);
    await portal().getByLabel('Name', { exact: true }).fill('CRM sync');
    await portal().getByLabel('registrant.created').check();
    await portal().getByLabel('session.started').check();
    await button('Add header').click();
    await expect.poll(() => focusedInPortal(page)).toBe('field-header-0');
    await portal().getByLabel('Header 1 value').fill('customer-key-123');
    await button('Create endpoint').click();
    const headerName = portal().getByLabel('Header 1 name');
    await expect.poll(() => headerName.getAttribute('aria-invalid')).toBe('true');
    expect(await describedBy(headerName)).toContain('Give this header a name');
    await headerName.fill('X-Api-Key');
    await portal().getByLabel('Rate limit (requests per second)').fill('25');
    await portal().getByLabel('Deliver in order (FIFO)').check();
    await button('Create endpoint').click();

    // The secret, shown once, focused for copying.
    const secretField = portal().getByRole('textbox', { name: 'Signing secret' });
    await secretField.waitFor();
    await expect.poll(() => focusedInPortal(page)).toBe('one-time-secret');
    const secret = await secretField.inputValue();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{20,}$/);
    await portal().getByText('it is shown only once here').waitFor();
    await button('Copy').click();
    await button('Copied.').waitFor();
    await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(secret);
    receiver.secrets = [secret];

    const stored = (await sender.endpoints.list({ tenant: 'acme' })).items;
    expect(stored).toHaveLength(1);
    endpointId = stored[0]?.id ?? '';
    expect(stored[0]).toMatchObject({ url: receiver.url, name: 'CRM sync', events: ['registrant.created', 'session.started'], headers: { 'x-api-key': 'customer-key-123' }, rateLimit: 25, fifo: true });
    await expectAccessible(page, 'one-time secret');
    await screenshot(page, 'secret-once-1280');
    await button('Done').click();
    await expect(secretField.count()).resolves.toBe(0);
    await expect.poll(() => focusedInPortal(page)).toBe('reveal-secret');
  });

  it('sends a test event: example payload first, then the result', async () => {
    await button('Send a test').click();
    const type = portal().getByLabel('Event type');
    await type.selectOption('session.started');
    const payload = portal().locator('pre[aria-labelledby="example-label"]');
    expect(JSON.parse((await payload.textContent()) ?? '')).toEqual(broadcastEvents.definitions['session.started'].example);
    await expectAccessible(page, 'send a test');
    await button('Send test event').click();
    await portal().getByText('Test delivery succeeded: HTTP 200.').waitFor();
    expect(await focusedInPortal(page)).toBe('send-test');
    const got = receiver.received.at(-1);
    expect(got?.verified).toBe(true);
    expect(got?.headers['x-api-key']).toBe('customer-key-123');
    expect(JSON.parse(got?.body ?? '{}')).toMatchObject({ type: 'session.started', data: broadcastEvents.definitions['session.started'].example });
    await screenshot(page, 'test-1280');
  });

  it('shows the delivery log with each attempt: request as sent, response, duration', async () => {
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: example });
    await eventually('the registrant delivery', async () => (await deliveryState('registrant.created'))[0]?.status === 'succeeded');
    await button('Deliveries').click();
    await refreshLog();
    const row = delivery('registrant.created').first();
    await row.getByText('Succeeded').waitFor();
    // Dates carry the day and the time.
    expect(await row.textContent()).toMatch(/\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}:\d{2}/);
    const toggle = row.getByRole('button', { name: /^Attempts of registrant\.created/ });
    await toggle.click();
    await expect.poll(() => toggle.getAttribute('aria-expanded')).toBe('true');
    expect(await focusedInPortal(page)).toMatch(/Attempts of registrant\.created/);
    const attempt = row.getByRole('article', { name: /^Attempt 1/ });
    await attempt.waitFor();
    const sent = receiver.received.find((entry) => entry.body.includes('"registrant.created"'));
    const requestHeaders = (await attempt.getByLabel('Request headers').textContent()) ?? '';
    expect(requestHeaders).toContain(`POST ${receiver.url}`);
    expect(requestHeaders).toContain('x-api-key: customer-key-123');
    expect(requestHeaders).toContain(`x-webhook-id: ${sent?.headers['x-webhook-id']}`);
    expect(requestHeaders).toContain('x-webhook-signature: [redacted]');
    expect(JSON.parse((await attempt.getByLabel('Request body').textContent()) ?? '')).toEqual(JSON.parse(sent?.body ?? ''));
    expect(await attempt.getByLabel('Response headers').textContent()).toContain('x-receiver: loopback');
    expect(await attempt.getByLabel('Response body (excerpt)').textContent()).toContain('"ok": true');
    expect(await attempt.textContent()).toMatch(/Duration\s*\d+ ms/);
    await expectAccessible(page, 'delivery log with attempts');
    await screenshot(page, 'deliveries-1280');
  });

  it('shows retries of a failing receiver, then retries one delivery by hand', async () => {
    receiver.failing = true;
    await sender.send({ tenant: 'acme', type: 'session.started', data: broadcastEvents.definitions['session.started'].example });
    await eventually('the delivery to fail after 3 attempts', async () => (await deliveryState('session.started')).find((entry) => entry.status === 'failed' && entry.attempts === 3));
    await refreshLog();
    const row = delivery('session.started').filter({ hasText: 'Failed' }).first();
    await row.getByText('3 attempts').waitFor();
    await row.getByRole('button', { name: /^Attempts of session\.started/ }).click();
    for (const number of [1, 2, 3]) {
      const attempt = row.getByRole('article', { name: new RegExp(`^Attempt ${number} `) });
      await attempt.getByText('Response status').waitFor();
      expect(await attempt.textContent()).toContain('500');
      expect(await attempt.getByLabel('Response body (excerpt)').textContent()).toContain('database down');
    }
    // The list says the endpoint is failing, with the count.
    await button('← All endpoints').click();
    await portal().getByText('Failing: 3 consecutive failures').waitFor();
    await expect.poll(() => focusedInPortal(page)).toBe('Open CRM sync');
    await portal().getByRole('row').filter({ hasText: 'CRM sync' }).getByText(/session\.started · HTTP 500/).waitFor();
    await screenshot(page, 'list-failing-1280');
    await button('Open CRM sync').click();

    receiver.failing = false;
    const failed = delivery('session.started').filter({ hasText: 'Failed' }).first();
    const retry = failed.getByRole('button', { name: /^Retry session\.started/ });
    await retry.click();
    await eventually('the retried delivery to succeed', async () => (await deliveryState('session.started')).some((entry) => entry.attempts === 4 && entry.status === 'succeeded'));
    await refreshLog();
    await delivery('session.started').filter({ hasText: '4 attempts' }).getByText('Succeeded').waitFor();
  });

  it('recovers every failed delivery since a time', async () => {
    const since = Date.now() - 1000;
    receiver.failing = true;
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: { ...example, sessionId: 'ses_recover' } });
    await eventually('a failed delivery', async () => (await deliveryState('registrant.created')).some((entry) => entry.status === 'failed'));
    receiver.failing = false;
    const field = portal().getByLabel('Failed since');
    // An empty time is refused, tied to the field.
    await field.fill('');
    await button('Recover').click();
    await expect.poll(() => field.getAttribute('aria-invalid')).toBe('true');
    expect(await describedBy(field)).toContain('Choose a date and time.');
    const local = new Date(since - new Date(since).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await field.fill(local);
    await button('Recover').click();
    await portal().getByText('1 delivery queued again.').waitFor();
    expect(await focusedInPortal(page)).toBe('recover-submit');
    await eventually('the recovered delivery to succeed', async () => (await deliveryState('registrant.created')).every((entry) => entry.status === 'succeeded'));
    expect(receiver.received.filter((entry) => entry.body.includes('ses_recover') && entry.status === 200)).toHaveLength(1);
  });

  it('filters the log by status, type and time, and pages through it', async () => {
    await page.goto(`${host.origin}/settings/webhooks?pageSize=2`);
    await button('Open CRM sync').click();
    await portal().getByLabel('Status').selectOption('succeeded');
    await portal().getByLabel('Event type').selectOption('registrant.created');
    await button('Apply filters').click();
    expect(await focusedInPortal(page)).toBe('apply-filters');
    await expect.poll(() => portal().locator('li.delivery').count()).toBe(2);
    expect(await portal().locator('li.delivery').allTextContents()).toSatisfy((texts: string[]) => texts.every((text) => text.includes('registrant.created') && text.includes('Succeeded')));
    // Two registrant deliveries succeeded: one page; all types: several pages.
    await expect(button('Older').count()).resolves.toBe(0);
    await portal().getByLabel('Event type').selectOption('');
    await portal().getByLabel('Status').selectOption('');
    await button('Apply filters').click();
    await button('Older').waitFor();
    const firstPage = await portal().locator('li.delivery').allTextContents();
    await button('Older').click();
    await button('Newer').waitFor();
    const secondPage = await portal().locator('li.delivery').allTextContents();
    expect(secondPage).not.toEqual(firstPage);
    await button('Newer').click();
    await expect.poll(() => portal().locator('li.delivery').allTextContents()).toEqual(firstPage);
    // A time window in the future is empty.
    await portal().getByLabel('From').fill('2099-01-01T00:00');
    await button('Apply filters').click();
    await portal().getByText('No delivery matches').waitFor();
    await portal().getByLabel('From').fill('');
    await button('Apply filters').click();
  });

  it('disables and enables by hand, keeping focus on the button', async () => {
    const toggle = button('Disable endpoint');
    await toggle.click();
    await button('Enable endpoint').waitFor();
    expect(await focusedInPortal(page)).toBe('toggle-endpoint');
    await portal().getByText('Disabled: turned off by hand').waitFor();
    expect((await sender.endpoints.get(endpointId)).enabled).toBe(false);
    await button('Enable endpoint').click();
    await button('Disable endpoint').waitFor();
    expect(await focusedInPortal(page)).toBe('toggle-endpoint');
    expect((await sender.endpoints.get(endpointId)).enabled).toBe(true);
  });

  it('shows the banner after an automatic disablement, and re-enables in one click', async () => {
    receiver.failing = true;
    await sender.send({ tenant: 'acme', type: 'registrant.created', data: { ...example, sessionId: 'ses_disable' } });
    await eventually('the first failure cycle', async () => (await deliveryState('registrant.created')).some((entry) => entry.status === 'failed'));
    const failedId = (await deliveryState('registrant.created')).find((entry) => entry.status === 'failed')?.id ?? '';
    // Two more failures (by hand) reach the threshold of 5 in a row.
    await sender.deliveries.retry(failedId);
    await eventually('the automatic disablement', async () => (await sender.endpoints.get(endpointId)).enabled === false);
    await page.reload();
    await button('Open CRM sync').click();
    const banner = portal().getByRole('region', { name: 'This endpoint was disabled automatically' });
    await banner.waitFor();
    expect(await banner.textContent()).toContain('too many failed deliveries in a row');
    await expectAccessible(page, 'automatic disablement banner');
    await screenshot(page, 'banner-1280');
    await page.setViewportSize(SCREENS_390);
    await expectNoHorizontalScroll(page, 'banner');
    await screenshot(page, 'banner-390');
    await page.setViewportSize(SCREENS_1280);

    receiver.failing = false;
    await banner.getByRole('button', { name: 'Re-enable endpoint' }).click();
    await banner.waitFor({ state: 'detached' });
    await expect.poll(() => focusedInPortal(page)).toBe('toggle-endpoint');
    // The waiting delivery resumes and arrives.
    await eventually('the waiting delivery to arrive', async () => receiver.received.some((entry) => entry.body.includes('ses_disable') && entry.status === 200));
  });

  it('edits the endpoint: none picked means every event', async () => {
    await button('Edit').click();
    await expect.poll(() => focusedInPortal(page)).toBe('field-url');
    expect(await portal().getByLabel('Rate limit (requests per second)').inputValue()).toBe('25');
    expect(await portal().getByLabel('Header 1 name').inputValue()).toBe('x-api-key');
    await portal().getByLabel('registrant.created').uncheck();
    await portal().getByLabel('session.started').uncheck();
    await portal().getByLabel('Name', { exact: true }).fill('CRM sync (all events)');
    await expectAccessible(page, 'edit form');
    await button('Save changes').click();
    await portal().getByRole('heading', { level: 2, name: 'CRM sync (all events)' }).waitFor();
    await portal().getByText('Receives: All events, including future ones').waitFor();
    expect(await sender.endpoints.get(endpointId)).toMatchObject({ name: 'CRM sync (all events)', events: [] });
  });

  it('reveals the secret behind an explicit action and regenerates it, stating the overlap', async () => {
    await button('Signing secret').click();
    const reveal = button('Reveal secret');
    await reveal.click();
    const field = portal().getByRole('textbox', { name: 'Signing secret' });
    await expect(field.inputValue()).resolves.toBe(receiver.secrets[0]);
    expect(await focusedInPortal(page)).toBe('reveal-secret');
    await expectAccessible(page, 'secret revealed');

    // Keyboard only: the dialog opens on the safe button, Tab stays inside, Escape closes it.
    await button('Regenerate secret').focus();
    await page.keyboard.press('Enter');
    const dialog = portal().getByRole('dialog', { name: 'Regenerate the signing secret?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('The old secret keeps signing for 24 h');
    expect(await focusedInPortal(page)).toBe('Cancel');
    await expectAccessible(page, 'regenerate dialog');
    await page.keyboard.press('Tab');
    expect(await focusedInPortal(page)).toBe('Regenerate');
    await page.keyboard.press('Tab');
    expect(await focusedInPortal(page)).toBe('Cancel');
    await page.keyboard.press('Shift+Tab');
    expect(await focusedInPortal(page)).toBe('Regenerate');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await focusedInPortal(page)).toBe('regenerate-secret');
    expect((await sender.endpoints.getSecrets(endpointId)).current).toBe(receiver.secrets[0]);

    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await portal().getByText(/New secret created\. The old secret keeps signing until \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}:\d{2}/).waitFor();
    const rotated = await field.inputValue();
    expect(rotated).not.toBe(receiver.secrets[0]);
    expect((await sender.endpoints.getSecrets(endpointId)).current).toBe(rotated);
    const previous = (await sender.endpoints.getSecrets(endpointId)).previous[0];
    expect(Math.abs((previous?.expiresAt.getTime() ?? 0) - Date.now() - 24 * 3_600_000)).toBeLessThan(60_000);
    // During the overlap a delivery carries both signatures: a receiver on the new secret alone verifies it.
    receiver.secrets = [rotated];
    await sender.send({ tenant: 'acme', type: 'event.created', data: broadcastEvents.definitions['event.created'].example });
    await eventually('a delivery verified with the new secret', async () => receiver.received.some((entry) => entry.body.includes('"event.created"') && entry.verified));
    await screenshot(page, 'secret-1280');
  });

  it('explains how to verify, with header names and code for Node and Python', async () => {
    await button('Verify webhooks').click();
    const panel = portal().getByRole('region', { name: 'Verify these webhooks' });
    await panel.waitFor();
    for (const text of ['X-Webhook-Id', 'X-Webhook-Timestamp', 'X-Webhook-Signature', "from '@hooks/express'", 'def verify_webhook', 'hmac.compare_digest']) {
      expect(await panel.textContent(), text).toContain(text);
    }
    await expectAccessible(page, 'verify panel');
    await screenshot(page, 'verify-1280');
  });

  it('lists the event catalog with descriptions, JSON Schema and examples', async () => {
    await button('Event catalog').click();
    await expect.poll(() => focusedInPortal(page)).toBe('catalog-heading');
    for (const name of broadcastEvents.names) {
      const entry = portal().getByRole('article', { name });
      await entry.getByText(broadcastEvents.definitions[name].description as string).waitFor();
      await entry.getByText('JSON Schema').click();
      const schema = JSON.parse((await entry.getByLabel(`JSON Schema: ${name}`).textContent()) ?? '') as { type: string; properties: object };
      expect(schema.type).toBe('object');
      expect(JSON.parse((await entry.getByLabel(`Example: ${name}`).textContent()) ?? '')).toEqual(broadcastEvents.definitions[name].example);
    }
    await expectAccessible(page, 'event catalog');
    await screenshot(page, 'catalog-1280');
  });

  it('draws a focus ring of at least 3:1 for keyboard users', async () => {
    await button('Endpoints').click();
    await button('Add endpoint').waitFor();
    await button('Endpoints').focus();
    await page.keyboard.press('Tab');
    const ring = await page.evaluate(() => {
      const active = document.querySelector('hooks-portal')?.shadowRoot?.activeElement as HTMLElement;
      const style = getComputedStyle(active);
      return { style: style.outlineStyle, width: Number.parseFloat(style.outlineWidth), color: style.outlineColor, background: getComputedStyle(document.querySelector('hooks-portal') as Element).backgroundColor };
    });
    expect(ring.style).toBe('solid');
    expect(ring.width).toBeGreaterThanOrEqual(2);
    expect(contrastRatio(ring.color, ring.background)).toBeGreaterThanOrEqual(3);
  });

  it('fits 390 px without sideways scrolling on every screen, and passes axe there', async () => {
    await page.setViewportSize(SCREENS_390);
    await page.reload();
    await portal().getByRole('heading', { level: 2, name: 'Endpoints' }).waitFor();
    await expectNoHorizontalScroll(page, 'list');
    await expectAccessible(page, 'list at 390 px');
    await screenshot(page, 'list-390');
    await button('Add endpoint').click();
    await button('Add header').click();
    await expectNoHorizontalScroll(page, 'form');
    await screenshot(page, 'form-390');
    await button('Cancel').click();
    await button(/^Open CRM sync/).click();
    const toggle = portal().locator('li.delivery').first().getByRole('button', { name: /^Attempts of/ });
    await toggle.click();
    await portal().getByRole('article', { name: /^Attempt 1/ }).first().waitFor();
    await expectNoHorizontalScroll(page, 'deliveries');
    await expectAccessible(page, 'deliveries at 390 px');
    await screenshot(page, 'deliveries-390');
    for (const [section, name] of [
      ['Send a test', 'test'],
      ['Signing secret', 'secret'],
      ['Verify webhooks', 'verify'],
    ] as const) {
      await button(section).click();
      await expectNoHorizontalScroll(page, name);
      await screenshot(page, `${name}-390`);
    }
    await button('Event catalog').click();
    await expectNoHorizontalScroll(page, 'catalog');
    await expectAccessible(page, 'catalog at 390 px');
    await screenshot(page, 'catalog-390');
    await page.setViewportSize(SCREENS_1280);
  });

  it('deletes an endpoint after a confirmation that opens on Cancel', async () => {
    await button('Endpoints').click();
    await button(/^Open CRM sync/).click();
    await button('Delete endpoint').click();
    const dialog = portal().getByRole('dialog', { name: 'Delete this endpoint?' });
    await dialog.waitFor();
    expect(await focusedInPortal(page)).toBe('Cancel');
    await expectAccessible(page, 'delete dialog');
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    expect(await focusedInPortal(page)).toBe('delete-endpoint');
    expect((await sender.endpoints.list({ tenant: 'acme' })).items).toHaveLength(1);
    await page.keyboard.press('Enter');
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await portal().getByText('No endpoint yet').waitFor();
    await expect.poll(() => focusedInPortal(page)).toBe('list-heading');
    expect((await sender.endpoints.list({ tenant: 'acme' })).items).toHaveLength(0);
  });

  it("shows another workspace only its own endpoints, and a read-only token no write action", async () => {
    await sender.endpoints.create({ tenant: 'viewer_co', url: receiver.url, name: 'Viewer hook' });
    await sender.endpoints.create({ tenant: 'acme', url: receiver.url, name: 'Acme again' });
    await page.goto(`${host.origin}/login/viewer_co`);
    await button('Open Viewer hook').waitFor();
    await expect(button('Open Acme again').count()).resolves.toBe(0);
    await portal().getByText('You can view these settings but not change them.').waitFor();
    await expect(button('Add endpoint').count()).resolves.toBe(0);
    await button('Open Viewer hook').click();
    for (const name of ['Edit', 'Disable endpoint', 'Delete endpoint']) await expect(button(name).count(), name).resolves.toBe(0);
    await button('Signing secret').click();
    await expect(button('Reveal secret').count()).resolves.toBe(0);
    await expectAccessible(page, 'read-only portal');
  });

  it('works through the React wrapper, with a replaced dictionary', async () => {
    await page.goto(`${host.origin}/login/acme`);
    await page.goto(`${host.origin}/settings/webhooks-react`);
    await portal().getByRole('heading', { level: 2, name: 'Points de terminaison' }).waitFor();
    await button('Ajouter un point de terminaison').waitFor();
    await button('Catalogue des événements').waitFor();
    await button('Open Acme again').waitFor();
    const accent = await page.evaluate(() => getComputedStyle(document.querySelector('hooks-portal') as Element).getPropertyValue('--hooks-portal-accent').trim());
    expect(accent).toBe('#6d28d9');
    await expectAccessible(page, 'react wrapper');
  });

  it('ran without script errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
