import { createNextReceiverRoutes, remoteControl } from '../../../../src/receivers/next-routes';

// The demo owns both sides: this app runs in its own process and reads the secrets of the
// endpoints that target it (and the "break this receiver" switch) from the demo on each request.
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const routes = createNextReceiverRoutes(remoteControl(process.env.HOOKS_DEMO_CONTROL_URL));

export const POST = routes.post;
export const GET = routes.get;
