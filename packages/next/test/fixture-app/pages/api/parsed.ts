import { pagesWebhookHandler } from '@hooks/next';
import { broadcastEvents } from '@hooks/fixture-broadcast-events';
import { TEST_SECRETS } from '../../../support/recorder';

// The mistake the adapter must catch: Next's body parser left on.
export default pagesWebhookHandler({ catalog: broadcastEvents, secrets: [...TEST_SECRETS] });
