import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { HooksPortal } from '../../src/react';

// A React page using the wrapper, with part of the dictionary replaced (French).
const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    createElement(HooksPortal, {
      apiBase: '/api/webhooks',
      tokenUrl: '/api/webhooks-token',
      locale: 'fr-FR',
      messages: { endpointsHeading: 'Points de terminaison', addEndpoint: 'Ajouter un point de terminaison', catalogTab: 'Catalogue des événements' },
      style: { '--hooks-portal-accent': '#6d28d9' },
      onError: (detail) => {
        document.body.dataset.lastError = detail.code;
      },
    }),
  );
}
