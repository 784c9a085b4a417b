// The demo's own panels around <hooks-portal> (which is the whole webhook settings page): the
// broadcast simulator and the five receivers, from the demo's routes (/api/demo, /simulate).
// Everything that comes from the server is written with textContent, never as HTML.

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
  eventTypes: [],
  rendered: { receivers: '' },
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

const eventLabel = (type) => EVENT_LABELS[type] ?? type;
const time = (value) => (value ? new Date(value).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '');


function badge(text, tone) {
  return h('span', { class: `badge ${tone}` }, text);
}


function eventChip(type) {
  return h('span', { class: 'chip', title: type }, eventLabel(type));
}

// ---- simulator and receivers ----------------------------------------------------------------

function renderSimulator() {
  const buttons = state.eventTypes.map((type) => h('button', { type: 'button', onclick: () => simulate({ type }) }, h('span', {}, eventLabel(type)), h('code', {}, type)));
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
  // The panel is rebuilt when something changed: put focus back on the control that had it.
  const focused = document.activeElement?.dataset?.key;
  $('receivers').replaceChildren(
    ...receivers.map((receiver) =>
      h(
        'article',
        { class: `receiver${receiver.failing ? ' failing' : ''}`, 'aria-label': `${receiver.label} receiver` },
        h('header', {}, h('h3', {}, receiver.label), receiver.failing ? badge('Answering 500', 'bad') : badge('Verifying', 'ok')),
        h('p', { class: 'mono small' }, receiver.webhookUrl),
        h('button', { type: 'button', class: 'small', 'data-key': `copy-${receiver.name}`, onclick: (event) => copyUrl(event.currentTarget, receiver.webhookUrl) }, `Copy ${receiver.label} URL`),
        receiver.note ? h('p', { class: 'hint' }, receiver.note) : null,
        h(
          'label',
          { class: 'switch' },
          h('input', { type: 'checkbox', 'data-key': `failing-${receiver.name}`, checked: receiver.failing, onchange: (event) => setFailing(receiver.name, event.currentTarget.checked) }),
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
  if (focused) document.querySelector(`[data-key="${focused}"]`)?.focus();
}

async function copyUrl(button, url) {
  // The portal's URL field takes it from here; the label says it worked, focus stays on the button.
  try {
    await navigator.clipboard.writeText(url);
    button.textContent = 'Copied';
  } catch {
    button.textContent = url;
  }
}

// ---- refresh loop --------------------------------------------------------------------------

async function refresh() {
  if (state.refreshing) return;
  state.refreshing = true;
  try {
    renderReceivers((await request('/api/demo/receivers')).items);
  } catch (failure) {
    // A slow answer is retried on the next tick; anything else is a bug worth seeing.
    if (failure?.name === 'TimeoutError') console.warn('Refresh timed out; retrying.');
    else console.error(failure);
  } finally {
    state.refreshing = false;
  }
}

async function start() {
  const demo = await request('/api/demo');
  state.eventTypes = demo.eventTypes;
  // The regenerate dialog states the overlap this demo's sender is configured with.
  const portal = document.querySelector('hooks-portal');
  if (portal) portal.secretOverlapHours = demo.secretOverlapMs / 3_600_000;
  renderSimulator();
  await refresh();
  setInterval(refresh, REFRESH_MS);
}

start().catch((error) => {
  document.body.prepend(h('p', { class: 'form-error', role: 'alert' }, `The page could not load: ${error.message}`));
});
