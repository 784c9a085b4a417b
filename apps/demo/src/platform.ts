import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BroadcastEvents, broadcastEvents } from '@hooks/fixture-broadcast-events';
import { type AdminHandler, createAdminHandler, createSender, generateEncryptionKey, type RetryOptions, type Sender } from '@hooks/sender';

/** The workspace the settings page manages. The demo has no login: every portal token is for this tenant. */
export const DEMO_TENANT = 'ws_demo_broadcast';

/** Options of {@link createPlatform}. */
export interface PlatformOptions {
  /** Folder of the SQLite database (created if missing). */
  dataDir: string;
  /** Retry schedule and caps. @default the sender's defaults (the seeds' schedule: 12 s, 2 min 28 s, 30 min 8 s, 6 h 7 min 6 s, then every 24 h) */
  retry?: RetryOptions;
  /** How long a regenerated secret's predecessor keeps signing. @default 86_400_000 (24 h) */
  secretOverlapMs?: number;
  /** How often the dispatcher looks for due retries. @default 250 */
  pollIntervalMs?: number;
}

/** The "broadcast platform": a sender on SQLite and its admin API, scoped to {@link DEMO_TENANT}. */
export interface Platform {
  /** The sender. */
  sender: Sender<BroadcastEvents>;
  /** The admin API, mounted at `/api/admin`. */
  admin: AdminHandler;
}

/** The demo's encryption key: `HOOKS_ENCRYPTION_KEY`, else one generated once into the data folder (mode 0600). */
function demoEncryptionKey(dataDir: string): string {
  const fromEnvironment = process.env.HOOKS_ENCRYPTION_KEY;
  if (fromEnvironment) return fromEnvironment;
  const file = join(dataDir, 'encryption.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = generateEncryptionKey();
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}

/** Creates the platform's sender and starts its dispatcher. */
export function createPlatform(options: PlatformOptions): Platform {
  mkdirSync(options.dataDir, { recursive: true });
  const sender = createSender({
    catalog: broadcastEvents,
    database: join(options.dataDir, 'broadcast.db'),
    // Endpoint secrets are encrypted at rest (AES-256-GCM). A real deployment reads the key from its
    // secret manager (e.g. HOOKS_ENCRYPTION_KEY); the demo keeps one beside its database.
    encryption: { keys: { k1: demoEncryptionKey(options.dataDir) }, current: 'k1' },
    // Development only: the demo's receivers listen on http://127.0.0.1. A production sender keeps
    // the default policy (https only, loopback/private/metadata addresses refused on save and at connect time).
    urlPolicy: { allowHttp: true, allow: ['loopback'] },
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.secretOverlapMs !== undefined ? { secretOverlapMs: options.secretOverlapMs } : {}),
    dispatcher: { pollIntervalMs: options.pollIntervalMs ?? 250, timeoutMs: 5_000, leaseMs: 15_000 },
  });
  const admin = createAdminHandler(sender, {
    // The settings page calls with a portal token (minted by /api/demo/portal-token), which names
    // the workspace itself. authorize() is for the host's own back office: the demo has none.
    authorize: () => null,
    basePath: '/api/admin',
    onError: (error) => console.error('[demo admin]', error instanceof Error ? error.message : String(error)),
  });
  sender.start();
  return { sender, admin };
}
