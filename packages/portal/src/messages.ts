// Every word the portal shows, in one object: pass a partial copy as `messages` to translate or
// reword it. Functions take what they interpolate, so word order stays the translator's choice.

/** The portal's text. Replace any entry through the element's `messages` property. */
export interface PortalMessages {
  /** Heading of the whole portal. */
  title: string;
  /** Sentence under the heading. */
  intro: string;
  /** Navigation label. */
  navigation: string;
  /** Tab: endpoint list. */
  endpointsTab: string;
  /** Tab: event catalog. */
  catalogTab: string;
  /** Shown while loading. */
  loading: string;
  /** A request failed without a message from the server. */
  genericError: string;
  /** The token could not be obtained or is refused. */
  sessionError: string;
  /** Retry button after an error. */
  tryAgain: string;
  /** Endpoint list heading. */
  endpointsHeading: string;
  /** Button opening the create form. */
  addEndpoint: string;
  /** Empty list. */
  noEndpoints: string;
  /** Column: endpoint. */
  columnEndpoint: string;
  /** Column: status. */
  columnStatus: string;
  /** Column: last delivery. */
  columnLastDelivery: string;
  /** Column: actions (visually hidden). */
  columnActions: string;
  /** Button opening an endpoint; gets its name. */
  openEndpoint: (name: string) => string;
  /** An endpoint without a name. */
  unnamedEndpoint: string;
  /** Status: enabled. */
  statusEnabled: string;
  /** Status: disabled, with the reason. */
  statusDisabled: (reason: string) => string;
  /** Status: failing, with the count. */
  statusFailing: (count: number) => string;
  /** Reason codes to words. */
  disabledReasons: Record<string, string>;
  /** No delivery yet. */
  neverDelivered: string;
  /** Last delivery summary: event type, status word, date. */
  lastDeliverySummary: (type: string, status: string, date: string) => string;
  /** Delivery status words. */
  deliveryStatuses: Record<'pending' | 'in_flight' | 'succeeded' | 'failed', string>;
  /** Back to the list. */
  backToEndpoints: string;
  /** Create form heading. */
  createHeading: string;
  /** Edit form heading. */
  editHeading: string;
  /** URL label. */
  urlLabel: string;
  /** URL hint. */
  urlHint: string;
  /** Name label. */
  nameLabel: string;
  /** Description label. */
  descriptionLabel: string;
  /** Events group label. */
  eventsLabel: string;
  /** Said plainly: none picked means all. */
  eventsHint: string;
  /** Custom headers group label. */
  headersLabel: string;
  /** Custom headers hint. */
  headersHint: string;
  /** Header name field label (with its row number). */
  headerNameLabel: (row: number) => string;
  /** Header value field label (with its row number). */
  headerValueLabel: (row: number) => string;
  /** Add a header row. */
  addHeader: string;
  /** Remove a header row. */
  removeHeader: (row: number) => string;
  /** Rate limit label. */
  rateLimitLabel: string;
  /** Rate limit hint. */
  rateLimitHint: string;
  /** FIFO label. */
  fifoLabel: string;
  /** FIFO hint. */
  fifoHint: string;
  /** Signature header profile label. */
  profileLabel: string;
  /** Profile option: X-Webhook-* headers. */
  profileXWebhook: string;
  /** Profile option: Standard Webhooks headers. */
  profileStandard: string;
  /** Save on create. */
  createSubmit: string;
  /** Save on edit. */
  saveSubmit: string;
  /** Cancel. */
  cancel: string;
  /** Field errors found before sending. */
  fixErrors: string;
  /** URL required. */
  urlRequired: string;
  /** Rate limit must be a positive number. */
  rateLimitInvalid: string;
  /** Header row with a value but no name. */
  headerNameRequired: string;
  /** Endpoint detail: edit. */
  editEndpoint: string;
  /** Enable. */
  enableEndpoint: string;
  /** Disable. */
  disableEndpoint: string;
  /** Delete. */
  deleteEndpoint: string;
  /** Delete dialog title. */
  deleteTitle: string;
  /** Delete dialog text. */
  deleteText: string;
  /** Delete confirm button. */
  deleteConfirm: string;
  /** Endpoint sections navigation label. */
  sections: string;
  /** Section: deliveries. */
  deliveriesSection: string;
  /** Section: test. */
  testSection: string;
  /** Section: secret. */
  secretSection: string;
  /** Section: verify. */
  verifySection: string;
  /** Banner title when disabled automatically. */
  autoDisabledTitle: string;
  /** Banner text: why. */
  autoDisabledText: (reason: string, failures: number) => string;
  /** Banner one-click re-enable. */
  reEnable: string;
  /** Said after enabling. */
  enabledNotice: string;
  /** Said after disabling. */
  disabledNotice: string;
  /** Events the endpoint receives: all. */
  allEvents: string;
  /** Label before the event list. */
  receives: string;
  /** Secret: shown once after creation. */
  secretOnce: string;
  /** Secret field label. */
  secretLabel: string;
  /** Copy button. */
  copy: string;
  /** Said after copying. */
  copied: string;
  /** Dismiss the one-time secret. */
  secretDone: string;
  /** Explanation of the secret. */
  secretExplain: string;
  /** Reveal button. */
  revealSecret: string;
  /** Hide button. */
  hideSecret: string;
  /** Regenerate button. */
  regenerateSecret: string;
  /** Regenerate dialog title. */
  regenerateTitle: string;
  /** Regenerate dialog text with the overlap stated. */
  regenerateText: (hours: number) => string;
  /** Regenerate confirm button. */
  regenerateConfirm: string;
  /** After regenerating. */
  regenerated: (date: string) => string;
  /** Previous secrets still signing. */
  previousSecrets: (count: number, date: string) => string;
  /** Test: event type label. */
  testTypeLabel: string;
  /** Test: example heading. */
  examplePayload: string;
  /** Test: send button. */
  sendTest: string;
  /** Test: sent, waiting for the result. */
  testQueued: string;
  /** Test: result. */
  testResult: (status: string, detail: string) => string;
  /** Filters group label. */
  filters: string;
  /** Filter: status. */
  filterStatus: string;
  /** Filter: event type. */
  filterType: string;
  /** Filter: since. */
  filterSince: string;
  /** Filter: until. */
  filterUntil: string;
  /** Filter: any value. */
  any: string;
  /** Apply filters. */
  applyFilters: string;
  /** Refresh the log. */
  refresh: string;
  /** Empty log. */
  noDeliveries: string;
  /** Delivery log heading. */
  deliveryLog: string;
  /** Paging: newer page. */
  newer: string;
  /** Paging: older page. */
  older: string;
  /** Paging nav label. */
  paging: string;
  /** Delivery summary: attempts count. */
  attemptsCount: (count: number) => string;
  /** Next retry at. */
  nextRetry: (date: string) => string;
  /** Show attempts toggle (with the event type). */
  showAttempts: (type: string, date: string) => string;
  /** Retry one delivery (with the event type). */
  retryDelivery: (type: string, date: string) => string;
  /** Said after a retry was queued. */
  retryQueued: string;
  /** Attempt heading. */
  attemptHeading: (number: number, date: string) => string;
  /** Attempt fields. */
  duration: string;
  /** Response status label. */
  responseStatus: string;
  /** Network error label. */
  networkError: string;
  /** Request headers label. */
  requestHeaders: string;
  /** Request body label. */
  requestBody: string;
  /** Response headers label. */
  responseHeaders: string;
  /** Response body label. */
  responseBody: string;
  /** Note on the redacted signature. */
  signatureRedacted: string;
  /** No attempt yet. */
  noAttempts: string;
  /** Recover heading. */
  recoverHeading: string;
  /** Recover hint. */
  recoverHint: string;
  /** Recover since label. */
  recoverSince: string;
  /** Recover button. */
  recoverSubmit: string;
  /** Recover result. */
  recovered: (count: number) => string;
  /** A date is required. */
  dateRequired: string;
  /** Catalog heading. */
  catalogHeading: string;
  /** Catalog intro. */
  catalogIntro: string;
  /** Deprecated badge. */
  deprecated: string;
  /** JSON Schema heading. */
  jsonSchema: string;
  /** No schema published. */
  noSchema: string;
  /** Example heading. */
  example: string;
  /** Verify panel heading. */
  verifyHeading: string;
  /** Verify panel intro. */
  verifyIntro: string;
  /** Header names heading. */
  headerNames: string;
  /** Header: message id. */
  headerId: string;
  /** Header: timestamp. */
  headerTimestamp: string;
  /** Header: signature. */
  headerSignature: string;
  /** Node code heading. */
  nodeCode: string;
  /** Python code heading. */
  pythonCode: string;
  /** Read-only notice. */
  readOnly: string;
  /** Units. */
  milliseconds: (value: number) => string;
}

/** The default, English text. */
export const englishMessages: PortalMessages = {
  title: 'Webhooks',
  intro: 'Send events to an HTTPS endpoint your team controls. Every delivery is signed with the endpoint’s secret.',
  navigation: 'Webhooks',
  endpointsTab: 'Endpoints',
  catalogTab: 'Event catalog',
  loading: 'Loading…',
  genericError: 'Something went wrong. Try again.',
  sessionError: 'Your session for webhook settings has ended. Reload the page to continue.',
  tryAgain: 'Try again',
  endpointsHeading: 'Endpoints',
  addEndpoint: 'Add endpoint',
  noEndpoints: 'No endpoint yet. Add one to start receiving events.',
  columnEndpoint: 'Endpoint',
  columnStatus: 'Status',
  columnLastDelivery: 'Last delivery',
  columnActions: 'Actions',
  openEndpoint: (name) => `Open ${name}`,
  unnamedEndpoint: 'Unnamed endpoint',
  statusEnabled: 'Enabled',
  statusDisabled: (reason) => `Disabled: ${reason}`,
  statusFailing: (count) => `Failing: ${count} consecutive ${count === 1 ? 'failure' : 'failures'}`,
  disabledReasons: {
    consecutive_failures: 'too many failed deliveries in a row',
    gone: 'the endpoint answered 410 Gone',
    manual: 'turned off by hand',
  },
  neverDelivered: 'No delivery yet',
  lastDeliverySummary: (type, status, date) => `${type} · ${status} · ${date}`,
  deliveryStatuses: { pending: 'Pending', in_flight: 'Sending', succeeded: 'Succeeded', failed: 'Failed' },
  backToEndpoints: 'All endpoints',
  createHeading: 'Add endpoint',
  editHeading: 'Edit endpoint',
  urlLabel: 'Endpoint URL',
  urlHint: 'An HTTPS URL that accepts POST requests with a JSON body.',
  nameLabel: 'Name',
  descriptionLabel: 'Description',
  eventsLabel: 'Events to send',
  eventsHint: 'Pick none to receive every event, including event types added later.',
  headersLabel: 'Custom headers',
  headersHint: 'Sent with every delivery, for example an API key your endpoint expects.',
  headerNameLabel: (row) => `Header ${row} name`,
  headerValueLabel: (row) => `Header ${row} value`,
  addHeader: 'Add header',
  removeHeader: (row) => `Remove header ${row}`,
  rateLimitLabel: 'Rate limit (requests per second)',
  rateLimitHint: 'Leave empty for no limit.',
  fifoLabel: 'Deliver in order (FIFO)',
  fifoHint: 'One delivery at a time, oldest first. Slower, but your endpoint sees events in the order they happened.',
  profileLabel: 'Signature headers',
  profileXWebhook: 'X-Webhook-* (default)',
  profileStandard: 'Standard Webhooks (webhook-*)',
  createSubmit: 'Create endpoint',
  saveSubmit: 'Save changes',
  cancel: 'Cancel',
  fixErrors: 'Check the highlighted fields.',
  urlRequired: 'Enter the endpoint URL.',
  rateLimitInvalid: 'Enter a number of requests per second greater than 0, or leave it empty.',
  headerNameRequired: 'Give this header a name, or clear its value.',
  editEndpoint: 'Edit',
  enableEndpoint: 'Enable endpoint',
  disableEndpoint: 'Disable endpoint',
  deleteEndpoint: 'Delete endpoint',
  deleteTitle: 'Delete this endpoint?',
  deleteText: 'It stops receiving events at once, and its delivery log is deleted. This cannot be undone.',
  deleteConfirm: 'Delete',
  sections: 'Endpoint sections',
  deliveriesSection: 'Deliveries',
  testSection: 'Send a test',
  secretSection: 'Signing secret',
  verifySection: 'Verify webhooks',
  autoDisabledTitle: 'This endpoint was disabled automatically',
  autoDisabledText: (reason, failures) => `Reason: ${reason}${failures > 0 ? ` (${failures} failed attempts)` : ''}. Events sent meanwhile wait, and are delivered when you enable it again.`,
  reEnable: 'Re-enable endpoint',
  enabledNotice: 'Endpoint enabled.',
  disabledNotice: 'Endpoint disabled. New events are not sent to it.',
  allEvents: 'All events, including future ones',
  receives: 'Receives',
  secretOnce: 'Copy this signing secret now and add it to your endpoint: it is shown only once here.',
  secretLabel: 'Signing secret',
  copy: 'Copy',
  copied: 'Copied.',
  secretDone: 'Done',
  secretExplain: 'Your endpoint uses this secret to check that each delivery came from us and was not changed.',
  revealSecret: 'Reveal secret',
  hideSecret: 'Hide secret',
  regenerateSecret: 'Regenerate secret',
  regenerateTitle: 'Regenerate the signing secret?',
  regenerateText: (hours) =>
    `Future deliveries are signed with a new secret. The old secret keeps signing for ${hours >= 1 && Number.isInteger(hours) ? `${hours} h` : `${Math.round(hours * 60)} min`} beside it, so update your endpoint within that time.`,
  regenerateConfirm: 'Regenerate',
  regenerated: (date) => `New secret created. The old secret keeps signing until ${date}.`,
  previousSecrets: (count, date) => `${count === 1 ? 'An older secret still signs' : `${count} older secrets still sign`} until ${date}.`,
  testTypeLabel: 'Event type',
  examplePayload: 'Example payload',
  sendTest: 'Send test event',
  testQueued: 'Test event sent; waiting for your endpoint’s answer…',
  testResult: (status, detail) => `Test delivery ${status}${detail ? `: ${detail}` : ''}.`,
  filters: 'Filter deliveries',
  filterStatus: 'Status',
  filterType: 'Event type',
  filterSince: 'From',
  filterUntil: 'Until',
  any: 'Any',
  applyFilters: 'Apply filters',
  refresh: 'Refresh',
  noDeliveries: 'No delivery matches. Send a test event to see one here.',
  deliveryLog: 'Delivery log',
  newer: 'Newer',
  older: 'Older',
  paging: 'Delivery pages',
  attemptsCount: (count) => `${count} ${count === 1 ? 'attempt' : 'attempts'}`,
  nextRetry: (date) => `Next retry ${date}`,
  showAttempts: (type, date) => `Attempts of ${type} from ${date}`,
  retryDelivery: (type, date) => `Retry ${type} from ${date}`,
  retryQueued: 'Retry queued.',
  attemptHeading: (number, date) => `Attempt ${number} · ${date}`,
  duration: 'Duration',
  responseStatus: 'Response status',
  networkError: 'Network error',
  requestHeaders: 'Request headers',
  requestBody: 'Request body',
  responseHeaders: 'Response headers',
  responseBody: 'Response body (excerpt)',
  signatureRedacted: 'The signature is not stored, so it is shown as [redacted]; the timestamp is the second the attempt started.',
  noAttempts: 'No attempt yet.',
  recoverHeading: 'Recover failed deliveries',
  recoverHint: 'Sends again every failed delivery to this endpoint since the time you choose.',
  recoverSince: 'Failed since',
  recoverSubmit: 'Recover',
  recovered: (count) => `${count} ${count === 1 ? 'delivery' : 'deliveries'} queued again.`,
  dateRequired: 'Choose a date and time.',
  catalogHeading: 'Event catalog',
  catalogIntro: 'Every event type we send, with the JSON Schema of its data and an example.',
  deprecated: 'Deprecated',
  jsonSchema: 'JSON Schema',
  noSchema: 'No schema published for this event.',
  example: 'Example',
  verifyHeading: 'Verify these webhooks',
  verifyIntro: 'Check every delivery before trusting it: recompute the signature over the raw body with your secret, and refuse old timestamps.',
  headerNames: 'Headers of each delivery',
  headerId: 'Message id, the same on every retry: deduplicate on it.',
  headerTimestamp: 'Unix seconds when the attempt was signed.',
  headerSignature: 'v1,<base64 HMAC-SHA256 of "id.timestamp.body">, several during a secret rotation.',
  nodeCode: 'Node.js (Express)',
  pythonCode: 'Python',
  readOnly: 'You can view these settings but not change them.',
  milliseconds: (value) => `${Math.round(value)} ms`,
};
