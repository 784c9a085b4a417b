import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SenderError } from '../src/errors';
import { makeSender } from './support';
import { addressRange, assertEndpointUrl, classifyAddress, compileUrlPolicy, isBlockedAddress, isBlockedHostname, parseIPv4, parseIPv6 } from '../src/url-policy';
import type { UrlPolicy } from '../src/url-policy';

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (SenderError.isInstance(error)) return error.code;
    throw error;
  }
  return 'ok';
}

describe('isBlockedAddress', () => {
  const blocked = [
    // IPv4 private, loopback, link-local, CGNAT, metadata, reserved
    '0.0.0.0',
    '0.1.2.3',
    '10.0.0.1',
    '10.255.255.255',
    '100.64.0.1',
    '100.127.255.254',
    '127.0.0.1',
    '127.0.0.2',
    '127.255.255.255',
    '169.254.0.1',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.0.0.1',
    '192.0.0.192',
    '192.168.0.1',
    '192.168.255.255',
    '198.18.0.1',
    '198.19.255.255',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    // other IPv4 spellings, as WHATWG URL and inet_aton read them
    '2130706433',
    '0x7f000001',
    '0x7f.1',
    '0x7F.0.0.1',
    '017700000001',
    '0177.0.0.1',
    '127.1',
    '127.0.1',
    '10.1',
    '0',
    '127.0.0.1.',
    // IPv6
    '::',
    '::1',
    '0:0:0:0:0:0:0:1',
    '[::1]',
    'fc00::1',
    'fd12:3456::1',
    'fd00:ec2::254',
    'FD00:EC2::254',
    'fe80::1',
    'fe80::1%eth0',
    '[fe80::1%25eth0]',
    'febf::1',
    'fec0::1',
    'ff02::1',
    'ff05::1:3',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::FFFF:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '::ffff:10.0.0.1',
    '0:0:0:0:0:ffff:c0a8:101',
    '::127.0.0.1',
    '::10.0.0.1',
    '::ffff:0:127.0.0.1',
    '64:ff9b::127.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b:1::1',
    '2002:7f00:1::',
    '2002:a9fe:a9fe::1',
    '2002:c0a8:101::',
    // not addresses at all: fail closed
    '',
    'localhost',
    'example.com',
    '1.2.3.4.5',
    '256.1.1.1',
    '1.2.3.256',
    '0x100000000',
    '1::2::3',
    '12345::',
    ':::',
    '::1.2.3',
  ];
  const allowed = [
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '126.255.255.255',
    '128.0.0.0',
    '169.253.255.255',
    '169.255.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.0',
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '203.0.113.10',
    '223.255.255.255',
    '134744072',
    '0x8.0x8.0x8.0x8',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '[2001:4860:4860::8888]',
    '::ffff:8.8.8.8',
    '::ffff:808:808',
    '64:ff9b::8.8.8.8',
    '2002:808:808::',
    'fbff::1',
    'fe7f::1',
    '2001:db8:1:2:3:4:5:6',
  ];

  it.each(blocked)('refuses %s', (address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });

  it.each(allowed)('allows %s', (address) => {
    expect(isBlockedAddress(address)).toBe(false);
  });

  it.each(['127.0.0.1', '10.0.0.1', '::1', 'fd12::1', '::ffff:192.168.0.1', '100.64.1.1', '198.18.0.1'])(
    'allows private %s with the deprecated allowPrivateNetworks',
    (address) => {
      expect(isBlockedAddress(address, { allowPrivateNetworks: true })).toBe(false);
    },
  );

  it.each(['0.0.0.0', '224.0.0.1', '255.255.255.255', '240.1.2.3', '::', 'ff02::1', 'not-an-ip'])('never allows %s, even with allowPrivateNetworks', (address) => {
    expect(isBlockedAddress(address, { allowPrivateNetworks: true })).toBe(true);
  });

  it.each(['169.254.169.254', '169.254.170.2', 'fd00:ec2::254', '100.100.100.200', '192.0.0.192', '::ffff:169.254.169.254', 'fe80::1', '169.254.1.1'])(
    'keeps link-local and metadata %s blocked with the deprecated allowPrivateNetworks',
    (address) => {
      expect(isBlockedAddress(address, { allowPrivateNetworks: true })).toBe(true);
    },
  );

  it('classifies addresses', () => {
    expect(classifyAddress('8.8.8.8')).toBe('public');
    expect(classifyAddress('10.0.0.1')).toBe('private');
    expect(classifyAddress('224.0.0.1')).toBe('never');
    expect(classifyAddress('nope')).toBe('invalid');
  });
});

describe('granular URL policy (allow)', () => {
  const cases: Array<[address: string, allow: UrlPolicy['allow'], blocked: boolean]> = [
    // loopback only: every spelling of loopback, nothing else
    ['127.0.0.1', ['loopback'], false],
    ['127.0.0.2', ['loopback'], false],
    ['::1', ['loopback'], false],
    ['[::1]', ['loopback'], false],
    ['::ffff:127.0.0.1', ['loopback'], false],
    ['0x7f.1', ['loopback'], false],
    ['10.0.0.1', ['loopback'], true],
    ['192.168.1.1', ['loopback'], true],
    ['169.254.169.254', ['loopback'], true],
    ['fd00:ec2::254', ['loopback'], true],
    // named ranges
    ['10.1.2.3', ['private'], false],
    ['fd12::1', ['private'], false],
    ['fd00:ec2::254', ['private'], true],
    ['100.64.0.1', ['carrier-grade-nat'], false],
    ['100.100.100.200', ['carrier-grade-nat'], true],
    ['169.254.1.1', ['link-local'], false],
    ['fe80::1', ['link-local'], false],
    ['169.254.169.254', ['link-local'], true],
    ['169.254.170.2', ['link-local'], true],
    ['169.254.169.254', ['metadata'], false],
    ['fd00:ec2::254', ['metadata'], false],
    ['100.100.100.200', ['metadata'], false],
    ['192.0.0.192', ['metadata'], false],
    ['198.18.0.1', ['reserved'], false],
    // CIDR blocks and single addresses
    ['10.20.1.1', ['10.20.0.0/16'], false],
    ['10.21.0.1', ['10.20.0.0/16'], true],
    ['::ffff:10.20.1.1', ['10.20.0.0/16'], false],
    ['fd12:3456::9', ['fd12:3456::/32'], false],
    ['fd12:3457::9', ['fd12:3456::/32'], true],
    ['192.168.7.7', ['192.168.7.7'], false],
    ['192.168.7.8', ['192.168.7.7'], true],
    // metadata needs its name or its exact address, never a wider block
    ['169.254.169.254', ['169.254.0.0/16'], true],
    ['169.254.169.254', ['169.254.169.254/32'], false],
    ['169.254.169.254', ['169.254.169.254'], false],
    ['100.100.100.200', ['100.64.0.0/10'], true],
    // never: whatever is allowed
    ['0.0.0.0', ['loopback', 'private', 'link-local', 'metadata', 'reserved', 'carrier-grade-nat', '0.0.0.0/0'], true],
    ['224.0.0.1', ['0.0.0.0/0'], true],
    ['255.255.255.255', ['0.0.0.0/0'], true],
    ['::', ['::/0'], true],
    ['ff02::1', ['::/0'], true],
  ];

  it.each(cases)('%s with allow %j → blocked %s', (address, allow, blocked) => {
    expect(isBlockedAddress(address, { allow })).toBe(blocked);
  });

  it('names the range of an address', () => {
    expect(addressRange('127.0.0.9')).toBe('loopback');
    expect(addressRange('[::ffff:169.254.169.254]')).toBe('metadata');
    expect(addressRange('fe80::1%eth0')).toBe('link-local');
    expect(addressRange('8.8.8.8')).toBe('public');
    expect(addressRange('239.1.1.1')).toBe('never');
    expect(addressRange('nope')).toBe('invalid');
  });

  it('allows localhost names with loopback and metadata names only with metadata', () => {
    expect(isBlockedHostname('localhost', { allow: ['loopback'] })).toBe(false);
    expect(isBlockedHostname('api.localhost', { allow: ['loopback'] })).toBe(false);
    expect(isBlockedHostname('metadata.google.internal', { allow: ['loopback', 'private', 'link-local'] })).toBe(true);
    expect(isBlockedHostname('metadata.google.internal', { allow: ['metadata'] })).toBe(false);
    expect(isBlockedHostname('localhost', { allowPrivateNetworks: true })).toBe(false);
    expect(isBlockedHostname('metadata.google.internal', { allowPrivateNetworks: true })).toBe(true);
  });

  it.each([
    [{ allow: ['loopbak'] }, 'loopbak'],
    [{ allow: ['10.0.0.0/33'] }, '10.0.0.0/33'],
    [{ allow: ['999.1.1.1'] }, '999.1.1.1'],
    [{ allow: [42] }, '42'],
    [{ allow: 'loopback' }, 'list'],
    [{ allowHttp: 'yes' }, 'allowHttp'],
    [{ allowPrivateNetworks: 1 }, 'allowPrivateNetworks'],
  ])('answers a bad policy %j with invalid_option naming the problem', (policy, mentioned) => {
    let error: unknown;
    try {
      compileUrlPolicy(policy as unknown as UrlPolicy);
    } catch (caught) {
      error = caught;
    }
    expect(SenderError.isInstance(error) && error.code).toBe('invalid_option');
    expect((error as Error).message).toContain(mentioned);
    expect(() => makeSender({ urlPolicy: policy as unknown as UrlPolicy })).toThrow(expect.objectContaining({ code: 'invalid_option' }));
  });

  it('compiles a policy once and allows the deprecated switch with a warning', () => {
    const policy: UrlPolicy = { allow: ['loopback'] };
    expect(compileUrlPolicy(policy)).toBe(compileUrlPolicy(policy));
    expect(compileUrlPolicy({ allowPrivateNetworks: true }).usesDeprecatedSwitch).toBe(true);
  });
});

// Random addresses inside and outside every private range.
const byte = fc.integer({ min: 0, max: 255 });
const privateIPv4 = fc.oneof(
  fc.tuple(fc.constant(10), byte, byte, byte),
  fc.tuple(fc.constant(127), byte, byte, byte),
  fc.tuple(fc.constant(0), byte, byte, byte),
  fc.tuple(fc.constant(100), fc.integer({ min: 64, max: 127 }), byte, byte),
  fc.tuple(fc.constant(169), fc.constant(254), byte, byte),
  fc.tuple(fc.constant(172), fc.integer({ min: 16, max: 31 }), byte, byte),
  fc.tuple(fc.constant(192), fc.constant(0), fc.constant(0), byte),
  fc.tuple(fc.constant(192), fc.constant(168), byte, byte),
  fc.tuple(fc.constant(198), fc.integer({ min: 18, max: 19 }), byte, byte),
  fc.tuple(fc.integer({ min: 224, max: 255 }), byte, byte, byte),
);

function isInPrivateRange([a, b, c]: number[]): boolean {
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && (b ?? 0) >= 64 && (b ?? 0) <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && (b ?? 0) >= 16 && (b ?? 0) <= 31) ||
    (a === 192 && b === 0 && c === 0) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) ||
    (a ?? 0) >= 224
  );
}
const publicIPv4 = fc.tuple(byte, byte, byte, byte).filter((parts) => !isInPrivateRange(parts));

const dotted = (parts: number[]) => parts.join('.');
const asNumber = (parts: number[]) => parts.reduce((total, part) => total * 256 + part, 0);
const mappedHex = (parts: number[]) => {
  const [a = 0, b = 0, c = 0, d = 0] = parts;
  return `::ffff:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
};
const spellings = [
  dotted,
  (parts: number[]) => String(asNumber(parts)),
  (parts: number[]) => `0x${asNumber(parts).toString(16)}`,
  (parts: number[]) => `0${asNumber(parts).toString(8)}`,
  (parts: number[]) => parts.map((part) => `0x${part.toString(16)}`).join('.'),
  (parts: number[]) => `::ffff:${dotted(parts)}`,
  mappedHex,
  (parts: number[]) => `[${mappedHex(parts)}]`,
  (parts: number[]) => `64:ff9b::${dotted(parts)}`,
];

describe('isBlockedAddress properties', () => {
  it('refuses every private IPv4 in every spelling', () => {
    fc.assert(
      fc.property(privateIPv4, fc.constantFrom(...spellings), (parts, spell) => {
        expect(isBlockedAddress(spell(parts))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('allows every public IPv4 in every spelling', () => {
    fc.assert(
      fc.property(publicIPv4, fc.constantFrom(...spellings), (parts, spell) => {
        expect(isBlockedAddress(spell(parts))).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with WHATWG URL on what an IPv4 host is', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(10, 16, 8), (value, radix) => {
        const text = radix === 16 ? `0x${value.toString(16)}` : radix === 8 ? `0${value.toString(8)}` : String(value);
        const hostname = new URL(`http://${text}/`).hostname;
        expect(parseIPv4(text)).toBe(value);
        expect(parseIPv4(hostname)).toBe(value);
      }),
      { numRuns: 500 },
    );
  });

  it('parses any IPv6 Node can print', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), (groups) => {
        const text = groups.map((group) => group.toString(16)).join(':');
        const hostname = new URL(`http://[${text}]/`).hostname.slice(1, -1);
        expect(parseIPv6(hostname)).toEqual(groups);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses random unique-local and link-local IPv6', () => {
    const group = fc.integer({ min: 0, max: 0xffff });
    fc.assert(
      fc.property(fc.integer({ min: 0xfc00, max: 0xfdff }), fc.integer({ min: 0xfe80, max: 0xfebf }), group, group, (uniqueLocal, linkLocal, x, y) => {
        expect(isBlockedAddress(`${uniqueLocal.toString(16)}::${x.toString(16)}:${y.toString(16)}`)).toBe(true);
        expect(isBlockedAddress(`${linkLocal.toString(16)}::${x.toString(16)}`)).toBe(true);
      }),
    );
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(typeof isBlockedAddress(text)).toBe('boolean');
      }),
    );
  });
});

describe('assertEndpointUrl', () => {
  const table: Array<[url: string, policy: UrlPolicy, expected: string]> = [
    ['https://example.com/webhooks', {}, 'ok'],
    ['https://example.com:8443/a?b=c#d', {}, 'ok'],
    ['https://8.8.8.8/hook', {}, 'ok'],
    ['https://[2606:4700:4700::1111]/hook', {}, 'ok'],
    ['HTTPS://EXAMPLE.COM/', {}, 'ok'],
    ['https://xn--bcher-kva.example/', {}, 'ok'],
    ['https://bücher.example/', {}, 'ok'],
    ['http://example.com/', {}, 'insecure_url'],
    ['http://example.com/', { allowHttp: true }, 'ok'],
    ['ftp://example.com/', {}, 'invalid_url'],
    ['file:///etc/passwd', {}, 'invalid_url'],
    ['javascript:alert(1)', {}, 'invalid_url'],
    ['data:text/plain,hi', {}, 'invalid_url'],
    ['gopher://127.0.0.1:6379/_', {}, 'invalid_url'],
    ['ws://example.com/', {}, 'invalid_url'],
    ['not a url', {}, 'invalid_url'],
    ['/relative/path', {}, 'invalid_url'],
    ['', {}, 'invalid_url'],
    ['https://', {}, 'invalid_url'],
    ['https://user:pass@example.com/', {}, 'invalid_url'],
    ['https://user@example.com/', {}, 'invalid_url'],
    ['https://:pass@example.com/', {}, 'invalid_url'],
    [`https://example.com/${'a'.repeat(2100)}`, {}, 'invalid_url'],
    ['https://127.0.0.1/', {}, 'blocked_address'],
    ['https://127.0.0.1/', { allowPrivateNetworks: true }, 'ok'],
    ['http://127.0.0.1:3000/', { allowHttp: true, allowPrivateNetworks: true }, 'ok'],
    ['http://127.0.0.1:3000/', { allowPrivateNetworks: true }, 'insecure_url'],
    ['https://2130706433/', {}, 'blocked_address'],
    ['https://0x7f.1/', {}, 'blocked_address'],
    ['https://017700000001/', {}, 'blocked_address'],
    ['https://0177.0.0.1/', {}, 'blocked_address'],
    ['https://127.1/', {}, 'blocked_address'],
    ['https://0/', {}, 'blocked_address'],
    ['https://0.0.0.0/', { allowPrivateNetworks: true }, 'blocked_address'],
    ['https://10.0.0.8/', {}, 'blocked_address'],
    ['https://169.254.169.254/latest/meta-data/', {}, 'blocked_address'],
    ['https://100.100.100.200/', {}, 'blocked_address'],
    ['https://192.168.1.1/', {}, 'blocked_address'],
    ['https://172.20.0.1/', {}, 'blocked_address'],
    ['https://224.0.0.1/', {}, 'blocked_address'],
    ['https://255.255.255.255/', {}, 'blocked_address'],
    ['https://[::1]/', {}, 'blocked_address'],
    ['https://[::]/', {}, 'blocked_address'],
    ['https://[0:0:0:0:0:0:0:1]/', {}, 'blocked_address'],
    ['https://[::ffff:127.0.0.1]/', {}, 'blocked_address'],
    ['https://[::ffff:7f00:1]/', {}, 'blocked_address'],
    ['https://[::ffff:169.254.169.254]/', {}, 'blocked_address'],
    ['https://[fd00:ec2::254]/', {}, 'blocked_address'],
    ['https://[fe80::1]/', {}, 'blocked_address'],
    ['https://[fc00::1]/', {}, 'blocked_address'],
    ['https://[64:ff9b::a9fe:a9fe]/', {}, 'blocked_address'],
    ['https://[2002:7f00:1::]/', {}, 'blocked_address'],
    ['https://[ff02::1]/', {}, 'blocked_address'],
    ['https://localhost/', {}, 'blocked_address'],
    ['https://LOCALHOST./', {}, 'blocked_address'],
    ['https://api.localhost/', {}, 'blocked_address'],
    ['https://metadata.google.internal/computeMetadata/v1/', {}, 'blocked_address'],
    ['https://metadata.google.internal./', {}, 'blocked_address'],
    ['https://localhost/', { allowPrivateNetworks: true }, 'ok'],
    ['https://localhost/', { allow: ['loopback'] }, 'ok'],
    ['https://127.0.0.2/', { allow: ['loopback'] }, 'ok'],
    ['https://[::1]/', { allow: ['loopback'] }, 'ok'],
    ['https://[::ffff:127.0.0.1]/', { allow: ['loopback'] }, 'ok'],
    ['https://10.0.0.8/', { allow: ['loopback'] }, 'blocked_address'],
    ['https://169.254.169.254/', { allowPrivateNetworks: true }, 'blocked_address'],
    ['https://[fd00:ec2::254]/', { allowPrivateNetworks: true }, 'blocked_address'],
    ['https://100.100.100.200/', { allowPrivateNetworks: true }, 'blocked_address'],
    ['https://metadata.google.internal/', { allowPrivateNetworks: true }, 'blocked_address'],
    ['https://169.254.169.254/', { allow: ['link-local'] }, 'blocked_address'],
    ['https://169.254.169.254/', { allow: ['metadata'] }, 'ok'],
    ['https://localhost.example.com/', {}, 'ok'],
    ['https://mylocalhost/', {}, 'ok'],
  ];

  it.each(table)('%s %j → %s', (url, policy: UrlPolicy, expected) => {
    expect(codeOf(() => assertEndpointUrl(url, policy))).toBe(expected);
  });

  // The WHATWG parser would silently repair each of these; the sender refuses them instead.
  const refused: Array<[url: string, reason: string]> = [
    ['https:///path', 'missing_host'],
    ['https:///example.com/path', 'missing_host'],
    ['https://', 'missing_host'],
    ['https://?x=1', 'missing_host'],
    ['https:example.com/path', 'missing_slashes'],
    ['https:/example.com/path', 'missing_slashes'],
    ['https://exa\nmple.com/', 'control_character'],
    ['https://example.com/a\r\nX-Injected: 1', 'control_character'],
    ['https://example.com/\tpath', 'control_character'],
    ['https://example.com/\u0000', 'control_character'],
    ['https://example.com/\u007f', 'control_character'],
    ['https://example.com/\u0085', 'control_character'],
    ['\u0001https://example.com/', 'control_character'],
    [' https://example.com/', 'whitespace'],
    ['https://example.com/ ', 'whitespace'],
    ['https://example.com/a b', 'whitespace'],
    ['https://example.com/a\u00a0b', 'whitespace'],
    ['https:\\\\example.com\\path', 'backslash'],
    ['https://example.com\\path', 'backslash'],
    ['https://@example.com/', 'credentials'],
    ['https://user@example.com/', 'credentials'],
    ['example.com/hooks', 'not_absolute'],
    ['ftp://example.com/', 'unsupported_scheme'],
  ];

  it.each(refused)('refuses %j with invalid_url (%s) instead of rewriting it', (url, reason) => {
    let error: unknown;
    try {
      assertEndpointUrl(url);
    } catch (caught) {
      error = caught;
    }
    expect(SenderError.isInstance(error) && error.code).toBe('invalid_url');
    expect((error as SenderError).details?.reason).toBe(reason);
  });

  it('refuses a tab, CR or LF inserted anywhere in a valid URL', () => {
    fc.assert(
      fc.property(fc.webUrl({ validSchemes: ['https'] }), fc.nat(), fc.constantFrom('\t', '\r', '\n', '\r\n'), (url, at, character) => {
        const position = at % (url.length + 1);
        const broken = `${url.slice(0, position)}${character}${url.slice(position)}`;
        expect(codeOf(() => assertEndpointUrl(broken))).toBe('invalid_url');
      }),
      { numRuns: 300 },
    );
  });

  it('returns the parsed URL', () => {
    const url = assertEndpointUrl('https://Example.COM:443/a/../b?x=1');
    expect(url.href).toBe('https://example.com/b?x=1');
  });

  it('never puts credentials in the error message', () => {
    try {
      assertEndpointUrl('https://admin:hunter2@example.com/');
      expect.unreachable();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('hunter2');
    }
  });

  it('rejects non-string input with invalid_url', () => {
    expect(codeOf(() => assertEndpointUrl(42 as unknown as string))).toBe('invalid_url');
    expect(codeOf(() => assertEndpointUrl(undefined as unknown as string))).toBe('invalid_url');
  });

  it('refuses every literal private IPv4 URL and allows every public one', () => {
    fc.assert(
      fc.property(privateIPv4, publicIPv4, fc.constantFrom(...spellings.slice(0, 5)), (privateParts, publicParts, spell) => {
        expect(codeOf(() => assertEndpointUrl(`https://${spell(privateParts)}/hook`))).toBe('blocked_address');
        expect(codeOf(() => assertEndpointUrl(`https://${spell(publicParts)}/hook`))).toBe('ok');
      }),
      { numRuns: 1000 },
    );
  });

  it('answers any string with a URL or a typed error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl(), fc.string().map((text) => `https://${text}`)), (text) => {
        expect(['ok', 'invalid_url', 'insecure_url', 'blocked_address']).toContain(codeOf(() => assertEndpointUrl(text)));
      }),
      { numRuns: 1000 },
    );
  });

  it('names blocked hosts', () => {
    expect(isBlockedHostname('Localhost')).toBe(true);
    expect(isBlockedHostname('a.b.localhost.')).toBe(true);
    expect(isBlockedHostname('example.com')).toBe(false);
  });
});
