// The settings page (Settings → Integrations → Webhooks): plain DOM code against the sender's
// admin API (mounted at /api/admin) and the demo's own routes (/api/demo, /simulate).
// Everything that comes from the server is written with textContent, never as HTML.

const ADMIN = '/api/admin';
const REFRESH_MS = 1000;

/** Labels of the seed products' events, as their settings pages name them. */
const EVENT_LABELS = {
  'registrant.created': 'Registered',
  'registrant.attended': 'Attended',
  'broadcast.summary': 'Post-broadcast summary',
  'event.created': 'Event created',
  'event.published': 'Event published',
  'session.created': 'Session created',
  'session.started': 'Session started',
  'session.ended': 'Session ended',
};

const state = {
  demo: { receivers: [], secretOverlapMs: 86_400_000 },
  eventTypes: [],
  endpoints: [],
  selectedId: null,
  deliveries: [],
  attempts: new Map(),
  rendered: { endpoints: '', log: '', receivers: '' },
  refreshing: false,
};

const $ = (id) => document.getElementById(id);

/** Creates an element: h('td', { class: 'x' }, 'text', child). Strings become text nodes. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return element;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `The server answered ${status}.`);
    this.status = status;
    this.code = body?.error?.code ?? 'http_error';
  }
}

async function request(path, { method = 'GET', body } = {}) {
  const response = await fetch(path, {
    method,
    // A request that never ends would stall the refresh loop: give up and try again on the next tick.
    signal: AbortSignal.timeout(10_000),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const json = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

const admin = (path, options) => request(`${ADMIN}${path}`, options);
const eventLabel = (type) => EVENT_LABELS[type] ?? type;
const time = (value) => (value ? new Date(value).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '');

function relative(value) {
  if (!value) return '';
  const seconds = Math.round((new Date(value).getTime() - Date.now()) / 1000);
  if (Math.abs(seconds) < 1) return 'now';
  const amount = Math.abs(seconds);
  const text = amount < 90 ? `${amount} s` : amount < 5400 ? `${Math.round(amount / 60)} min` : `${Math.round(amount / 3600)} h`;
  return seconds > 0 ? `in ${text}` : `${text} ago`;
}

function badge(text, tone) {
  return h('span', { class: `badge ${tone}` }, text);
}

function statusBadge(status) {
  const tones = { succeeded: 'ok', failed: 'bad', pending: 'warn', in_flight: 'info' };
  const labels = { succeeded: 'Succeeded', failed: 'Failed', pending: 'Pending', in_flight: 'Sending' };
  return badge(labels[status] ?? status, tones[status] ?? 'info');
}

function eventChip(type) {
  return h('span', { class: 'chip', title: type }, eventLabel(type));
}

// ---- add endpoint ------------------------------------------------------------------------

function openForm() {
  $('add-endpoint').hidden = false;
  $('add-endpoint-button').setAttribute('aria-expanded', 'true');
  $('endpoint-url').focus();
}

function closeForm() {
  $('endpoint-form').reset();
  $('endpoint-form-error').hidden = true;
  $('add-endpoint').hidden = true;
  $('add-endpoint-button').setAttribute('aria-expanded', 'false');
}

function renderEventCheckboxes() {
  const grid = $('event-checkboxes');
  grid.replaceChildren(
    ...state.eventTypes.map((type) =>
      h(
        'label',
        { class: 'check', title: type.description ?? '' },
        h('input', { type: 'checkbox', name: 'events', value: type.name }),
        h('span', { class: 'check-text' }, h('span', {}, eventLabel(type.name)), h('code', {}, type.name)),
      ),
    ),
  );
}

function renderReceiverPicks() {
  const picks = $('receiver-picks');
  picks.replaceChildren(
    h('span', { class: 'hint' }, 'Demo receivers:'),
    ...state.demo.receivers.map((receiver) =>
      h(
        'button',
        {
          type: 'button',
          class: 'pick',
          onclick: () => {
            $('endpoint-url').value = receiver.webhookUrl;
            if ($('endpoint-name').value === '') $('endpoint-name').value = `${receiver.label} receiver`;
          },
        },
        `Use ${receiver.label}`,
      ),
    ),
  );
}

async function saveEndpoint(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const url = $('endpoint-url').value.trim();
  const name = $('endpoint-name').value.trim();
  const events = [...form.querySelectorAll('input[name="events"]:checked')].map((input) => input.value);
  const error = $('endpoint-form-error');
  if (url === '') {
    error.textContent = 'Enter the URL that should receive the events.';
    error.hidden = false;
    $('endpoint-url').focus();
    return;
  }
  // Remember which demo receiver an endpoint targets, so a restarted demo can point it at the receiver's new port.
  const receiver = state.demo.receivers.find((entry) => entry.webhookUrl === url);
  try {
    const created = await admin('/endpoints', {
      method: 'POST',
      body: { url, name: name === '' ? null : name, events, ...(receiver ? { metadata: { demoReceiver: receiver.name } } : {}) },
    });
    closeForm();
    showSecret(created.secret, 'Copy this secret now and add it to your receiver: it is shown only once.');
    state.selectedId = created.endpoint.id;
    await refresh();
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
  }
}

// ---- the secret, shown once ----------------------------------------------------------------

function showSecret(secret, message) {
  $('secret-message').textContent = message;
  $('secret-value').value = secret;
  $('copy-status').textContent = '';
  $('secret-panel').hidden = false;
  $('secret-value').focus();
  $('secret-value').select();
}

async function copySecret() {
  const input = $('secret-value');
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    // Without clipboard permission (some embedded browsers), the selected text can still be copied.
    input.select();
    document.execCommand('copy');
  }
  $('copy-status').textContent = 'Copied to the clipboard.';
}

function dismissSecret() {
  // The secret leaves the page: the API will not show it again.
  $('secret-value').value = '';
  $('secret-panel').hidden = true;
}

// ---- endpoint list -------------------------------------------------------------------------

function endpointStatus(endpoint) {
  if (!endpoint.enabled) return badge(endpoint.disabledReason ? `Disabled (${endpoint.disabledReason.replaceAll('_', ' ')})` : 'Disabled', 'muted');
  if (endpoint.consecutiveFailures > 0) return badge(`Failing (${endpoint.consecutiveFailures} in a row)`, 'warn');
  return badge('Enabled', 'ok');
}

function renderEndpoints() {
  const key = JSON.stringify([state.endpoints, state.selectedId]);
  if (key === state.rendered.endpoints) return;
  state.rendered.endpoints = key;
  $('endpoints-empty').hidden = state.endpoints.length > 0;
  $('endpoints-table').hidden = state.endpoints.length === 0;
  $('endpoints-body').replaceChildren(
    ...state.endpoints.map((endpoint) => {
      const label = endpoint.name ?? endpoint.url;
      return h(
        'tr',
        { class: endpoint.id === state.selectedId ? 'selected' : '' },
        h('td', {}, h('div', { class: 'strong' }, label), h('div', { class: 'mono muted small' }, endpoint.url)),
        h('td', {}, endpoint.events.length === 0 ? h('span', { class: 'muted' }, 'All events') : endpoint.events.map(eventChip)),
        h('td', {}, endpointStatus(endpoint)),
        h(
          'td',
          { class: 'right' },
          h(
            'button',
            {
              type: 'button',
              'aria-label': `Open ${label}`,
              onclick: () => {
                state.selectedId = endpoint.id;
                state.rendered.log = '';
                refresh().then(() => $('endpoint-detail').scrollIntoView({ behavior: 'smooth', block: 'start' }));
              },
            },
            endpoint.id === state.selectedId ? 'Opened' : 'Open',
          ),
        ),
      );
    }),
  );
}

// ---- endpoint detail -----------------------------------------------------------------------

function selectedEndpoint() {
  return state.endpoints.find((endpoint) => endpoint.id === state.selectedId);
}

function renderDetail() {
  const endpoint = selectedEndpoint();
  $('endpoint-detail').hidden = !endpoint;
  if (!endpoint) return;
  $('detail-title').textContent = endpoint.name ?? 'Endpoint';
  $('detail-url').textContent = endpoint.url;
  const events = endpoint.events.length === 0 ? 'all events' : endpoint.events.map(eventLabel).join(', ');
  $('detail-status').replaceChildren(endpointStatus(endpoint), h('span', { class: 'muted' }, ` · ${events}`));
  $('toggle-enabled').textContent = endpoint.enabled ? 'Disable endpoint' : 'Enable endpoint';
  renderLog();
}

function attemptRows(deliveryId) {
  const attempts = state.attempts.get(deliveryId)?.items ?? [];
  if (attempts.length === 0) return h('p', { class: 'muted small' }, 'No attempt yet.');
  return h(
    'table',
    { class: 'table attempts', 'aria-label': 'Attempts' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Attempt'), h('th', { scope: 'col' }, 'Sent'), h('th', { scope: 'col' }, 'Result'), h('th', { scope: 'col' }, 'Duration'), h('th', { scope: 'col' }, 'Response'))),
    h(
      'tbody',
      {},
      [...attempts]
        .sort((a, b) => a.number - b.number)
        .map((attempt) =>
          h(
            'tr',
            { class: 'attempt' },
            h('td', {}, `#${attempt.number}`),
            h('td', { class: 'small' }, time(attempt.startedAt)),
            h('td', {}, attempt.success ? badge(String(attempt.statusCode), 'ok') : badge(attempt.statusCode === null ? (attempt.errorCode ?? 'error') : String(attempt.statusCode), 'bad')),
            h('td', { class: 'small' }, `${Math.round(attempt.durationMs)} ms`),
            h('td', {}, h('code', { class: 'excerpt', title: attempt.responseBody ?? '' }, (attempt.responseBody ?? attempt.errorCode ?? '').slice(0, 160))),
          ),
        ),
    ),
  );
}

function renderLog() {
  const key = JSON.stringify([state.selectedId, state.deliveries, [...state.attempts.entries()].map(([id, value]) => [id, value.key])]);
  if (key === state.rendered.log) return;
  state.rendered.log = key;
  $('log-empty').hidden = state.deliveries.length > 0;
  $('delivery-log').replaceChildren(
    ...state.deliveries.map((delivery) =>
      h(
        'article',
        { class: `delivery ${delivery.status}`, 'aria-label': `${eventLabel(delivery.type)} delivery ${delivery.id}`, 'data-delivery-id': delivery.id },
        h(
          'header',
          {},
          h('div', {}, eventChip(delivery.type), ' ', statusBadge(delivery.status), h('span', { class: 'muted small' }, ` ${delivery.attempts} attempt${delivery.attempts === 1 ? '' : 's'}`)),
          h('div', { class: 'mono muted small' }, delivery.messageId, ' · ', time(delivery.createdAt)),
          delivery.status === 'pending' && delivery.nextAttemptAt && delivery.attempts > 0
            ? h('div', { class: 'small next-retry' }, `Next retry ${relative(delivery.nextAttemptAt)} (${time(delivery.nextAttemptAt)})`)
            : null,
          delivery.status === 'failed' || (delivery.status === 'pending' && delivery.attempts > 0)
            ? h('button', { type: 'button', class: 'small-button', 'aria-label': `Retry delivery ${delivery.id}`, onclick: () => retryDelivery(delivery.id) }, delivery.status === 'failed' ? 'Retry' : 'Retry now')
            : null,
        ),
        attemptRows(delivery.id),
      ),
    ),
  );
}

async function retryDelivery(id) {
  try {
    await admin(`/deliveries/${encodeURIComponent(id)}/retry`, { method: 'POST' });
  } catch (failure) {
    $('test-status').textContent = failure.message;
  }
  await refresh();
}

async function toggleEnabled() {
  const endpoint = selectedEndpoint();
  if (!endpoint) return;
  await admin(`/endpoints/${encodeURIComponent(endpoint.id)}/${endpoint.enabled ? 'disable' : 'enable'}`, { method: 'POST', body: endpoint.enabled ? { reason: 'disabled in settings' } : {} });
  await refresh();
}

function regenerateSecret() {
  const hours = state.demo.secretOverlapMs / 3_600_000;
  $('overlap-text').textContent = hours >= 1 ? `${Math.round(hours)} hour${Math.round(hours) === 1 ? '' : 's'}` : `${Math.round(state.demo.secretOverlapMs / 60_000)} minutes`;
  // Escape closes the dialog without touching returnValue: clear the last answer first.
  $('regenerate-dialog').returnValue = '';
  $('regenerate-dialog').showModal();
}

async function confirmRegenerate() {
  const endpoint = selectedEndpoint();
  if ($('regenerate-dialog').returnValue !== 'confirm' || !endpoint) return;
  const { secret } = await admin(`/endpoints/${encodeURIComponent(endpoint.id)}/rotate-secret`, { method: 'POST', body: {} });
  showSecret(secret, `New signing secret for ${endpoint.name ?? endpoint.url}. The previous one keeps signing until ${$('overlap-text').textContent} from now: update your receiver before then.`);
}

async function confirmDelete() {
  const endpoint = selectedEndpoint();
  if ($('delete-dialog').returnValue !== 'confirm' || !endpoint) return;
  await admin(`/endpoints/${encodeURIComponent(endpoint.id)}`, { method: 'DELETE' });
  state.selectedId = null;
  await refresh();
}

async function sendTest(event) {
  event.preventDefault();
  const endpoint = selectedEndpoint();
  if (!endpoint) return;
  const type = $('test-type').value;
  try {
    await admin(`/endpoints/${encodeURIComponent(endpoint.id)}/test`, { method: 'POST', body: { type } });
    $('test-status').textContent = `Test ${eventLabel(type)} event queued.`;
  } catch (failure) {
    $('test-status').textContent = failure.message;
  }
  await refresh();
}

// ---- simulator and receivers ----------------------------------------------------------------

function renderSimulator() {
  const buttons = state.eventTypes.map((type) =>
    h('button', { type: 'button', onclick: () => simulate({ type: type.name }) }, h('span', {}, eventLabel(type.name)), h('code', {}, type.name)),
  );
  buttons.push(h('button', { type: 'button', class: 'primary', onclick: () => simulate({ scenario: 'broadcast' }) }, 'Run a whole broadcast'));
  $('simulate-buttons').replaceChildren(...buttons);
}

async function simulate(body) {
  try {
    const result = await request('/simulate', { method: 'POST', body });
    const deliveries = result.sent.reduce((total, entry) => total + entry.deliveryCount, 0);
    $('simulate-status').textContent = `Sent ${result.sent.length} event${result.sent.length === 1 ? '' : 's'} (${deliveries} deliver${deliveries === 1 ? 'y' : 'ies'}).`;
  } catch (failure) {
    $('simulate-status').textContent = failure.message;
  }
  await refresh();
}

async function setFailing(name, failing) {
  await request(`/api/demo/receivers/${encodeURIComponent(name)}/failing`, { method: 'POST', body: { failing } });
  await refresh();
}

function renderReceivers(receivers) {
  const key = JSON.stringify(receivers);
  if (key === state.rendered.receivers) return;
  state.rendered.receivers = key;
  $('receivers').replaceChildren(
    ...receivers.map((receiver) =>
      h(
        'article',
        { class: `receiver${receiver.failing ? ' failing' : ''}`, 'aria-label': `${receiver.label} receiver` },
        h('header', {}, h('h3', {}, receiver.label), receiver.failing ? badge('Answering 500', 'bad') : badge('Verifying', 'ok')),
        h('p', { class: 'mono small' }, receiver.webhookUrl),
        receiver.note ? h('p', { class: 'hint' }, receiver.note) : null,
        h(
          'label',
          { class: 'switch' },
          h('input', { type: 'checkbox', checked: receiver.failing, onchange: (event) => setFailing(receiver.name, event.currentTarget.checked) }),
          ` Make ${receiver.label} answer 500`,
        ),
        h('p', { class: 'small' }, h('strong', {}, String(receiver.receivedCount)), ' received · ', h('a', { href: receiver.receivedUrl, target: '_blank', rel: 'noreferrer' }, 'JSON')),
        receiver.error ? h('p', { class: 'form-error small' }, receiver.error) : null,
        h(
          'ul',
          { class: 'received', 'aria-label': `Received by ${receiver.label}` },
          receiver.received.slice(0, 5).map((entry) =>
            h(
              'li',
              {},
              entry.outcome === 'handled' ? badge('200', 'ok') : badge('500', 'bad'),
              ' ',
              eventChip(entry.type),
              h('span', { class: 'muted small' }, ` attempt ${entry.attempt ?? '?'} · ${entry.signatures} signature${entry.signatures === 1 ? '' : 's'} · ${time(entry.receivedAt)}`),
            ),
          ),
        ),
      ),
    ),
  );
}

// ---- refresh loop --------------------------------------------------------------------------

async function loadAttempts() {
  const wanted = new Map();
  for (const delivery of state.deliveries) {
    // Attempts change only when the delivery's count or status does.
    const key = `${delivery.attempts}:${delivery.status}`;
    wanted.set(delivery.id, key);
    if (state.attempts.get(delivery.id)?.key === key) continue;
    const page = await admin(`/deliveries/${encodeURIComponent(delivery.id)}/attempts?limit=50`);
    state.attempts.set(delivery.id, { key, items: page.items });
  }
  for (const id of [...state.attempts.keys()]) if (!wanted.has(id)) state.attempts.delete(id);
}

async function refresh() {
  if (state.refreshing) return;
  state.refreshing = true;
  try {
    const [endpoints, receivers] = await Promise.all([admin('/endpoints?limit=100'), request('/api/demo/receivers')]);
    state.endpoints = endpoints.items;
    if (state.selectedId && !selectedEndpoint()) state.selectedId = null;
    if (state.selectedId) {
      try {
        const page = await admin(`/deliveries?endpointId=${encodeURIComponent(state.selectedId)}&limit=15`);
        state.deliveries = page.items;
        await loadAttempts();
      } catch (failure) {
        // Deleted meanwhile (in another tab, or between the two requests): close its panel.
        if (!(failure instanceof ApiError && failure.status === 404)) throw failure;
        state.selectedId = null;
        state.deliveries = [];
      }
    } else {
      state.deliveries = [];
    }
    renderEndpoints();
    renderDetail();
    renderReceivers(receivers.items);
  } catch (failure) {
    // A slow answer is retried on the next tick; anything else is a bug worth seeing.
    if (failure?.name === 'TimeoutError') console.warn('Refresh timed out; retrying.');
    else console.error(failure);
  } finally {
    state.refreshing = false;
  }
}

async function start() {
  const [demo, eventTypes] = await Promise.all([request('/api/demo'), admin('/event-types')]);
  state.demo = demo;
  state.eventTypes = eventTypes.items;
  renderEventCheckboxes();
  renderReceiverPicks();
  renderSimulator();
  $('test-type').replaceChildren(...state.eventTypes.map((type) => h('option', { value: type.name }, `${eventLabel(type.name)} (${type.name})`)));

  $('add-endpoint-button').addEventListener('click', openForm);
  $('cancel-endpoint').addEventListener('click', closeForm);
  $('endpoint-form').addEventListener('submit', saveEndpoint);
  $('copy-secret').addEventListener('click', copySecret);
  $('dismiss-secret').addEventListener('click', dismissSecret);
  $('toggle-enabled').addEventListener('click', toggleEnabled);
  $('regenerate-secret').addEventListener('click', regenerateSecret);
  $('regenerate-dialog').addEventListener('close', () => confirmRegenerate().then(refresh));
  $('delete-endpoint').addEventListener('click', () => {
    $('delete-dialog').returnValue = '';
    $('delete-dialog').showModal();
  });
  $('delete-dialog').addEventListener('close', () => confirmDelete().then(refresh));
  $('test-form').addEventListener('submit', sendTest);

  await refresh();
  setInterval(refresh, REFRESH_MS);
}

start().catch((error) => {
  document.body.prepend(h('p', { class: 'form-error', role: 'alert' }, `The settings page could not load: ${error.message}`));
});
