import ipaddr from 'ipaddr.js';
import { SenderError } from './errors';

/**
 * Address ranges that a {@link UrlPolicy} can allow by name:
 * - `loopback`: 127.0.0.0/8 and ::1 (also spelled `::ffff:127.0.0.1`, `0x7f.1`, …);
 * - `private`: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 and unique-local fc00::/7;
 * - `carrier-grade-nat`: 100.64.0.0/10;
 * - `link-local`: 169.254.0.0/16 and fe80::/10 (without the metadata addresses);
 * - `reserved`: 192.0.0.0/24, 198.18.0.0/15 (benchmarking), fec0::/10 (site-local), 64:ff9b:1::/48 (local NAT64);
 * - `metadata`: cloud metadata services (169.254.169.254, 169.254.170.2, 169.254.170.23,
 *   fd00:ec2::254, fd00:ec2::23, 100.100.100.200, 192.0.0.192) and their host names.
 */
export type NamedAddressRange = 'loopback' | 'private' | 'carrier-grade-nat' | 'link-local' | 'reserved' | 'metadata';

/** One entry of {@link UrlPolicy.allow}: a range name, a CIDR block (`10.20.0.0/16`, `fd12::/64`) or one IP address. */
export type UrlPolicyAllowEntry = NamedAddressRange | (string & {});

/** Which endpoint URLs and addresses a sender may deliver to. */
export interface UrlPolicy {
  /** Allow http:// URLs (development). @default false */
  allowHttp?: boolean;
  /**
   * Non-public addresses to allow, by range name (`['loopback']` for local development) or as
   * CIDR blocks / single addresses of your own networks. Cloud metadata addresses are allowed
   * only when named (`'metadata'`, or the exact address); unspecified, multicast, broadcast and
   * other reserved addresses never. @default [] (public addresses only)
   */
  allow?: readonly UrlPolicyAllowEntry[];
  /**
   * @deprecated Use `allow`. `true` is read as `allow: ['loopback', 'private', 'carrier-grade-nat', 'reserved']`:
   * link-local and cloud metadata addresses stay blocked. @default false
   */
  allowPrivateNetworks?: boolean;
}

/** Longest endpoint URL accepted, in characters. */
export const MAX_URL_LENGTH = 2048;

/** Every range name {@link UrlPolicy.allow} accepts. */
export const NAMED_ADDRESS_RANGES: readonly NamedAddressRange[] = ['loopback', 'private', 'carrier-grade-nat', 'link-local', 'reserved', 'metadata'];

/** What `allowPrivateNetworks: true` (deprecated) stands for. */
const LEGACY_PRIVATE_RANGES: readonly NamedAddressRange[] = ['loopback', 'private', 'carrier-grade-nat', 'reserved'];

// Names that resolve to the machine itself or to a cloud metadata service. Refused by name so the
// error comes when the endpoint is saved; the connect-time address check covers every other name.
const LOOPBACK_HOSTNAMES = new Set(['localhost', 'localhost.localdomain']);
const METADATA_HOSTNAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

function cidr(text: string): Cidr {
  return ipaddr.parseCIDR(text);
}

// Cloud metadata services: exact addresses, so that allowing their enclosing range (link-local,
// unique-local, CGNAT) never allows them by accident.
const METADATA: readonly Cidr[] = [
  '169.254.169.254/32', // AWS, GCP, Azure, OpenStack, DigitalOcean…
  '169.254.170.2/32', // AWS ECS task metadata
  '169.254.170.23/32', // AWS EKS pod identity
  'fd00:ec2::254/128', // AWS over IPv6
  'fd00:ec2::23/128', // AWS EKS pod identity over IPv6
  '100.100.100.200/32', // Alibaba Cloud
  '192.0.0.192/32', // Oracle Cloud
].map(cidr);

// Never a webhook target, whatever the policy: "this network", multicast, reserved and broadcast.
const NEVER: readonly Cidr[] = ['0.0.0.0/8', '224.0.0.0/4', '240.0.0.0/4', '::/128', 'ff00::/8'].map(cidr);

const RANGES: ReadonlyArray<[NamedAddressRange, readonly Cidr[]]> = [
  ['loopback', ['127.0.0.0/8', '::1/128'].map(cidr)],
  ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'].map(cidr)],
  ['carrier-grade-nat', ['100.64.0.0/10'].map(cidr)],
  ['link-local', ['169.254.0.0/16', 'fe80::/10'].map(cidr)],
  ['reserved', ['192.0.0.0/24', '198.18.0.0/15', 'fec0::/10', '64:ff9b:1::/48'].map(cidr)],
];

/** Which range an address is in: a named range, `public`, `never` (no policy allows it) or `invalid` (not an IP address). */
export type AddressRange = NamedAddressRange | 'public' | 'never' | 'invalid';

/** A policy checked and compiled once: see {@link compileUrlPolicy}. */
export interface CompiledUrlPolicy {
  /** http:// URLs are allowed. */
  readonly allowHttp: boolean;
  /** Range names allowed. */
  readonly names: ReadonlySet<NamedAddressRange>;
  /** CIDR blocks allowed. */
  readonly blocks: readonly Cidr[];
  /** True when the deprecated `allowPrivateNetworks` was used. */
  readonly usesDeprecatedSwitch: boolean;
}

const compiled = new WeakMap<object, CompiledUrlPolicy>();
const EMPTY_POLICY: CompiledUrlPolicy = { allowHttp: false, names: new Set(), blocks: [], usesDeprecatedSwitch: false };

function invalidOption(message: string): SenderError {
  return new SenderError('invalid_option', message, { details: { field: 'urlPolicy' } });
}

/**
 * Checks a URL policy and compiles it; bad entries throw `SenderError('invalid_option')` naming
 * the entry. Cached per policy object.
 */
export function compileUrlPolicy(policy: UrlPolicy | undefined): CompiledUrlPolicy {
  if (policy === undefined) return EMPTY_POLICY;
  if (typeof policy !== 'object' || policy === null) throw invalidOption('urlPolicy must be an object like { allowHttp, allow }.');
  const cached = compiled.get(policy);
  if (cached) return cached;
  if (policy.allowHttp !== undefined && typeof policy.allowHttp !== 'boolean') throw invalidOption('urlPolicy.allowHttp must be true or false.');
  if (policy.allowPrivateNetworks !== undefined && typeof policy.allowPrivateNetworks !== 'boolean') throw invalidOption('urlPolicy.allowPrivateNetworks must be true or false.');
  const allow: readonly unknown[] = policy.allow ?? [];
  if (!Array.isArray(allow)) throw invalidOption("urlPolicy.allow must be a list, e.g. ['loopback'] or ['10.20.0.0/16'].");
  const names = new Set<NamedAddressRange>();
  const blocks: Cidr[] = [];
  for (const entry of allow) {
    if (typeof entry === 'string' && (NAMED_ADDRESS_RANGES as readonly string[]).includes(entry)) {
      names.add(entry as NamedAddressRange);
      continue;
    }
    const block = typeof entry === 'string' ? parseAllowBlock(entry) : undefined;
    if (!block) {
      throw invalidOption(
        `urlPolicy.allow entry ${JSON.stringify(String(entry).slice(0, 64))} is neither a range name (${NAMED_ADDRESS_RANGES.join(', ')}) nor a CIDR block or IP address.`,
      );
    }
    blocks.push(block);
  }
  if (policy.allowPrivateNetworks === true) for (const name of LEGACY_PRIVATE_RANGES) names.add(name);
  const result: CompiledUrlPolicy = { allowHttp: policy.allowHttp === true, names, blocks, usesDeprecatedSwitch: policy.allowPrivateNetworks === true };
  compiled.set(policy, result);
  return result;
}

/** `10.0.0.0/8`, `fd12::/64`, or one address (a /32 or /128 block); undefined when neither. */
function parseAllowBlock(text: string): Cidr | undefined {
  try {
    if (text.includes('/')) {
      return ipaddr.IPv4.isValidCIDRFourPartDecimal(text) || ipaddr.IPv6.isValidCIDR(text) ? ipaddr.parseCIDR(text) : undefined;
    }
    if (!ipaddr.IPv4.isValidFourPartDecimal(text) && !ipaddr.IPv6.isValid(text)) return undefined;
    const address = unwrap(ipaddr.parse(text));
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return undefined;
  }
}

/** The IPv4 address inside an IPv4-mapped IPv6 address, else the address itself. */
function unwrap(address: Address): Address {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
}

/**
 * Parses and checks an endpoint URL when it is saved; throws SenderError invalid_url | insecure_url | blocked_address.
 * Refuses (never rewrites) what the URL parser would silently repair: control characters, white
 * space, backslashes, a missing host (`https:///path`), missing slashes (`https:host`) and an
 * empty user part (`https://@host`). Literal IPs are checked here; hostnames at connect time.
 * `details.reason` says what is wrong. `sender.endpoints.create` and `update` call it; call it
 * yourself to check a URL in a form before saving it.
 *
 * @param url - The URL as the user typed it.
 * @param policy - The sender's URL policy (default: https, public addresses only).
 * @returns The parsed URL; its `href` is what the sender stores.
 * @throws {@link SenderError} `invalid_url` (`details.reason`: `whitespace`, `missing_host`,
 *   `credentials`, …), `insecure_url` (http without `allowHttp`), `blocked_address` (a
 *   non-public IP address, or a local or metadata host name), or `invalid_option` for a bad policy.
 *
 * @example
 * ```ts
 * import { SenderError, assertEndpointUrl } from '@hooks/sender';
 *
 * const urlPolicy = { allowHttp: true, allow: ['loopback'] }; // the same policy as the sender's
 * try {
 *   const url = assertEndpointUrl('http://127.0.0.1:4000/hooks', urlPolicy);
 *   console.log(url.href);
 * } catch (error) {
 *   if (!SenderError.isInstance(error)) throw error;
 *   console.log(error.code, error.details?.reason); // e.g. 'invalid_url' 'whitespace'
 * }
 * ```
 */
export function assertEndpointUrl(url: string, policy: UrlPolicy = {}): URL {
  const rules = compileUrlPolicy(policy);
  if (typeof url !== 'string' || url.length === 0) throw invalidUrl('empty', 'The endpoint URL must be a non-empty string.');
  if (url.length > MAX_URL_LENGTH) throw invalidUrl('too_long', `The endpoint URL is longer than ${MAX_URL_LENGTH} characters.`, { maxLength: MAX_URL_LENGTH });
  // The WHATWG parser deletes tab, CR and LF anywhere and trims control characters and spaces at
  // the ends: what was typed would not be what is stored, so these are refused instead.
  const control = /[\u0000-\u001f\u007f-\u009f]/.exec(url);
  if (control) {
    throw invalidUrl('control_character', `The endpoint URL contains a control character (U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}) at position ${control.index + 1}.`, {
      position: control.index + 1,
    });
  }
  const space = /\s/.exec(url);
  if (space) throw invalidUrl('whitespace', `The endpoint URL contains white space at position ${space.index + 1}; encode it as %20 if it belongs in the path.`, { position: space.index + 1 });
  if (url.includes('\\')) throw invalidUrl('backslash', 'The endpoint URL contains a backslash; use "/" in URLs.');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) throw invalidUrl('not_absolute', 'The endpoint URL is not an absolute URL (it must start with https://).');
  if (scheme !== 'https' && scheme !== 'http') {
    throw invalidUrl('unsupported_scheme', `The endpoint URL must use https (got ${scheme.slice(0, 20)}:).`, { protocol: `${scheme.slice(0, 20)}:` });
  }
  const rest = url.slice(scheme.length + 1);
  if (!rest.startsWith('//')) throw invalidUrl('missing_slashes', `The endpoint URL must start with ${scheme}:// followed by the host.`);
  const authority = /^\/\/([^/?#]*)/.exec(rest)?.[1] ?? '';
  if (authority === '') throw invalidUrl('missing_host', `The endpoint URL has no host: it must look like ${scheme}://host/path.`);
  // Credentials in a URL end up in logs and dashboards; receivers authenticate by signature instead.
  if (authority.includes('@')) throw invalidUrl('credentials', 'The endpoint URL must not contain a user name or password.');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw invalidUrl('unparseable', 'The endpoint URL is not a valid absolute URL.', {}, cause);
  }
  if (parsed.protocol === 'http:' && !rules.allowHttp) {
    throw new SenderError('insecure_url', 'The endpoint URL must use https; http is allowed only with urlPolicy.allowHttp.', { details: { reason: 'http' } });
  }
  if (parsed.hostname === '') throw invalidUrl('missing_host', 'The endpoint URL has no host.');
  if (parsed.href.length > MAX_URL_LENGTH) throw invalidUrl('too_long', `The endpoint URL is longer than ${MAX_URL_LENGTH} characters.`, { maxLength: MAX_URL_LENGTH });

  const host = parsed.hostname;
  if (host.startsWith('[') || parseIPv4(host) !== undefined) {
    if (isBlockedAddress(host, policy)) {
      throw new SenderError('blocked_address', 'The endpoint URL points to an address that is not allowed (private, loopback, link-local, metadata or reserved).', {
        details: { reason: 'blocked_address', range: addressRange(host) },
      });
    }
  } else if (isBlockedHostname(host, policy)) {
    throw new SenderError('blocked_address', 'The endpoint URL points to a host name that is not allowed (local machine or cloud metadata).', { details: { reason: 'blocked_hostname' } });
  }
  return parsed;
}

function invalidUrl(reason: string, message: string, details: Record<string, unknown> = {}, cause?: unknown): SenderError {
  return new SenderError('invalid_url', message, { details: { reason, ...details }, cause });
}

/**
 * True for a host name refused by name: `localhost`, `*.localhost` (unless the policy allows
 * `loopback`) and cloud metadata names (unless it allows `metadata`); any case, trailing dot ignored.
 */
export function isBlockedHostname(hostname: string, policy: UrlPolicy = {}): boolean {
  const rules = compileUrlPolicy(policy);
  const name = hostname.toLowerCase().replace(/\.+$/, '');
  if (LOOPBACK_HOSTNAMES.has(name) || name.endsWith('.localhost')) return !rules.names.has('loopback');
  if (METADATA_HOSTNAMES.has(name)) return !rules.names.has('metadata');
  return false;
}

/**
 * True when an IP address (v4, v6, v4-mapped v6, any spelling) is not allowed by the policy.
 * Unspecified, multicast, broadcast and reserved addresses are never allowed; loopback, private,
 * link-local, CGNAT and the other special ranges only when `policy.allow` names them or lists a
 * CIDR block containing the address; cloud metadata addresses only by the name `metadata` or
 * their exact address. A string that is not an IP address counts as blocked: the check fails closed.
 *
 * @param address - An IP address, in any spelling (`::ffff:10.0.0.5`, `0x7f.1`, `[::1]`).
 * @param policy - The URL policy (default: public addresses only).
 * @returns True when the sender would refuse to connect to it.
 *
 * @example
 * ```ts
 * import { isBlockedAddress } from '@hooks/sender';
 *
 * isBlockedAddress('93.184.216.34'); // false: public
 * isBlockedAddress('10.0.0.5'); // true: private
 * isBlockedAddress('10.0.0.5', { allow: ['10.0.0.0/8'] }); // false
 * isBlockedAddress('169.254.169.254', { allow: ['link-local'] }); // true: metadata only by name or exact address
 * ```
 */
export function isBlockedAddress(address: string, policy: UrlPolicy = {}): boolean {
  const rules = compileUrlPolicy(policy);
  const found = locate(address);
  if (found.range === 'public') return false;
  if (found.range === 'never' || found.range === 'invalid') return true;
  if (rules.names.has(found.range)) return false;
  const candidates = found.embedded ? [found.address, found.embedded] : [found.address];
  for (const [block, prefix] of rules.blocks) {
    // A metadata address is allowed by a block only when the block names that one address.
    if (found.range === 'metadata' && prefix !== (block.kind() === 'ipv4' ? 32 : 128)) continue;
    if (candidates.some((candidate) => candidate.kind() === block.kind() && candidate.match(block, prefix))) return false;
  }
  return true;
}

/** The range of an IP address in any spelling (see {@link AddressRange}). */
export function addressRange(address: string): AddressRange {
  return locate(address).range;
}

/** How an address is treated without a policy: `public` (allowed), `private` (allowed only when the policy allows its range), `never`, `invalid`. */
export type AddressClass = 'public' | 'private' | 'never' | 'invalid';

/** Classifies an IP address in any spelling WHATWG URL or the OS accept: bracketed IPv6, zone ids, decimal/octal/hex IPv4. */
export function classifyAddress(address: string): AddressClass {
  const range = addressRange(address);
  return range === 'public' || range === 'never' || range === 'invalid' ? range : 'private';
}

interface Located {
  range: AddressRange;
  /** The parsed address (undefined when invalid). */
  address: Address;
  /** The IPv4 address an IPv6 address carries (mapped, translated, NAT64, 6to4), which the OS or a gateway may route to. */
  embedded?: ipaddr.IPv4 | undefined;
}

const INVALID: Located = { range: 'invalid', address: ipaddr.parse('0.0.0.0') };

function locate(input: string): Located {
  if (typeof input !== 'string' || input.length === 0 || input.length > 100) return INVALID;
  let text = input.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const v4 = parseIPv4(text);
  if (v4 !== undefined) {
    const address = ipaddr.fromByteArray([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255]) as ipaddr.IPv4;
    return { range: rangeOf(address), address };
  }
  let v6: ipaddr.IPv6;
  try {
    if (!text.includes(':') || !ipaddr.IPv6.isValid(text)) return INVALID;
    v6 = ipaddr.IPv6.parse(text);
  } catch {
    return INVALID;
  }
  const embedded = embeddedIPv4(v6.parts);
  if (embedded) return { range: rangeOf(embedded), address: v6, embedded };
  return { range: rangeOf(v6), address: v6 };
}

function rangeOf(address: Address): AddressRange {
  const within = (blocks: readonly Cidr[]) => blocks.some(([block, prefix]) => block.kind() === address.kind() && address.match(block, prefix));
  if (within(METADATA)) return 'metadata';
  if (within(NEVER)) return 'never';
  for (const [name, blocks] of RANGES) if (within(blocks)) return name;
  return 'public';
}

/** The IPv4 address carried by an IPv6 address that a host or gateway may route to IPv4; undefined for the rest. */
function embeddedIPv4(groups: readonly number[]): ipaddr.IPv4 | undefined {
  const g = (index: number): number => groups[index] ?? 0;
  const zeroUpTo = (end: number): boolean => groups.slice(0, end).every((group) => group === 0);
  const fromGroups = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 255, low >> 8, low & 255]);
  // :: and ::1 are themselves (unspecified, loopback), not IPv4-compatible addresses.
  if (zeroUpTo(7) && g(7) <= 1) return undefined;
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (deprecated compatible).
  if (zeroUpTo(5) && (g(5) === 0xffff || g(5) === 0)) return fromGroups(g(6), g(7));
  // ::ffff:0:a.b.c.d, SIIT IPv4-translated (RFC 2765).
  if (zeroUpTo(4) && g(4) === 0xffff && g(5) === 0) return fromGroups(g(6), g(7));
  // 64:ff9b::/96, the well-known NAT64 prefix: a gateway forwards to the embedded IPv4.
  if (g(0) === 0x64 && g(1) === 0xff9b && g(2) === 0 && g(3) === 0 && g(4) === 0 && g(5) === 0) return fromGroups(g(6), g(7));
  // 2002::/16, 6to4: bits 16..48 are the IPv4 of the relay target.
  if (g(0) === 0x2002) return fromGroups(g(1), g(2));
  return undefined;
}

/**
 * Reads an IPv4 address the way WHATWG URL (Node's own parser) does: one to four parts, each
 * decimal, `0x` hex or `0`-prefixed octal, the last part filling the remaining bytes
 * (`2130706433`, `0x7f.1`, `017700000001`). Returns the address as an unsigned 32-bit number, or undefined.
 */
export function parseIPv4(text: string): number | undefined {
  // Only characters an IPv4 spelling can have, so nothing else of a URL (a path, a user) is parsed.
  if (typeof text !== 'string' || text.length === 0 || text.length > 64 || !/^[0-9A-Fa-fXx.]+$/.test(text)) return undefined;
  let hostname: string;
  try {
    hostname = new URL(`http://${text}/`).hostname;
  } catch {
    return undefined;
  }
  if (!ipaddr.IPv4.isValidFourPartDecimal(hostname)) return undefined;
  const [a = 0, b = 0, c = 0, d = 0] = ipaddr.IPv4.parse(hostname).octets;
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** Parses an IPv6 address (with `::`, an embedded dotted IPv4 tail, and an optional `%zone`) into eight 16-bit groups. */
export function parseIPv6(text: string): number[] | undefined {
  if (typeof text !== 'string' || !text.includes(':')) return undefined;
  try {
    return ipaddr.IPv6.isValid(text) ? [...ipaddr.IPv6.parse(text).parts] : undefined;
  } catch {
    return undefined;
  }
}
