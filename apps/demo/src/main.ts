import { startDemo } from './demo';

// `pnpm demo`: everything on free loopback ports, the database in apps/demo/.demo-data.
// `pnpm demo --port 4000` fixes the settings page's port.
const portIndex = process.argv.indexOf('--port');
const port = portIndex === -1 ? 0 : Number(process.argv[portIndex + 1]);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error('Usage: pnpm demo [--port <number>]');
  process.exit(2);
}

const demo = await startDemo({ port });
const width = Math.max(...Object.values(demo.urls.receivers).map((receiver) => receiver.label.length));
const lines = [
  '',
  '  Broadcast platform (hooks demo) is running.',
  '',
  `  Settings → Integrations → Webhooks   ${demo.urls.settings}`,
  `  Admin API                            ${demo.urls.admin}`,
  '',
  '  Receivers (point an endpoint at the webhook URL; GET the second URL to see what arrived):',
  ...Object.values(demo.urls.receivers).flatMap((receiver) => [
    `    ${receiver.label.padEnd(width)}  ${receiver.webhook}`,
    `    ${''.padEnd(width)}  ${receiver.received}`,
    ...(receiver.note ? [`    ${''.padEnd(width)}  (${receiver.note})`] : []),
  ]),
  '',
  '  Press Ctrl+C to stop.',
  '',
];
console.log(lines.join('\n'));

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log('\nStopping…');
    demo.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
