import { SenderError } from './errors';

/** Which endpoint URLs and addresses a sender may deliver to. */
export interface UrlPolicy {
  /** Allow http:// URLs (development). @default false */
  allowHttp?: boolean;
  /** Allow loopback, private, link-local, CGNAT, unique-local and metadata addresses (development, tests). @default false */
  allowPrivateNetworks?: boolean;
}

/** Longest endpoint URL accepted, in characters. */
export const MAX_URL_LENGTH = 2048;

// Names that resolve to the machine itself or to a cloud metadata service. Refused by name so the
// error comes when the endpoint is saved; the connect-time address check covers every other name.
const BLOCKED_HOSTNAMES = new Set([
  'localhost',
  'localhost.localdomain',
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/**
 * Parses and checks an endpoint URL when it is saved; throws SenderError invalid_url | insecure_url | blocked_address.
 * Literal IPs are checked here; hostnames are checked at connect time.
 */
export function assertEndpointUrl(url: string, policy: UrlPolicy = {}): URL {
  if (typeof url !== 'string' || url.length === 0) throw new SenderError('invalid_url', 'The endpoint URL must be a non-empty string.');
  if (url.length > MAX_URL_LENGTH) {
    throw new SenderError('invalid_url', `The endpoint URL is longer than ${MAX_URL_LENGTH} characters.`, { details: { maxLength: MAX_URL_LENGTH } });
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new SenderError('invalid_url', 'The endpoint URL is not a valid absolute URL.', { cause });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new SenderError('invalid_url', `The endpoint URL must use https (got ${parsed.protocol.slice(0, 20)}).`, {
      details: { protocol: parsed.protocol.slice(0, 20) },
    });
  }
  if (parsed.protocol === 'http:' && policy.allowHttp !== true) {
    throw new SenderError('insecure_url', 'The endpoint URL must use https; http is allowed only with urlPolicy.allowHttp.');
  }
  // Credentials in a URL end up in logs and dashboards; receivers authenticate by signature instead.
  if (parsed.username !== '' || parsed.password !== '') {
    throw new SenderError('invalid_url', 'The endpoint URL must not contain a user name or password.');
  }
  if (parsed.hostname === '') throw new SenderError('invalid_url', 'The endpoint URL has no host.');
  if (parsed.href.length > MAX_URL_LENGTH) {
    throw new SenderError('invalid_url', `The endpoint URL is longer than ${MAX_URL_LENGTH} characters.`, { details: { maxLength: MAX_URL_LENGTH } });
  }

  const host = parsed.hostname;
  if (host.startsWith('[') || parseIPv4(host) !== undefined) {
    if (isBlockedAddress(host, policy)) {
      throw new SenderError('blocked_address', 'The endpoint URL points to an address that is not allowed (private, loopback, link-local, metadata or reserved).');
    }
  } else if (policy.allowPrivateNetworks !== true && isBlockedHostname(host)) {
    throw new SenderError('blocked_address', 'The endpoint URL points to a host name that is not allowed (local machine or cloud metadata).');
  }
  return parsed;
}

/** True for a host name refused by name: `localhost`, `*.localhost` and cloud metadata names (any case, trailing dot ignored). */
export function isBlockedHostname(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.+$/, '');
  return BLOCKED_HOSTNAMES.has(name) || name.endsWith('.localhost');
}

/**
 * True when an IP address (v4, v6, v4-mapped v6, any spelling) is not allowed by the policy.
 * Unspecified, multicast, broadcast and reserved addresses are never allowed; loopback, private,
 * link-local, CGNAT, unique-local and metadata addresses only with `allowPrivateNetworks`.
 * A string that is not an IP address counts as blocked: the check fails closed.
 */
export function isBlockedAddress(address: string, policy: UrlPolicy = {}): boolean {
  const kind = classifyAddress(address);
  if (kind === 'public') return false;
  if (kind === 'private') return policy.allowPrivateNetworks !== true;
  return true;
}

/** How an address is treated: `public` (allowed), `private` (allowed only with allowPrivateNetworks), `never` (no delivery), `invalid`. */
export type AddressClass = 'public' | 'private' | 'never' | 'invalid';

/** Classifies an IP address in any spelling WHATWG URL or the OS accept: bracketed IPv6, zone ids, decimal/octal/hex IPv4. */
export function classifyAddress(address: string): AddressClass {
  if (typeof address !== 'string' || address.length === 0 || address.length > 100) return 'invalid';
  let text = address.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return classifyIPv4(v4);
  const v6 = parseIPv6(text);
  if (v6 !== undefined) return classifyIPv6(v6);
  return 'invalid';
}

type Range4 = readonly [base: number, prefix: number, kind: 'private' | 'never'];

// IPv4 ranges that are refused (RFC 6890 special-purpose registry, the parts a webhook must never reach).
const IPV4_RANGES: readonly Range4[] = [
  [ip4(0, 0, 0, 0), 8, 'never'], // "this network"; 0.0.0.0 reaches the local machine on Linux
  [ip4(10, 0, 0, 0), 8, 'private'],
  [ip4(100, 64, 0, 0), 10, 'private'], // carrier-grade NAT
  [ip4(127, 0, 0, 0), 8, 'private'], // loopback
  [ip4(169, 254, 0, 0), 16, 'private'], // link-local, includes the 169.254.169.254 metadata service
  [ip4(172, 16, 0, 0), 12, 'private'],
  [ip4(192, 0, 0, 0), 24, 'private'], // IETF protocol assignments (includes 192.0.0.192 Oracle metadata)
  [ip4(192, 168, 0, 0), 16, 'private'],
  [ip4(198, 18, 0, 0), 15, 'private'], // benchmarking
  [ip4(224, 0, 0, 0), 4, 'never'], // multicast
  [ip4(240, 0, 0, 0), 4, 'never'], // reserved, includes 255.255.255.255 broadcast
];

function ip4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function classifyIPv4(value: number): AddressClass {
  for (const [base, prefix, kind] of IPV4_RANGES) {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    if (((value & mask) >>> 0) === base) return kind;
  }
  return 'public';
}

function classifyIPv6(groups: readonly number[]): AddressClass {
  const g = (index: number): number => groups[index] ?? 0;
  const embeddedLast = (): number => ((g(6) << 16) | g(7)) >>> 0;
  const zeroUpTo = (end: number): boolean => groups.slice(0, end).every((group) => group === 0);

  if (zeroUpTo(8)) return 'never'; // ::
  if (zeroUpTo(7) && g(7) === 1) return 'private'; // ::1 loopback
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (deprecated compatible): the OS may route them to IPv4.
  if (zeroUpTo(5) && g(5) === 0xffff) return classifyIPv4(embeddedLast());
  if (zeroUpTo(6)) return classifyIPv4(embeddedLast());
  // ::ffff:0:a.b.c.d, SIIT IPv4-translated (RFC 2765).
  if (zeroUpTo(4) && g(4) === 0xffff && g(5) === 0) return classifyIPv4(embeddedLast());
  // 64:ff9b::/96 NAT64 well-known prefix and 64:ff9b:1::/48 local-use NAT64: a gateway forwards to the embedded IPv4.
  if (g(0) === 0x64 && g(1) === 0xff9b && g(2) === 0 && g(3) === 0 && g(4) === 0 && g(5) === 0) return classifyIPv4(embeddedLast());
  if (g(0) === 0x64 && g(1) === 0xff9b && g(2) === 1) return 'private';
  // 2002::/16 6to4: bits 16..48 are the IPv4 of the relay target.
  if (g(0) === 0x2002) return classifyIPv4(((g(1) << 16) | g(2)) >>> 0);
  if ((g(0) & 0xfe00) === 0xfc00) return 'private'; // fc00::/7 unique local, includes fd00:ec2::254 (AWS metadata)
  if ((g(0) & 0xffc0) === 0xfe80) return 'private'; // fe80::/10 link-local
  if ((g(0) & 0xffc0) === 0xfec0) return 'private'; // fec0::/10 deprecated site-local
  if ((g(0) & 0xff00) === 0xff00) return 'never'; // ff00::/8 multicast
  return 'public';
}

/**
 * Parses an IPv4 address the way WHATWG URL does: one to four parts, each decimal, `0x` hex or
 * `0`-prefixed octal, the last part filling the remaining bytes (`2130706433`, `0x7f.1`, `017700000001`).
 * Returns the address as an unsigned 32-bit number, or undefined.
 */
export function parseIPv4(text: string): number | undefined {
  let input = text;
  if (input.endsWith('.')) input = input.slice(0, -1); // WHATWG accepts one trailing dot
  if (input === '') return undefined;
  const parts = input.split('.');
  if (parts.length > 4) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    const value = parseIPv4Number(part);
    if (value === undefined) return undefined;
    numbers.push(value);
  }
  const last = numbers.pop() ?? 0;
  if (numbers.some((value) => value > 255)) return undefined;
  if (last >= 256 ** (4 - numbers.length)) return undefined;
  let result = last;
  numbers.forEach((value, index) => {
    result += value * 256 ** (3 - index);
  });
  return result >>> 0;
}

function parseIPv4Number(part: string): number | undefined {
  if (part === '') return undefined;
  let digits = part;
  let radix = 10;
  if (/^0x/i.test(digits)) {
    digits = digits.slice(2);
    radix = 16;
  } else if (digits.length > 1 && digits.startsWith('0')) {
    digits = digits.slice(1);
    radix = 8;
  }
  if (digits === '') return 0; // "0x" alone is zero in WHATWG URL
  const pattern = radix === 16 ? /^[0-9a-f]+$/i : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!pattern.test(digits)) return undefined;
  const value = Number.parseInt(digits, radix);
  // Anything above 2^32 cannot be an address; also keeps parseInt inside exact integers.
  return Number.isSafeInteger(value) && value <= 0xffffffff ? value : undefined;
}

/** Parses an IPv6 address (with `::`, an embedded dotted IPv4 tail, and an optional `%zone`) into eight 16-bit groups. */
export function parseIPv6(text: string): number[] | undefined {
  let input = text.toLowerCase();
  const zone = input.indexOf('%');
  if (zone !== -1) input = input.slice(0, zone);
  if (!input.includes(':')) return undefined;

  let tail: number[] = [];
  const lastColon = input.lastIndexOf(':');
  const lastPart = input.slice(lastColon + 1);
  if (lastPart.includes('.')) {
    // Only a strict dotted quad is allowed inside IPv6 text.
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(lastPart)) return undefined;
    const bytes = lastPart.split('.').map(Number);
    if (bytes.some((byte) => byte > 255)) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = bytes;
    tail = [(a << 8) | b, (c << 8) | d];
    // Drop the dotted quad; keep a "::" that ended right before it.
    const head = input.slice(0, lastColon + 1);
    input = head.endsWith('::') ? head : head.slice(0, -1);
  }

  const doubleColon = input.indexOf('::');
  if (doubleColon !== -1 && input.indexOf('::', doubleColon + 1) !== -1) return undefined;
  const parseGroups = (segment: string): number[] | undefined => {
    if (segment === '') return [];
    const groups: number[] = [];
    for (const group of segment.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined;
      groups.push(Number.parseInt(group, 16));
    }
    return groups;
  };

  let groups: number[];
  if (doubleColon === -1) {
    const all = parseGroups(input);
    if (!all) return undefined;
    groups = [...all, ...tail];
    if (groups.length !== 8) return undefined;
  } else {
    const head = parseGroups(input.slice(0, doubleColon));
    const rest = parseGroups(input.slice(doubleColon + 2));
    if (!head || !rest) return undefined;
    const known = head.length + rest.length + tail.length;
    if (known > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - known).fill(0), ...rest, ...tail];
  }
  return groups;
}
