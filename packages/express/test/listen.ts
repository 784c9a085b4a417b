import type { AddressInfo } from 'node:net';
import type express from 'express';
import type { MatrixTarget } from './receiver-matrix';

/** Listens on 127.0.0.1 with a free port. */
export async function listen(app: express.Express): Promise<MatrixTarget> {
  const server = await new Promise<ReturnType<express.Express['listen']>>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
