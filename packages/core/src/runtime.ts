import { crypto } from '#crypto';

/** Which crypto implementation this build uses: `node` (node:crypto) or `web` (Web Crypto, edge runtimes). */
export const cryptoBackendName: 'node' | 'web' = crypto.name;
