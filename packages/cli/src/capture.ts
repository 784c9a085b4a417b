import { CliError } from './errors';

/** A webhook request as captured: headers (lower-case names) and the body bytes. */
export interface CapturedRequest {
  /** Request headers, names lower-cased; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The body bytes as captured. */
  body: Buffer;
  /** True when the capture held the body as parsed JSON: its original bytes are lost. */
  bodyWasParsed: boolean;
  /** What the file was. */
  format: 'http' | 'json' | 'attempt' | 'envelope' | 'message';
  /** Path of the request line (raw HTTP captures) or URL (attempt exports), when known. */
  path?: string;
  /** The URL it was sent to, when the capture says (an attempt exported from the admin API). */
  url?: string;
}

const REQUEST_LINE = /^([A-Z]+) (\S+) HTTP\/\d(?:\.\d)?\r?$/;

function addHeader(headers: Record<string, string>, name: string, value: string): void {
  const key = name.trim().toLowerCase();
  if (key === '') return;
  headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
}

/** Parses `Name: value` lines (a header block, a file of headers, or `-H` options). */
export function parseHeaderLines(lines: string[], origin: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new CliError('malformed_capture', `${origin}: "${line.slice(0, 80)}" is not a "Name: value" header line.`);
    addHeader(headers, line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return headers;
}

function decodeChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset < body.length) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) throw new CliError('malformed_capture', 'The chunked body of the capture is cut short.');
    const size = Number.parseInt(body.subarray(offset, lineEnd).toString('latin1').split(';')[0]!.trim(), 16);
    if (!Number.isInteger(size) || size < 0) throw new CliError('malformed_capture', 'The chunked body of the capture has a malformed chunk size.');
    if (size === 0) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** A raw HTTP/1.1 request as written by `nc -l`, mitmproxy or a request bin: request line, headers, blank line, body. */
function parseHttp(bytes: Buffer): CapturedRequest {
  // Headers are ASCII/latin1; the body stays bytes.
  let headEnd = bytes.indexOf('\r\n\r\n');
  let separator = 4;
  const lfEnd = bytes.indexOf('\n\n');
  if (headEnd < 0 || (lfEnd >= 0 && lfEnd < headEnd)) {
    headEnd = lfEnd;
    separator = 2;
  }
  const head = (headEnd < 0 ? bytes : bytes.subarray(0, headEnd)).toString('latin1');
  const [requestLine = '', ...lines] = head.split(/\r?\n/);
  const path = REQUEST_LINE.exec(requestLine)?.[2];
  const headers = parseHeaderLines(lines, 'The HTTP capture');
  let body = headEnd < 0 ? Buffer.alloc(0) : bytes.subarray(headEnd + separator);
  if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) body = decodeChunked(body);
  else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    // Editors add a final newline to saved captures; Content-Length says where the body ends.
    if (Number.isInteger(length) && length >= 0 && length < body.length) body = body.subarray(0, length);
  }
  return { headers, body, bodyWasParsed: false, format: 'http', ...(path === undefined ? {} : { path }) };
}

function headersFromJson(value: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  if (Array.isArray(value)) {
    // [["name", "value"], …] or HAR-style [{ name, value }, …].
    for (const entry of value) {
      if (Array.isArray(entry) && typeof entry[0] === 'string') addHeader(headers, entry[0], String(entry[1] ?? ''));
      else if (typeof entry === 'object' && entry !== null && typeof entry.name === 'string') addHeader(headers, entry.name, String(entry.value ?? ''));
      else throw new CliError('malformed_capture', 'The capture\'s "headers" list must hold [name, value] pairs or { name, value } objects.');
    }
    return headers;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [name, raw] of Object.entries(value)) {
      if (raw === undefined || raw === null) continue;
      addHeader(headers, name, Array.isArray(raw) ? raw.map(String).join(', ') : String(raw));
    }
    return headers;
  }
  throw new CliError('malformed_capture', 'The capture\'s "headers" must be an object or a list of [name, value] pairs.');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The wire bytes the sender builds from a stored message (the same layout as the dispatcher's). */
export function envelopeBytesOf(message: { id: string; type: string; createdAt: number; payload: string }): Buffer {
  return Buffer.from(
    `{"id":${JSON.stringify(message.id)},"type":${JSON.stringify(message.type)},"timestamp":${JSON.stringify(new Date(message.createdAt).toISOString())},"data":${message.payload}}`,
  );
}

function parseJson(bytes: Buffer, value: unknown): CapturedRequest {
  if (!isRecord(value)) throw new CliError('malformed_capture', 'A JSON capture must be an object.');
  // { headers, body | bodyBase64 }: a captured request.
  if ('headers' in value && ('body' in value || 'bodyBase64' in value || 'rawBody' in value)) {
    const headers = headersFromJson(value.headers);
    if (typeof value.bodyBase64 === 'string') return { headers, body: Buffer.from(value.bodyBase64, 'base64'), bodyWasParsed: false, format: 'json' };
    const body = value.body ?? value.rawBody;
    if (typeof body === 'string') return { headers, body: Buffer.from(body, 'utf8'), bodyWasParsed: false, format: 'json' };
    // The capture kept the parsed JSON: compact JSON is the best guess at what was sent.
    return { headers, body: Buffer.from(JSON.stringify(body) ?? ''), bodyWasParsed: true, format: 'json' };
  }
  // An attempt from the admin API (GET /deliveries/:id/attempts): its `request` is rebuilt from
  // the log; a page of them holds one message's attempts, newest first.
  if (Array.isArray(value.items)) {
    const [first] = value.items;
    if (first === undefined) throw new CliError('malformed_capture', 'The attempt list is empty.');
    return parseJson(Buffer.from(JSON.stringify(first)), first);
  }
  if (isRecord(value.request) && 'headers' in value.request && typeof value.request.body === 'string') {
    const url = typeof value.request.url === 'string' ? value.request.url : undefined;
    return { headers: headersFromJson(value.request.headers), body: Buffer.from(value.request.body, 'utf8'), bodyWasParsed: false, format: 'attempt', ...(url === undefined ? {} : { url }) };
  }
  // A HAR entry's request (browser devtools, proxies).
  const harRequest = isRecord(value.request) ? value.request : undefined;
  if (harRequest && Array.isArray(harRequest.headers) && isRecord(harRequest.postData) && typeof harRequest.postData.text === 'string') {
    return { headers: headersFromJson(harRequest.headers), body: Buffer.from(harRequest.postData.text, 'utf8'), bodyWasParsed: false, format: 'json' };
  }
  // The envelope itself: { id, type, timestamp, data } exactly as sent.
  if (typeof value.id === 'string' && typeof value.type === 'string' && typeof value.timestamp === 'string' && 'data' in value) {
    return { headers: {}, body: bytes, bodyWasParsed: false, format: 'envelope' };
  }
  // A message from the sender's log (admin API GET /messages/:id, sender.messages.get()).
  if (typeof value.id === 'string' && typeof value.type === 'string' && 'data' in value && value.createdAt !== undefined) {
    const createdAt = typeof value.createdAt === 'number' ? value.createdAt : Date.parse(String(value.createdAt));
    if (!Number.isFinite(createdAt)) throw new CliError('malformed_capture', 'The message\'s "createdAt" is not a date.');
    return { headers: {}, body: envelopeBytesOf({ id: value.id, type: value.type, createdAt, payload: JSON.stringify(value.data) }), bodyWasParsed: false, format: 'message' };
  }
  throw new CliError('malformed_capture', 'The JSON file is not a capture: expected { headers, body }, an attempt exported from the admin API, a HAR entry, a webhook envelope { id, type, timestamp, data } or a logged message { id, type, data, createdAt }.');
}

/**
 * Reads a captured request: a raw HTTP request, JSON `{ headers, body }` (or `bodyBase64`), a HAR
 * entry, a webhook envelope, or a message exported from the sender's log.
 */
export function parseCapture(bytes: Buffer): CapturedRequest {
  const firstLine = bytes.subarray(0, Math.min(bytes.length, 8192)).toString('latin1').split('\n', 1)[0] ?? '';
  if (REQUEST_LINE.test(firstLine)) return parseHttp(bytes);
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliError('malformed_capture', 'The capture is neither a raw HTTP request ("POST /path HTTP/1.1" then headers) nor JSON.');
  }
  return parseJson(bytes, value);
}
