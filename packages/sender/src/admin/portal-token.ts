import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { checkTenant } from '../endpoints';
import { SenderError } from '../errors';

/** What a portal token allows: `read` shows endpoints, logs and the catalog; `write` changes them, sends tests, retries and reveals secrets. */
export type PortalTokenScope = 'read' | 'write';

/** Input of `sender.createPortalToken`. */
export interface PortalTokenInput {
  /** The tenant (customer workspace) the token may manage; every admin call it makes is limited to it. */
  tenant: string;
  /** Lifetime in seconds, 1 to 86 400. @default 3600 */
  expiresInSeconds?: number;
  /** What the token allows; `['read']` makes a read-only portal. @default ['read', 'write'] */
  scopes?: readonly PortalTokenScope[];
}

/** A minted portal token, ready to hand to the browser. */
export interface PortalToken {
  /** The bearer token (`hkpt_v1.…`); send it as `Authorization: Bearer <token>`. */
  token: string;
  /** The tenant it is limited to. */
  tenant: string;
  /** What it allows. */
  scopes: PortalTokenScope[];
  /** When it stops working. */
  expiresAt: Date;
}

/** What a valid portal token establishes. */
export interface PortalTokenClaims {
  /** The tenant it is limited to. */
  tenant: string;
  /** What it allows. */
  scopes: PortalTokenScope[];
  /** When it stops working. */
  expiresAt: Date;
}

/** Mints and checks portal tokens with one signing key. */
export interface PortalTokens {
  /** Mints a token for one tenant. */
  create(input: PortalTokenInput): PortalToken;
  /** Checks a token; throws `SenderError('unauthorized')` with `details.reason` `expired` or `invalid`. */
  verify(token: string): PortalTokenClaims;
}

/** Prefix of every portal token, so the admin API tells them from the host's own credentials. */
export const PORTAL_TOKEN_PREFIX = 'hkpt_v1.';
/** Default lifetime of a portal token: one hour. */
export const DEFAULT_PORTAL_TOKEN_SECONDS = 3600;
const MAX_PORTAL_TOKEN_SECONDS = 86_400;
const SCOPES: readonly PortalTokenScope[] = ['read', 'write'];
// Domain separation: this key signs nothing else, but a constant label keeps it that way.
const LABEL = 'hooks-portal-token.v1.';

/** True when a bearer credential has the portal token shape (it may still be invalid). */
export function isPortalToken(value: string): boolean {
  return value.startsWith(PORTAL_TOKEN_PREFIX);
}

function keyBytes(secret: string | Uint8Array | undefined): Buffer {
  // A random per-process key: tokens then work only in this process and until it restarts.
  if (secret === undefined) return randomBytes(32);
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (bytes.length < 32) throw new SenderError('invalid_option', 'portalTokenSecret must be at least 32 bytes (e.g. 64 hex characters from a secret store).');
  return bytes;
}

function readScopes(scopes: unknown): PortalTokenScope[] {
  if (scopes === undefined) return [...SCOPES];
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((scope) => SCOPES.includes(scope as PortalTokenScope))) {
    throw new SenderError('invalid_input', 'scopes must be a non-empty array of "read" and "write".', { details: { field: 'scopes' } });
  }
  const chosen = new Set(scopes as PortalTokenScope[]);
  // Writing a settings page you cannot see makes no sense: write implies read.
  if (chosen.has('write')) chosen.add('read');
  return SCOPES.filter((scope) => chosen.has(scope));
}

const invalidToken = () => new SenderError('unauthorized', 'The portal token is not valid.', { details: { reason: 'invalid' } });

/**
 * Portal tokens: `<prefix><base64url JSON claims>.<base64url HMAC-SHA256>`, checked in constant
 * time against the sender's clock. Stateless, so any process with the same key accepts them.
 */
export function createPortalTokens(options: { secret?: string | Uint8Array | undefined; now: () => number }): PortalTokens {
  const key = keyBytes(options.secret);
  const sign = (claims: string) => createHmac('sha256', key).update(LABEL).update(claims).digest();

  return {
    create(input) {
      if (typeof input !== 'object' || input === null) throw new SenderError('invalid_input', 'createPortalToken needs { tenant, expiresInSeconds?, scopes? }.');
      const tenant = checkTenant(input.tenant);
      const seconds = input.expiresInSeconds ?? DEFAULT_PORTAL_TOKEN_SECONDS;
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PORTAL_TOKEN_SECONDS) {
        throw new SenderError('invalid_input', `expiresInSeconds must be a whole number from 1 to ${MAX_PORTAL_TOKEN_SECONDS}.`, { details: { field: 'expiresInSeconds' } });
      }
      const scopes = readScopes(input.scopes);
      const issuedAt = options.now();
      const expiresAt = issuedAt + seconds * 1000;
      const claims = Buffer.from(JSON.stringify({ t: tenant, s: scopes, iat: issuedAt, exp: expiresAt, n: randomBytes(9).toString('base64url') })).toString('base64url');
      return { token: `${PORTAL_TOKEN_PREFIX}${claims}.${sign(claims).toString('base64url')}`, tenant, scopes, expiresAt: new Date(expiresAt) };
    },

    verify(token) {
      if (typeof token !== 'string' || !isPortalToken(token) || token.length > 4096) throw invalidToken();
      const [claims, signature, extra] = token.slice(PORTAL_TOKEN_PREFIX.length).split('.');
      if (claims === undefined || signature === undefined || extra !== undefined || !/^[A-Za-z0-9_-]+$/.test(claims) || !/^[A-Za-z0-9_-]+$/.test(signature)) throw invalidToken();
      // The signature's text is compared, not its decoded bytes: base64url leaves the last
      // character's low bits unused, so several spellings decode to the same bytes, and a token
      // must have one spelling only.
      const expected = Buffer.from(sign(claims).toString('base64url'));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidToken();
      let parsed: { t?: unknown; s?: unknown; exp?: unknown };
      try {
        parsed = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as typeof parsed;
      } catch {
        throw invalidToken();
      }
      // Signed by us, so well-formed unless the key leaked; checked anyway, cheaply.
      if (typeof parsed.t !== 'string' || typeof parsed.exp !== 'number' || !Array.isArray(parsed.s)) throw invalidToken();
      if (options.now() >= parsed.exp) throw new SenderError('unauthorized', 'The portal token has expired; ask the host page for a new one.', { details: { reason: 'expired' } });
      return { tenant: parsed.t, scopes: readScopes(parsed.s), expiresAt: new Date(parsed.exp) };
    },
  };
}
