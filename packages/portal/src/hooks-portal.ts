import { LitElement, type PropertyValues, type TemplateResult, html, nothing } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { PortalApi, PortalApiError, tokenFromUrl } from './api-client';
import { formatDate, fromLocalInput, prettyBody, prettyJson, toLocalInput } from './format';
import { type PortalMessages, englishMessages } from './messages';
import { PROFILE_HEADER_NAMES, nodeSnippet, pythonSnippet } from './snippets';
import { portalStyles } from './styles';
import type { DeliveryStatus, PortalAttempt, PortalDelivery, PortalEndpoint, PortalEventType, PortalPage, PortalSession } from './types';

type View = 'list' | 'create' | 'edit' | 'endpoint' | 'catalog';
type Section = 'deliveries' | 'test' | 'secret' | 'verify';

interface EndpointForm {
  url: string;
  name: string;
  description: string;
  events: string[];
  headers: Array<{ key: number; name: string; value: string }>;
  rateLimit: string;
  fifo: boolean;
  profile: 'x-webhook' | 'standard';
}

interface DeliveryFilters {
  status: '' | DeliveryStatus;
  type: string;
  since: string;
  until: string;
}

/** Detail of the `hooks-portal-error` event. */
export interface PortalErrorDetail {
  /** The admin API's error code, `network_error` or `token_unavailable`. */
  code: string;
  /** HTTP status (0 without an answer). */
  status: number;
  /** The message shown. */
  message: string;
}

const STATUS_CLASS: Record<DeliveryStatus, string> = { succeeded: 'ok', failed: 'bad', pending: 'wait', in_flight: 'wait' };
const AUTO_DISABLE_REASONS = new Set(['consecutive_failures', 'gone']);
const TEST_POLL_MS = 1_000;
const TEST_POLL_LIMIT = 60;
let headerKeys = 0;

/** What `document.querySelector('hooks-portal')` gives: the element's attributes as properties, and `reload()`. */
export interface HooksPortalElement extends HTMLElement {
  /** Base URL of the admin API (`createAdminHandler`'s `basePath`), e.g. `/api/webhooks`; attribute `api-base`. */
  apiBase: string;
  /** A portal token minted by `sender.createPortalToken`; it is not renewed. Attribute `token`. */
  token: string | undefined;
  /** A host route answering `{ token, expiresAt }` (cookies included); asked again when the token expires. Attribute `token-url`. */
  tokenUrl: string | undefined;
  /** BCP 47 locale for dates; attribute `locale`. @default the browser's */
  locale: string | undefined;
  /** The overlap the regenerate dialog states and asks the API for, in hours; attribute `secret-overlap-hours`. @default 24 */
  secretOverlapHours: number;
  /** Deliveries and endpoints per page, 1 to 100; attribute `page-size`. @default 20 */
  pageSize: number;
  /** Replacement text: any subset of {@link PortalMessages}; the rest stays English. */
  messages: Partial<PortalMessages> | undefined;
  /** Reloads everything from the admin API. */
  reload(): Promise<void>;
}

/**
 * @internal The implementation of {@link HooksPortalElement} (Lit); `import '@hooks/portal'` registers it.
 *
 * `<hooks-portal>`: the webhooks settings page of a SaaS, for one tenant, over the admin API of
 * `@hooks/sender`. Give it `api-base` and either `token-url` (a host route answering
 * `{ token, expiresAt }`), a `token`, or neither when the host's cookies authorise the calls.
 *
 * Fires `hooks-portal-error` (detail: {@link PortalErrorDetail}) when a call fails. Parts for
 * `::part()`: `portal`, `tabs`, `tab`, `card`, `table`, `input`, `button` (with `button-primary`
 * and `button-danger`), `banner`, `dialog`.
 */
export class HooksPortal extends LitElement implements HooksPortalElement {
  /** @internal The element's shadow styles. */
  static override styles = portalStyles;

  /** @internal Lit's reactive properties and their attributes. */
  static override properties = {
    apiBase: { type: String, attribute: 'api-base' },
    token: { type: String },
    tokenUrl: { type: String, attribute: 'token-url' },
    locale: { type: String },
    secretOverlapHours: { type: Number, attribute: 'secret-overlap-hours' },
    pageSize: { type: Number, attribute: 'page-size' },
    messages: { attribute: false },
  };

  /** Base URL of the admin API (`createAdminHandler`'s `basePath`), e.g. `/api/webhooks`. */
  declare apiBase: string;
  /** A portal token minted by `sender.createPortalToken`; it is not renewed. */
  declare token: string | undefined;
  /** A host route answering `{ token, expiresAt }` (cookies included); asked again when the token expires. */
  declare tokenUrl: string | undefined;
  /** BCP 47 locale for dates. @default the browser's */
  declare locale: string | undefined;
  /** The overlap the regenerate dialog states and asks the API for, in hours. @default 24 */
  declare secretOverlapHours: number;
  /** Deliveries and endpoints per page, 1 to 100. @default 20 */
  declare pageSize: number;
  /** Replacement text: any subset of {@link PortalMessages}; the rest stays English. */
  declare messages: Partial<PortalMessages> | undefined;

  #api: PortalApi | undefined;
  #text: PortalMessages = englishMessages;
  #loading = true;
  #fatal: string | null = null;
  #session: PortalSession | null = null;
  #catalog: PortalEventType[] = [];
  #endpoints: PortalEndpoint[] = [];
  #endpointsCursor: string | null = null;
  #view: View = 'list';
  #section: Section = 'deliveries';
  #endpoint: PortalEndpoint | null = null;
  #notice: { text: string; error: boolean } | null = null;
  #busy = new Set<string>();
  #focusTarget: string | null = null;
  #returnFocus: HTMLElement | null = null;

  #form: EndpointForm = emptyForm();
  #formErrors: Record<string, string> = {};
  #formError: string | null = null;

  #oneTimeSecret: string | null = null;
  #revealed: { current: string; previous: Array<{ expiresAt: string }> } | null = null;
  #secretNotice: string | null = null;
  #copied = false;

  #deliveries: PortalDelivery[] = [];
  #deliveryCursors: Array<string | undefined> = [undefined];
  #deliveryNext: string | null = null;
  #filters: DeliveryFilters = { status: '', type: '', since: '', until: '' };
  #attempts = new Map<string, PortalAttempt[] | 'loading'>();
  #recoverSince = '';
  #recoverError: string | null = null;

  #testType = '';
  #testResult: string | null = null;
  #testTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    this.apiBase = '';
    this.secretOverlapHours = 24;
    this.pageSize = 20;
  }

  get #limit(): number {
    return Number.isInteger(this.pageSize) && this.pageSize >= 1 && this.pageSize <= 100 ? this.pageSize : 20;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.#testTimer);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('messages')) this.#text = { ...englishMessages, ...(this.messages ?? {}) };
    if (this.hasUpdated && (changed.has('apiBase') || changed.has('token') || changed.has('tokenUrl'))) {
      this.#api = undefined;
      void this.#load();
    }
  }

  protected override updated(): void {
    if (this.#focusTarget === null) return;
    const target = this.renderRoot.querySelector<HTMLElement>(this.#focusTarget);
    this.#focusTarget = null;
    target?.focus();
  }

  /** Reloads everything from the admin API. */
  async reload(): Promise<void> {
    await this.#load();
  }

  // ---- data -----------------------------------------------------------------------------

  #client(): PortalApi {
    if (this.#api) return this.#api;
    const fixed = this.token;
    const fromUrl = this.tokenUrl ? tokenFromUrl(this.tokenUrl) : undefined;
    this.#api = new PortalApi({
      apiBase: this.apiBase,
      token: async (renew) => {
        if (fixed) return fixed;
        return fromUrl ? fromUrl(renew) : null;
      },
    });
    return this.#api;
  }

  async #load(): Promise<void> {
    this.#loading = true;
    this.#fatal = null;
    this.requestUpdate();
    try {
      const api = this.#client();
      const [session, catalog, endpoints] = await Promise.all([
        api.request<PortalSession>('GET', '/session'),
        api.request<{ items: PortalEventType[] }>('GET', '/event-types'),
        api.request<PortalPage<PortalEndpoint>>('GET', `/endpoints?limit=${this.#limit}`),
      ]);
      this.#session = session;
      this.#catalog = catalog.items;
      this.#endpoints = endpoints.items;
      this.#endpointsCursor = endpoints.nextCursor;
      if (this.#endpoint) this.#endpoint = this.#endpoints.find((endpoint) => endpoint.id === this.#endpoint?.id) ?? null;
    } catch (error) {
      this.#fatal = this.#describe(error, true);
    } finally {
      this.#loading = false;
      this.requestUpdate();
    }
  }

  get #canWrite(): boolean {
    return this.#session?.scopes.includes('write') === true;
  }

  #describe(error: unknown, session = false): string {
    const problem = error instanceof PortalApiError ? error : new PortalApiError(0, 'network_error', '');
    this.dispatchEvent(new CustomEvent<PortalErrorDetail>('hooks-portal-error', { detail: { code: problem.code, status: problem.status, message: problem.message }, bubbles: true, composed: true }));
    if (problem.status === 401 || problem.code === 'token_unavailable') return this.#text.sessionError;
    if (session && problem.status === 0) return this.#text.genericError;
    return problem.message || this.#text.genericError;
  }

  /** Runs an action once at a time per key, keeping the acted-on button focusable (aria-disabled, never disabled). */
  async #run(key: string, action: () => Promise<void>): Promise<void> {
    if (this.#busy.has(key)) return;
    this.#busy.add(key);
    this.requestUpdate();
    try {
      await action();
    } catch (error) {
      this.#notice = { text: this.#describe(error), error: true };
    } finally {
      this.#busy.delete(key);
      this.requestUpdate();
    }
  }

  #say(text: string, error = false): void {
    this.#notice = { text, error };
  }

  async #refreshEndpoint(): Promise<void> {
    if (!this.#endpoint) return;
    const fresh = await this.#client().request<PortalEndpoint>('GET', `/endpoints/${encodeURIComponent(this.#endpoint.id)}`);
    this.#endpoint = fresh;
    this.#endpoints = this.#endpoints.map((endpoint) => (endpoint.id === fresh.id ? fresh : endpoint));
  }

  async #loadDeliveries(cursor?: string): Promise<void> {
    if (!this.#endpoint) return;
    const query = new URLSearchParams({ endpointId: this.#endpoint.id, limit: String(this.#limit) });
    if (cursor) query.set('cursor', cursor);
    if (this.#filters.status) query.set('status', this.#filters.status);
    if (this.#filters.type) query.set('type', this.#filters.type);
    const since = fromLocalInput(this.#filters.since);
    const until = fromLocalInput(this.#filters.until);
    if (since) query.set('since', since);
    if (until) query.set('until', until);
    const page = await this.#client().request<PortalPage<PortalDelivery>>('GET', `/deliveries?${query}`);
    this.#deliveries = page.items;
    this.#deliveryNext = page.nextCursor;
    // Attempts of deliveries still open are reloaded, so a retry shows up where it was asked for.
    await Promise.all(
      [...this.#attempts.keys()].filter((id) => page.items.some((delivery) => delivery.id === id)).map(async (id) => this.#attempts.set(id, await this.#loadAttempts(id))),
    );
  }

  async #loadAttempts(deliveryId: string): Promise<PortalAttempt[]> {
    const page = await this.#client().request<PortalPage<PortalAttempt>>('GET', `/deliveries/${encodeURIComponent(deliveryId)}/attempts?limit=100`);
    // Oldest first reads like a story: attempt 1, 2, 3…
    return [...page.items].sort((a, b) => a.number - b.number);
  }

  // ---- navigation -----------------------------------------------------------------------

  #go(view: View, focus: string | null): void {
    this.#view = view;
    this.#notice = null;
    this.#focusTarget = focus;
    this.requestUpdate();
  }

  async #openEndpoint(endpoint: PortalEndpoint, section: Section = 'deliveries'): Promise<void> {
    this.#endpoint = endpoint;
    this.#section = section;
    this.#revealed = null;
    this.#secretNotice = null;
    this.#attempts.clear();
    this.#deliveryCursors = [undefined];
    this.#filters = { status: '', type: '', since: '', until: '' };
    this.#testResult = null;
    this.#testType = endpoint.events.find((name) => this.#catalog.some((event) => event.name === name)) ?? this.#catalog[0]?.name ?? '';
    this.#recoverSince = toLocalInput(Date.now() - 24 * 3_600_000);
    this.#go('endpoint', '#endpoint-heading');
    await this.#run('deliveries', () => this.#loadDeliveries());
  }

  #backToList(focusId: string | null): void {
    clearTimeout(this.#testTimer);
    this.#oneTimeSecret = null;
    this.#go('list', focusId ? `[data-open="${cssEscape(focusId)}"]` : '#list-heading');
    void this.#run('endpoints', async () => {
      const page = await this.#client().request<PortalPage<PortalEndpoint>>('GET', `/endpoints?limit=${this.#limit}`);
      this.#endpoints = page.items;
      this.#endpointsCursor = page.nextCursor;
    });
  }

  // ---- render ---------------------------------------------------------------------------

  protected override render(): TemplateResult {
    const text = this.#text;
    return html`
      <div class="portal" part="portal">
        <nav aria-label=${text.navigation}>
          <ul class="tabs" part="tabs">
            <li>
              <button type="button" class="tab" part="tab" aria-current=${this.#view !== 'catalog' ? 'page' : 'false'} @click=${() => this.#backToList(null)}>${text.endpointsTab}</button>
            </li>
            <li>
              <button type="button" class="tab" part="tab" aria-current=${this.#view === 'catalog' ? 'page' : 'false'} @click=${() => this.#go('catalog', '#catalog-heading')}>${text.catalogTab}</button>
            </li>
          </ul>
        </nav>
        <p role="status" class=${this.#notice ? `notice${this.#notice.error ? ' error-notice' : ''}` : 'visually-hidden'}>${this.#notice?.text ?? ''}</p>
        ${this.#loading && !this.#session ? html`<p>${text.loading}</p>` : nothing}
        ${this.#fatal
          ? html`<div class="card" part="card" role="alert">
              <p>${this.#fatal}</p>
              <button type="button" part="button" @click=${() => this.#load()}>${text.tryAgain}</button>
            </div>`
          : nothing}
        ${this.#session && !this.#fatal ? this.#renderView() : nothing}
      </div>
    `;
  }

  #renderView(): TemplateResult {
    switch (this.#view) {
      case 'catalog':
        return this.#renderCatalog();
      case 'create':
      case 'edit':
        return this.#renderForm();
      case 'endpoint':
        return this.#endpoint ? this.#renderEndpoint(this.#endpoint) : this.#renderList();
      default:
        return this.#renderList();
    }
  }

  #button(label: string, key: string, onClick: () => void, options: { kind?: 'primary' | 'danger' | 'link'; id?: string; attributes?: Record<string, string> } = {}): TemplateResult {
    const busy = this.#busy.has(key);
    const part = options.kind && options.kind !== 'link' ? `button button-${options.kind}` : 'button';
    return html`<button
      type="button"
      part=${part}
      class=${options.kind ?? ''}
      id=${options.id ?? nothing}
      aria-disabled=${busy ? 'true' : 'false'}
      data-action=${key}
      @click=${onClick}
    >
      ${label}
    </button>`;
  }

  #statusBadge(endpoint: PortalEndpoint): TemplateResult {
    const text = this.#text;
    if (!endpoint.enabled) {
      const reason = text.disabledReasons[endpoint.disabledReason ?? ''] ?? endpoint.disabledReason ?? text.disabledReasons.manual ?? '';
      return html`<span class="badge off">${text.statusDisabled(reason)}</span>`;
    }
    if (endpoint.consecutiveFailures > 0) return html`<span class="badge bad">${text.statusFailing(endpoint.consecutiveFailures)}</span>`;
    return html`<span class="badge ok">${text.statusEnabled}</span>`;
  }

  #renderList(): TemplateResult {
    const text = this.#text;
    return html`
      <section class="card" part="card" aria-labelledby="list-heading">
        <div class="spread">
          <div>
            <h2 id="list-heading" tabindex="-1">${text.endpointsHeading}</h2>
            <p class="muted">${text.intro}</p>
          </div>
          ${this.#canWrite ? this.#button(text.addEndpoint, 'add', () => this.#startCreate(), { kind: 'primary', id: 'add-endpoint' }) : html`<p class="hint">${text.readOnly}</p>`}
        </div>
        ${this.#endpoints.length === 0
          ? html`<p>${text.noEndpoints}</p>`
          : html`<table class="endpoints" part="table">
              <thead>
                <tr>
                  <th scope="col">${text.columnEndpoint}</th>
                  <th scope="col">${text.columnStatus}</th>
                  <th scope="col">${text.columnLastDelivery}</th>
                  <th scope="col"><span class="visually-hidden">${text.columnActions}</span></th>
                </tr>
              </thead>
              <tbody>
                ${repeat(
                  this.#endpoints,
                  (endpoint) => endpoint.id,
                  (endpoint) => html`<tr>
                    <td>
                      <strong>${endpoint.name ?? text.unnamedEndpoint}</strong>
                      <div class="mono muted">${endpoint.url}</div>
                    </td>
                    <td>${this.#statusBadge(endpoint)}</td>
                    <td>${this.#lastDelivery(endpoint)}</td>
                    <td>
                      <button type="button" part="button" data-open=${endpoint.id} @click=${() => this.#openEndpoint(endpoint)}>${text.openEndpoint(endpoint.name ?? endpoint.url)}</button>
                    </td>
                  </tr>`,
                )}
              </tbody>
            </table>`}
        ${this.#endpointsCursor
          ? this.#button(text.older, 'more-endpoints', () =>
              this.#run('more-endpoints', async () => {
                const page = await this.#client().request<PortalPage<PortalEndpoint>>('GET', `/endpoints?limit=${this.#limit}&cursor=${encodeURIComponent(this.#endpointsCursor ?? '')}`);
                this.#endpoints = [...this.#endpoints, ...page.items];
                this.#endpointsCursor = page.nextCursor;
              }),
            )
          : nothing}
      </section>
    `;
  }

  #lastDelivery(endpoint: PortalEndpoint): TemplateResult | string {
    const last = endpoint.lastDelivery;
    if (!last) return this.#text.neverDelivered;
    const status = this.#text.deliveryStatuses[last.status] ?? last.status;
    return html`<span class="badge ${STATUS_CLASS[last.status] ?? 'off'}">${status}</span>
      <div class="muted">${last.type}${last.lastStatus !== null ? ` · HTTP ${last.lastStatus}` : last.lastError ? ` · ${last.lastError}` : ''}</div>
      <div class="muted">${formatDate(last.updatedAt, this.locale)}</div>`;
  }

  // ---- create / edit --------------------------------------------------------------------

  #startCreate(): void {
    this.#form = emptyForm();
    this.#formErrors = {};
    this.#formError = null;
    this.#returnFocus = null;
    this.#go('create', '#field-url');
  }

  #startEdit(endpoint: PortalEndpoint): void {
    this.#form = {
      url: endpoint.url,
      name: endpoint.name ?? '',
      description: endpoint.description ?? '',
      events: [...endpoint.events],
      headers: Object.entries(endpoint.headers).map(([name, value]) => ({ key: ++headerKeys, name, value })),
      rateLimit: endpoint.rateLimit === null ? '' : String(endpoint.rateLimit),
      fifo: endpoint.fifo,
      profile: endpoint.profile,
    };
    this.#formErrors = {};
    this.#formError = null;
    this.#go('edit', '#field-url');
  }

  #checkForm(): Record<string, unknown> | null {
    const form = this.#form;
    const errors: Record<string, string> = {};
    if (form.url.trim() === '') errors.url = this.#text.urlRequired;
    let rateLimit: number | null = null;
    if (form.rateLimit.trim() !== '') {
      rateLimit = Number(form.rateLimit);
      if (!Number.isFinite(rateLimit) || rateLimit <= 0) errors.rateLimit = this.#text.rateLimitInvalid;
    }
    const headers: Record<string, string> = {};
    for (const [index, row] of form.headers.entries()) {
      if (row.name.trim() === '' && row.value === '') continue;
      if (row.name.trim() === '') errors[`header-${index}`] = this.#text.headerNameRequired;
      else headers[row.name.trim()] = row.value;
    }
    this.#formErrors = errors;
    if (Object.keys(errors).length > 0) return null;
    return {
      url: form.url.trim(),
      name: form.name.trim() === '' ? null : form.name.trim(),
      description: form.description.trim() === '' ? null : form.description.trim(),
      events: form.events,
      headers,
      rateLimit,
      fifo: form.fifo,
      profile: form.profile,
    };
  }

  async #submitForm(event: Event): Promise<void> {
    event.preventDefault();
    const body = this.#checkForm();
    this.#formError = null;
    if (!body) {
      this.#formError = this.#text.fixErrors;
      this.#focusFirstInvalid();
      return;
    }
    const editing = this.#view === 'edit' && this.#endpoint;
    await this.#run('save', async () => {
      try {
        if (editing && this.#endpoint) {
          const updated = await this.#client().request<PortalEndpoint>('PATCH', `/endpoints/${encodeURIComponent(this.#endpoint.id)}`, body);
          this.#endpoint = { ...updated, lastDelivery: this.#endpoint.lastDelivery ?? null };
          this.#endpoints = this.#endpoints.map((endpoint) => (endpoint.id === updated.id ? (this.#endpoint as PortalEndpoint) : endpoint));
          this.#view = 'endpoint';
          this.#focusTarget = '#endpoint-heading';
        } else {
          const created = await this.#client().request<{ endpoint: PortalEndpoint; secret: string }>('POST', '/endpoints', { ...body, name: body.name ?? undefined, description: body.description ?? undefined });
          this.#endpoints = [...this.#endpoints, { ...created.endpoint, lastDelivery: null }];
          await this.#openEndpoint({ ...created.endpoint, lastDelivery: null }, 'secret');
          this.#oneTimeSecret = created.secret;
          this.#focusTarget = '#one-time-secret';
        }
      } catch (error) {
        if (error instanceof PortalApiError && error.status >= 400 && error.status < 500 && error.status !== 401) {
          // The server's own words next to the field they are about (the URL policy's reason, a header rule…).
          const field = fieldOf(error);
          if (field) this.#formErrors = { [field]: error.message || this.#text.genericError };
          else this.#formError = error.message || this.#text.genericError;
          this.#focusFirstInvalid();
          return;
        }
        throw error;
      }
    });
  }

  #focusFirstInvalid(): void {
    const first = ['url', 'name', 'description', 'events', 'headers', ...this.#form.headers.map((_, index) => `header-${index}`), 'rateLimit', 'fifo', 'profile'].find((field) => this.#formErrors[field]);
    this.#focusTarget = first ? `#field-${first}` : '#form-error';
    this.requestUpdate();
  }

  #fieldAttributes(field: string, hint?: string): { describedBy: string; invalid: 'true' | 'false' } {
    const ids = [hint, this.#formErrors[field] ? `error-${field}` : undefined].filter(Boolean).join(' ');
    return { describedBy: ids, invalid: this.#formErrors[field] ? 'true' : 'false' };
  }

  #fieldError(field: string): TemplateResult | typeof nothing {
    const message = this.#formErrors[field];
    return message ? html`<p class="error" id="error-${field}">${message}</p>` : nothing;
  }

  #renderForm(): TemplateResult {
    const text = this.#text;
    const form = this.#form;
    const editing = this.#view === 'edit';
    const url = this.#fieldAttributes('url', 'hint-url');
    const name = this.#fieldAttributes('name');
    const description = this.#fieldAttributes('description');
    const rate = this.#fieldAttributes('rateLimit', 'hint-rate');
    const events = this.#fieldAttributes('events', 'hint-events');
    const update = (patch: Partial<EndpointForm>) => {
      this.#form = { ...this.#form, ...patch };
      this.requestUpdate();
    };
    return html`
      <section class="card" part="card" aria-labelledby="form-heading">
        <h2 id="form-heading" tabindex="-1">${editing ? text.editHeading : text.createHeading}</h2>
        <form novalidate @submit=${(event: Event) => this.#submitForm(event)}>
          <div class="field">
            <label for="field-url">${text.urlLabel}</label>
            <input
              id="field-url"
              type="url"
              part="input"
              autocomplete="off"
              spellcheck="false"
              required
              .value=${form.url}
              aria-describedby=${url.describedBy}
              aria-invalid=${url.invalid}
              @input=${(event: Event) => update({ url: (event.target as HTMLInputElement).value })}
            />
            <p class="hint" id="hint-url">${text.urlHint}</p>
            ${this.#fieldError('url')}
          </div>
          <div class="field">
            <label for="field-name">${text.nameLabel}</label>
            <input id="field-name" type="text" part="input" maxlength="256" autocomplete="off" .value=${form.name} aria-describedby=${name.describedBy || nothing} aria-invalid=${name.invalid} @input=${(event: Event) => update({ name: (event.target as HTMLInputElement).value })} />
            ${this.#fieldError('name')}
          </div>
          <div class="field">
            <label for="field-description">${text.descriptionLabel}</label>
            <textarea id="field-description" part="input" rows="2" maxlength="4096" .value=${form.description} aria-describedby=${description.describedBy || nothing} aria-invalid=${description.invalid} @input=${(event: Event) => update({ description: (event.target as HTMLTextAreaElement).value })}></textarea>
            ${this.#fieldError('description')}
          </div>
          <fieldset id="field-events" tabindex="-1" aria-describedby=${events.describedBy} aria-invalid=${events.invalid}>
            <legend>${text.eventsLabel}</legend>
            <p class="hint" id="hint-events">${text.eventsHint}</p>
            ${repeat(
              this.#catalog,
              (event) => event.name,
              (event, index) => html`<div class="check">
                <input
                  type="checkbox"
                  id="event-${index}"
                  .checked=${form.events.includes(event.name)}
                  aria-describedby="event-${index}-description"
                  @change=${(change: Event) => {
                    const checked = (change.target as HTMLInputElement).checked;
                    update({ events: checked ? [...form.events, event.name] : form.events.filter((name) => name !== event.name) });
                  }}
                />
                <label for="event-${index}">${event.name}</label>
                <p class="hint" id="event-${index}-description">${event.description ?? ''}</p>
              </div>`,
            )}
            ${this.#fieldError('events')}
          </fieldset>
          <fieldset id="field-headers" tabindex="-1" aria-describedby="hint-headers">
            <legend>${text.headersLabel}</legend>
            <p class="hint" id="hint-headers">${text.headersHint}</p>
            ${repeat(
              form.headers,
              (row) => row.key,
              (row, index) => {
                const attributes = this.#fieldAttributes(`header-${index}`);
                return html`<div class="header-row">
                  <div class="field">
                    <label for="field-header-${index}">${text.headerNameLabel(index + 1)}</label>
                    <input id="field-header-${index}" type="text" part="input" autocomplete="off" spellcheck="false" .value=${row.name} aria-describedby=${attributes.describedBy || nothing} aria-invalid=${attributes.invalid} @input=${(event: Event) => update({ headers: form.headers.map((entry) => (entry.key === row.key ? { ...entry, name: (event.target as HTMLInputElement).value } : entry)) })} />
                    ${this.#fieldError(`header-${index}`)}
                  </div>
                  <div class="field">
                    <label for="field-header-value-${index}">${text.headerValueLabel(index + 1)}</label>
                    <input id="field-header-value-${index}" type="text" part="input" autocomplete="off" spellcheck="false" .value=${row.value} @input=${(event: Event) => update({ headers: form.headers.map((entry) => (entry.key === row.key ? { ...entry, value: (event.target as HTMLInputElement).value } : entry)) })} />
                  </div>
                  <div class="field">
                    <button
                      type="button"
                      part="button"
                      @click=${() => {
                        update({ headers: form.headers.filter((entry) => entry.key !== row.key) });
                        this.#focusTarget = '#add-header';
                      }}
                    >
                      ${text.removeHeader(index + 1)}
                    </button>
                  </div>
                </div>`;
              },
            )}
            <button
              type="button"
              part="button"
              id="add-header"
              @click=${() => {
                update({ headers: [...form.headers, { key: ++headerKeys, name: '', value: '' }] });
                this.#focusTarget = `#field-header-${form.headers.length}`;
              }}
            >
              ${text.addHeader}
            </button>
            ${this.#fieldError('headers')}
          </fieldset>
          <div class="field">
            <label for="field-rateLimit">${text.rateLimitLabel}</label>
            <input id="field-rateLimit" type="number" part="input" min="0" step="any" inputmode="decimal" .value=${form.rateLimit} aria-describedby=${rate.describedBy} aria-invalid=${rate.invalid} @input=${(event: Event) => update({ rateLimit: (event.target as HTMLInputElement).value })} />
            <p class="hint" id="hint-rate">${text.rateLimitHint}</p>
            ${this.#fieldError('rateLimit')}
          </div>
          <div class="check">
            <input id="field-fifo" type="checkbox" .checked=${form.fifo} aria-describedby="hint-fifo" @change=${(event: Event) => update({ fifo: (event.target as HTMLInputElement).checked })} />
            <label for="field-fifo">${text.fifoLabel}</label>
            <p class="hint" id="hint-fifo">${text.fifoHint}</p>
          </div>
          <div class="field">
            <label for="field-profile">${text.profileLabel}</label>
            <select id="field-profile" part="input" .value=${form.profile} @change=${(event: Event) => update({ profile: (event.target as HTMLSelectElement).value as EndpointForm['profile'] })}>
              <option value="x-webhook" ?selected=${form.profile === 'x-webhook'}>${text.profileXWebhook}</option>
              <option value="standard" ?selected=${form.profile === 'standard'}>${text.profileStandard}</option>
            </select>
          </div>
          ${this.#formError ? html`<p class="error" id="form-error" role="alert" tabindex="-1">${this.#formError}</p>` : nothing}
          <div class="row">
            <button type="submit" part="button button-primary" class="primary" aria-disabled=${this.#busy.has('save') ? 'true' : 'false'}>${editing ? text.saveSubmit : text.createSubmit}</button>
            <button
              type="button"
              part="button"
              @click=${() => {
                if (editing && this.#endpoint) this.#go('endpoint', '#edit-endpoint');
                else this.#backToList(null);
              }}
            >
              ${text.cancel}
            </button>
          </div>
        </form>
      </section>
    `;
  }

  // ---- one endpoint ---------------------------------------------------------------------

  #renderEndpoint(endpoint: PortalEndpoint): TemplateResult {
    const text = this.#text;
    const autoDisabled = !endpoint.enabled && AUTO_DISABLE_REASONS.has(endpoint.disabledReason ?? '');
    const sections: Array<[Section, string]> = [
      ['deliveries', text.deliveriesSection],
      ['test', text.testSection],
      ['secret', text.secretSection],
      ['verify', text.verifySection],
    ];
    return html`
      <section class="card" part="card" aria-labelledby="endpoint-heading">
        <button type="button" class="link" part="button" id="back" @click=${() => this.#backToList(endpoint.id)}>← ${text.backToEndpoints}</button>
        <div class="spread">
          <div>
            <h2 id="endpoint-heading" tabindex="-1">${endpoint.name ?? text.unnamedEndpoint}</h2>
            <p class="mono muted">${endpoint.url}</p>
            <p>${this.#statusBadge(endpoint)}</p>
            <p class="muted">${text.receives}: ${endpoint.events.length === 0 ? text.allEvents : endpoint.events.join(', ')}</p>
          </div>
          ${this.#canWrite
            ? html`<div class="row">
                ${this.#button(text.editEndpoint, 'edit', () => this.#startEdit(endpoint), { id: 'edit-endpoint' })}
                ${this.#button(endpoint.enabled ? text.disableEndpoint : text.enableEndpoint, 'toggle', () => this.#toggle(endpoint), { id: 'toggle-endpoint' })}
                ${this.#button(text.deleteEndpoint, 'delete', () => this.#openDialog('delete-dialog'), { kind: 'danger', id: 'delete-endpoint' })}
              </div>`
            : nothing}
        </div>
        ${autoDisabled
          ? html`<div class="banner" part="banner" role="region" aria-labelledby="banner-heading">
              <h3 id="banner-heading">${text.autoDisabledTitle}</h3>
              <p>${text.autoDisabledText(text.disabledReasons[endpoint.disabledReason ?? ''] ?? endpoint.disabledReason ?? '', endpoint.consecutiveFailures)}</p>
              ${this.#canWrite ? this.#button(text.reEnable, 'toggle', () => this.#toggle(endpoint, '#toggle-endpoint'), { kind: 'primary', id: 're-enable' }) : nothing}
            </div>`
          : nothing}
      </section>
      <nav aria-label=${text.sections}>
        <ul class="tabs" part="tabs">
          ${sections.map(
            ([section, label]) => html`<li>
              <button
                type="button"
                class="tab"
                part="tab"
                id="section-${section}"
                aria-current=${this.#section === section ? 'page' : 'false'}
                @click=${() => {
                  this.#section = section;
                  this.requestUpdate();
                }}
              >
                ${label}
              </button>
            </li>`,
          )}
        </ul>
      </nav>
      ${this.#section === 'deliveries' ? this.#renderDeliveries(endpoint) : nothing} ${this.#section === 'test' ? this.#renderTest(endpoint) : nothing}
      ${this.#section === 'secret' ? this.#renderSecret(endpoint) : nothing} ${this.#section === 'verify' ? this.#renderVerify(endpoint) : nothing}
      <dialog id="delete-dialog" part="dialog" aria-labelledby="delete-title" aria-describedby="delete-text" @cancel=${(event: Event) => this.#closeDialog(event, 'delete-dialog')} @keydown=${trapFocus}>
        <h2 id="delete-title">${text.deleteTitle}</h2>
        <p id="delete-text">${text.deleteText}</p>
        <div class="row">
          <button type="button" part="button" data-safe @click=${(event: Event) => this.#closeDialog(event, 'delete-dialog')}>${text.cancel}</button>
          <button type="button" part="button button-danger" class="danger" @click=${() => this.#delete(endpoint)}>${text.deleteConfirm}</button>
        </div>
      </dialog>
      <dialog id="regenerate-dialog" part="dialog" aria-labelledby="regenerate-title" aria-describedby="regenerate-text" @cancel=${(event: Event) => this.#closeDialog(event, 'regenerate-dialog')} @keydown=${trapFocus}>
        <h2 id="regenerate-title">${text.regenerateTitle}</h2>
        <p id="regenerate-text">${text.regenerateText(this.secretOverlapHours)}</p>
        <div class="row">
          <button type="button" part="button" data-safe @click=${(event: Event) => this.#closeDialog(event, 'regenerate-dialog')}>${text.cancel}</button>
          <button type="button" part="button button-primary" class="primary" @click=${() => this.#regenerate(endpoint)}>${text.regenerateConfirm}</button>
        </div>
      </dialog>
    `;
  }

  #openDialog(id: string): void {
    const dialog = this.renderRoot.querySelector<HTMLDialogElement>(`#${id}`);
    if (!dialog) return;
    const active = this.renderRoot instanceof ShadowRoot ? this.renderRoot.activeElement : null;
    this.#returnFocus = active instanceof HTMLElement ? active : null;
    dialog.showModal();
    // The safe choice first: Enter on a dialog opened by mistake does no harm.
    dialog.querySelector<HTMLElement>('[data-safe]')?.focus();
  }

  #closeDialog(event: Event | null, id: string, focus: HTMLElement | null = this.#returnFocus): void {
    event?.preventDefault();
    this.renderRoot.querySelector<HTMLDialogElement>(`#${id}`)?.close();
    focus?.focus();
  }

  #toggle(endpoint: PortalEndpoint, focus?: string): void {
    void this.#run('toggle', async () => {
      await this.#client().request('POST', `/endpoints/${encodeURIComponent(endpoint.id)}/${endpoint.enabled ? 'disable' : 'enable'}`);
      await this.#refreshEndpoint();
      this.#say(endpoint.enabled ? this.#text.disabledNotice : this.#text.enabledNotice);
      if (focus) this.#focusTarget = focus;
    });
  }

  #delete(endpoint: PortalEndpoint): void {
    void this.#run('delete', async () => {
      await this.#client().request('DELETE', `/endpoints/${encodeURIComponent(endpoint.id)}`);
      this.#closeDialog(null, 'delete-dialog', null);
      this.#endpoints = this.#endpoints.filter((entry) => entry.id !== endpoint.id);
      this.#endpoint = null;
      this.#backToList(null);
    });
  }

  // ---- deliveries -----------------------------------------------------------------------

  #renderDeliveries(endpoint: PortalEndpoint): TemplateResult {
    const text = this.#text;
    const page = this.#deliveryCursors.length;
    const setFilter = (patch: Partial<DeliveryFilters>) => {
      this.#filters = { ...this.#filters, ...patch };
    };
    const apply = (event: Event) => {
      event.preventDefault();
      this.#deliveryCursors = [undefined];
      void this.#run('deliveries', () => this.#loadDeliveries());
    };
    return html`
      <section class="card" part="card" aria-labelledby="log-heading">
        <div class="spread">
          <h3 id="log-heading" tabindex="-1">${text.deliveryLog}</h3>
          ${this.#button(text.refresh, 'deliveries', () => this.#run('deliveries', () => this.#loadDeliveries(this.#deliveryCursors.at(-1))), { id: 'refresh-deliveries' })}
        </div>
        <form class="filters" role="search" aria-label=${text.filters} @submit=${apply}>
          <div class="field">
            <label for="filter-status">${text.filterStatus}</label>
            <select id="filter-status" part="input" @change=${(event: Event) => setFilter({ status: (event.target as HTMLSelectElement).value as DeliveryFilters['status'] })}>
              <option value="" ?selected=${this.#filters.status === ''}>${text.any}</option>
              ${(Object.keys(text.deliveryStatuses) as DeliveryStatus[]).map((status) => html`<option value=${status} ?selected=${this.#filters.status === status}>${text.deliveryStatuses[status]}</option>`)}
            </select>
          </div>
          <div class="field">
            <label for="filter-type">${text.filterType}</label>
            <select id="filter-type" part="input" @change=${(event: Event) => setFilter({ type: (event.target as HTMLSelectElement).value })}>
              <option value="" ?selected=${this.#filters.type === ''}>${text.any}</option>
              ${this.#catalog.map((event) => html`<option value=${event.name} ?selected=${this.#filters.type === event.name}>${event.name}</option>`)}
            </select>
          </div>
          <div class="field">
            <label for="filter-since">${text.filterSince}</label>
            <input id="filter-since" type="datetime-local" part="input" .value=${this.#filters.since} @change=${(event: Event) => setFilter({ since: (event.target as HTMLInputElement).value })} />
          </div>
          <div class="field">
            <label for="filter-until">${text.filterUntil}</label>
            <input id="filter-until" type="datetime-local" part="input" .value=${this.#filters.until} @change=${(event: Event) => setFilter({ until: (event.target as HTMLInputElement).value })} />
          </div>
          <button type="submit" part="button" id="apply-filters">${text.applyFilters}</button>
        </form>
        ${this.#deliveries.length === 0 ? html`<p>${text.noDeliveries}</p>` : nothing}
        <ul class="deliveries" aria-labelledby="log-heading">
          ${repeat(
            this.#deliveries,
            (delivery) => delivery.id,
            (delivery) => this.#renderDelivery(delivery),
          )}
        </ul>
        ${page > 1 || this.#deliveryNext
          ? html`<nav aria-label=${text.paging} class="row">
              ${page > 1
                ? this.#button(text.newer, 'page-newer', () =>
                    this.#run('deliveries', async () => {
                      this.#deliveryCursors = this.#deliveryCursors.slice(0, -1);
                      await this.#loadDeliveries(this.#deliveryCursors.at(-1));
                    }),
                  )
                : nothing}
              ${this.#deliveryNext
                ? this.#button(text.older, 'page-older', () =>
                    this.#run('deliveries', async () => {
                      const next = this.#deliveryNext ?? undefined;
                      this.#deliveryCursors = [...this.#deliveryCursors, next];
                      await this.#loadDeliveries(next);
                    }),
                  )
                : nothing}
            </nav>`
          : nothing}
      </section>
      ${this.#canWrite ? this.#renderRecover(endpoint) : nothing}
    `;
  }

  #renderDelivery(delivery: PortalDelivery): TemplateResult {
    const text = this.#text;
    const date = formatDate(delivery.createdAt, this.locale);
    const attempts = this.#attempts.get(delivery.id);
    const open = attempts !== undefined;
    const panel = `attempts-${delivery.id}`;
    return html`<li class="delivery ${delivery.status}" data-delivery=${delivery.id}>
      <div class="spread">
        <div>
          <strong>${delivery.type}</strong>
          <span class="badge ${STATUS_CLASS[delivery.status] ?? 'off'}">${text.deliveryStatuses[delivery.status] ?? delivery.status}</span>
          <div class="muted">${date} · ${text.attemptsCount(delivery.attempts)}${delivery.lastStatus !== null ? ` · HTTP ${delivery.lastStatus}` : delivery.lastError ? ` · ${delivery.lastError}` : ''}</div>
          ${delivery.status === 'pending' && delivery.nextAttemptAt && delivery.attempts > 0 ? html`<div class="muted">${text.nextRetry(formatDate(delivery.nextAttemptAt, this.locale))}</div>` : nothing}
        </div>
        <div class="row">
          <button
            type="button"
            part="button"
            aria-expanded=${open ? 'true' : 'false'}
            aria-controls=${panel}
            data-action="attempts"
            @click=${() => this.#toggleAttempts(delivery.id)}
          >
            <span aria-hidden="true">${open ? '▾' : '▸'}</span> ${text.showAttempts(delivery.type, date)}
          </button>
          ${this.#canWrite && (delivery.status === 'failed' || delivery.status === 'pending')
            ? this.#button(text.retryDelivery(delivery.type, date), `retry-${delivery.id}`, () =>
                this.#run(`retry-${delivery.id}`, async () => {
                  await this.#client().request('POST', `/deliveries/${encodeURIComponent(delivery.id)}/retry`);
                  this.#say(text.retryQueued);
                  await this.#loadDeliveries(this.#deliveryCursors.at(-1));
                }),
              )
            : nothing}
        </div>
      </div>
      <div id=${panel} ?hidden=${!open}>${open ? this.#renderAttempts(attempts) : nothing}</div>
    </li>`;
  }

  #toggleAttempts(deliveryId: string): void {
    if (this.#attempts.has(deliveryId)) {
      this.#attempts.delete(deliveryId);
      this.requestUpdate();
      return;
    }
    this.#attempts.set(deliveryId, 'loading');
    void this.#run(`attempts-${deliveryId}`, async () => {
      try {
        this.#attempts.set(deliveryId, await this.#loadAttempts(deliveryId));
      } catch (error) {
        this.#attempts.delete(deliveryId);
        throw error;
      }
    });
  }

  #renderAttempts(attempts: PortalAttempt[] | 'loading'): TemplateResult {
    const text = this.#text;
    if (attempts === 'loading') return html`<p>${text.loading}</p>`;
    if (attempts.length === 0) return html`<p>${text.noAttempts}</p>`;
    return html`${attempts.map(
      (attempt) => html`<article class="attempt" aria-label=${text.attemptHeading(attempt.number, formatDate(attempt.startedAt, this.locale))}>
        <h4>${text.attemptHeading(attempt.number, formatDate(attempt.startedAt, this.locale))}</h4>
        <dl class="facts">
          <dt>${text.responseStatus}</dt>
          <dd>${attempt.statusCode ?? '—'}</dd>
          ${attempt.errorCode && attempt.statusCode === null ? html`<dt>${text.networkError}</dt><dd>${attempt.errorCode}</dd>` : nothing}
          <dt>${text.duration}</dt>
          <dd>${text.milliseconds(attempt.durationMs)}</dd>
        </dl>
        ${attempt.request
          ? html`<p class="muted">${text.requestHeaders}</p>
              <pre tabindex="0" aria-label=${text.requestHeaders}>${[`${attempt.request.method} ${attempt.request.url}`, ...Object.entries(attempt.request.headers).map(([name, value]) => `${name}: ${value}`)].join('\n')}</pre>
              <p class="hint">${text.signatureRedacted}</p>
              <p class="muted">${text.requestBody}</p>
              <pre tabindex="0" aria-label=${text.requestBody}>${prettyBody(attempt.request.body)}</pre>`
          : nothing}
        <p class="muted">${text.responseHeaders}</p>
        <pre tabindex="0" aria-label=${text.responseHeaders}>${Object.entries(attempt.responseHeaders)
          .map(([name, value]) => `${name}: ${value}`)
          .join('\n') || '—'}</pre>
        <p class="muted">${text.responseBody}</p>
        <pre tabindex="0" aria-label=${text.responseBody}>${prettyBody(attempt.responseBody) || '—'}</pre>
      </article>`,
    )}`;
  }

  #renderRecover(endpoint: PortalEndpoint): TemplateResult {
    const text = this.#text;
    const invalid = this.#recoverError !== null;
    return html`<section class="card" part="card" aria-labelledby="recover-heading">
      <h3 id="recover-heading">${text.recoverHeading}</h3>
      <p class="hint" id="recover-hint">${text.recoverHint}</p>
      <form
        class="filters"
        novalidate
        @submit=${(event: Event) => {
          event.preventDefault();
          const since = fromLocalInput(this.#recoverSince);
          if (!since) {
            this.#recoverError = text.dateRequired;
            this.#focusTarget = '#recover-since';
            this.requestUpdate();
            return;
          }
          this.#recoverError = null;
          void this.#run('recover', async () => {
            const result = await this.#client().request<{ count: number }>('POST', `/endpoints/${encodeURIComponent(endpoint.id)}/recover`, { since });
            this.#say(text.recovered(result.count));
            await this.#loadDeliveries(this.#deliveryCursors.at(-1));
          });
        }}
      >
        <div class="field">
          <label for="recover-since">${text.recoverSince}</label>
          <input
            id="recover-since"
            type="datetime-local"
            part="input"
            required
            .value=${this.#recoverSince}
            aria-describedby=${invalid ? 'recover-hint recover-error' : 'recover-hint'}
            aria-invalid=${invalid ? 'true' : 'false'}
            @input=${(event: Event) => {
              this.#recoverSince = (event.target as HTMLInputElement).value;
            }}
          />
          ${invalid ? html`<p class="error" id="recover-error">${this.#recoverError}</p>` : nothing}
        </div>
        <button type="submit" part="button" id="recover-submit" aria-disabled=${this.#busy.has('recover') ? 'true' : 'false'}>${text.recoverSubmit}</button>
      </form>
    </section>`;
  }

  // ---- test -----------------------------------------------------------------------------

  #renderTest(endpoint: PortalEndpoint): TemplateResult {
    const text = this.#text;
    const chosen = this.#catalog.find((event) => event.name === this.#testType);
    return html`<section class="card" part="card" aria-labelledby="test-heading">
      <h3 id="test-heading">${text.testSection}</h3>
      <form
        novalidate
        @submit=${(event: Event) => {
          event.preventDefault();
          if (this.#canWrite) this.#sendTest(endpoint);
        }}
      >
        <div class="field">
          <label for="test-type">${text.testTypeLabel}</label>
          <select
            id="test-type"
            part="input"
            aria-describedby="test-description"
            @change=${(event: Event) => {
              this.#testType = (event.target as HTMLSelectElement).value;
              this.requestUpdate();
            }}
          >
            ${this.#catalog.map((event) => html`<option value=${event.name} ?selected=${event.name === this.#testType}>${event.name}</option>`)}
          </select>
          <p class="hint" id="test-description">${chosen?.description ?? ''}</p>
        </div>
        <p class="muted" id="example-label">${text.examplePayload}</p>
        <pre tabindex="0" aria-labelledby="example-label">${prettyJson(chosen?.example ?? null)}</pre>
        ${this.#canWrite ? html`<button type="submit" part="button button-primary" class="primary" id="send-test" aria-disabled=${this.#busy.has('test') ? 'true' : 'false'}>${text.sendTest}</button>` : nothing}
      </form>
      <p role="status" id="test-result">${this.#testResult ?? ''}</p>
    </section>`;
  }

  #sendTest(endpoint: PortalEndpoint): void {
    const text = this.#text;
    clearTimeout(this.#testTimer);
    void this.#run('test', async () => {
      this.#testResult = null;
      let sent: { deliveryId: string };
      try {
        sent = await this.#client().request<{ deliveryId: string }>('POST', `/endpoints/${encodeURIComponent(endpoint.id)}/test`, { type: this.#testType });
      } catch (error) {
        // Said where the reader is looking (a disabled endpoint answers endpoint_disabled).
        this.#testResult = this.#describe(error);
        return;
      }
      this.#testResult = text.testQueued;
      let polls = 0;
      const poll = async () => {
        polls += 1;
        try {
          const delivery = await this.#client().request<PortalDelivery>('GET', `/deliveries/${encodeURIComponent(sent.deliveryId)}`);
          const settled = delivery.status === 'succeeded' || delivery.status === 'failed' || (delivery.status === 'pending' && delivery.attempts > 0);
          if (settled || polls >= TEST_POLL_LIMIT) {
            const detail = delivery.lastStatus !== null ? `HTTP ${delivery.lastStatus}` : (delivery.lastError ?? '');
            this.#testResult = text.testResult((text.deliveryStatuses[delivery.status] ?? delivery.status).toLowerCase(), detail);
            this.requestUpdate();
            return;
          }
        } catch (error) {
          this.#testResult = this.#describe(error);
          this.requestUpdate();
          return;
        }
        this.#testTimer = setTimeout(poll, TEST_POLL_MS);
      };
      this.#testTimer = setTimeout(poll, 250);
    });
  }

  // ---- secret ---------------------------------------------------------------------------

  #renderSecret(endpoint: PortalEndpoint): TemplateResult {
    const text = this.#text;
    const shown = this.#oneTimeSecret ?? this.#revealed?.current ?? null;
    const latestExpiry = this.#revealed?.previous.map((entry) => entry.expiresAt).sort().at(-1);
    return html`<section class="card" part="card" aria-labelledby="secret-heading">
      <h3 id="secret-heading">${text.secretSection}</h3>
      <p class="muted">${text.secretExplain}</p>
      ${this.#oneTimeSecret ? html`<p class="notice" id="secret-once">${text.secretOnce}</p>` : nothing}
      ${shown
        ? html`<div class="secret">
            <label for="one-time-secret" class="visually-hidden">${text.secretLabel}</label>
            <input id="one-time-secret" type="text" part="input" readonly spellcheck="false" .value=${shown} />
            ${this.#button(this.#copied ? text.copied : text.copy, 'copy', () => this.#copy(shown), { id: 'copy-secret' })}
          </div>`
        : nothing}
      ${this.#revealed && this.#revealed.previous.length > 0 && latestExpiry ? html`<p class="hint">${text.previousSecrets(this.#revealed.previous.length, formatDate(latestExpiry, this.locale))}</p>` : nothing}
      ${this.#secretNotice ? html`<p class="notice">${this.#secretNotice}</p>` : nothing}
      <div class="row">
        ${this.#oneTimeSecret
          ? this.#button(text.secretDone, 'secret-done', () => {
              this.#oneTimeSecret = null;
              this.#copied = false;
              this.#focusTarget = '#reveal-secret';
              this.requestUpdate();
            }, { kind: 'primary', id: 'secret-done' })
          : this.#canWrite
            ? html`${this.#button(this.#revealed ? text.hideSecret : text.revealSecret, 'reveal', () => this.#reveal(endpoint), { id: 'reveal-secret' })}
              ${this.#button(text.regenerateSecret, 'regenerate', () => this.#openDialog('regenerate-dialog'), { id: 'regenerate-secret' })}`
            : nothing}
      </div>
    </section>`;
  }

  #reveal(endpoint: PortalEndpoint): void {
    if (this.#revealed) {
      this.#revealed = null;
      this.#copied = false;
      this.requestUpdate();
      return;
    }
    void this.#run('reveal', async () => {
      this.#revealed = await this.#client().request('GET', `/endpoints/${encodeURIComponent(endpoint.id)}/secret`);
    });
  }

  #regenerate(endpoint: PortalEndpoint): void {
    void this.#run('regenerate', async () => {
      const result = await this.#client().request<{ secret: string; previousExpiresAt: string | null }>('POST', `/endpoints/${encodeURIComponent(endpoint.id)}/rotate-secret`, {
        overlapMs: Math.round(this.secretOverlapHours * 3_600_000),
      });
      this.#closeDialog(null, 'regenerate-dialog', null);
      this.#revealed = await this.#client().request('GET', `/endpoints/${encodeURIComponent(endpoint.id)}/secret`);
      this.#secretNotice = result.previousExpiresAt ? this.#text.regenerated(formatDate(result.previousExpiresAt, this.locale)) : null;
      this.#copied = false;
      this.#focusTarget = '#one-time-secret';
    });
  }

  async #copy(value: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(value);
      this.#copied = true;
    } catch {
      // No clipboard permission: select the text so the reader copies it by hand.
      this.renderRoot.querySelector<HTMLInputElement>('#one-time-secret')?.select();
    }
    this.requestUpdate();
  }

  // ---- verify ---------------------------------------------------------------------------

  #renderVerify(endpoint: PortalEndpoint): TemplateResult {
    const text = this.#text;
    const names = PROFILE_HEADER_NAMES[endpoint.profile] ?? PROFILE_HEADER_NAMES['x-webhook'];
    const types = endpoint.events.length > 0 ? endpoint.events : this.#catalog.map((event) => event.name);
    return html`<section class="card" part="card" aria-labelledby="verify-heading">
      <h3 id="verify-heading">${text.verifyHeading}</h3>
      <p>${text.verifyIntro}</p>
      <h4>${text.headerNames}</h4>
      <dl class="facts">
        <dt><code>${names.id}</code></dt>
        <dd>${text.headerId}</dd>
        <dt><code>${names.timestamp}</code></dt>
        <dd>${text.headerTimestamp}</dd>
        <dt><code>${names.signature}</code></dt>
        <dd>${text.headerSignature}</dd>
      </dl>
      <h4 id="node-code">${text.nodeCode}</h4>
      <pre tabindex="0" aria-labelledby="node-code">${nodeSnippet(types)}</pre>
      <h4 id="python-code">${text.pythonCode}</h4>
      <pre tabindex="0" aria-labelledby="python-code">${pythonSnippet()}</pre>
    </section>`;
  }

  // ---- catalog --------------------------------------------------------------------------

  #renderCatalog(): TemplateResult {
    const text = this.#text;
    return html`<section class="card" part="card" aria-labelledby="catalog-heading">
      <h2 id="catalog-heading" tabindex="-1">${text.catalogHeading}</h2>
      <p class="muted">${text.catalogIntro}</p>
      ${this.#catalog.map(
        (event, index) => html`<article class="event" aria-labelledby="catalog-event-${index}">
          <h3 id="catalog-event-${index}"><code>${event.name}</code> ${event.deprecated ? html`<span class="badge off">${text.deprecated}</span>` : nothing}</h3>
          <p>${event.description ?? ''}</p>
          <details>
            <summary>${text.jsonSchema}</summary>
            ${event.schema ? html`<pre tabindex="0" aria-label="${text.jsonSchema}: ${event.name}">${prettyJson(event.schema)}</pre>` : html`<p>${text.noSchema}</p>`}
          </details>
          <p class="muted">${text.example}</p>
          <pre tabindex="0" aria-label="${text.example}: ${event.name}">${prettyJson(event.example)}</pre>
        </article>`,
      )}
    </section>`;
  }
}

/** Keeps Tab and Shift+Tab inside an open dialog: past the last button comes the first again. */
function trapFocus(event: KeyboardEvent): void {
  if (event.key !== 'Tab') return;
  const dialog = event.currentTarget as HTMLDialogElement;
  const focusable = [...dialog.querySelectorAll<HTMLElement>('button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"])')];
  const first = focusable[0];
  const last = focusable.at(-1);
  const active = (dialog.getRootNode() as ShadowRoot).activeElement;
  if (!first || !last) return;
  if (event.shiftKey && active === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && active === last) {
    event.preventDefault();
    first.focus();
  }
}

function emptyForm(): EndpointForm {
  return { url: '', name: '', description: '', events: [], headers: [], rateLimit: '', fifo: false, profile: 'x-webhook' };
}

/** The form field an API error is about: `details.field` (`url`, `events[0]`, `headers`…), or the URL for URL policy codes. */
function fieldOf(error: PortalApiError): string | undefined {
  const field = typeof error.details.field === 'string' ? error.details.field : undefined;
  if (field) {
    const base = field.replace(/\[\d+\]$/, '');
    if (['url', 'name', 'description', 'events', 'headers', 'rateLimit', 'fifo', 'profile'].includes(base)) return base;
  }
  if (['invalid_url', 'insecure_url', 'blocked_address'].includes(error.code)) return 'url';
  if (error.code === 'unknown_event') return 'events';
  return undefined;
}

function cssEscape(value: string): string {
  return value.replace(/["\\]/g, '\\$&');
}
