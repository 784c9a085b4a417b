import { HooksPortal, type HooksPortalElement } from './hooks-portal';

export { HooksPortal } from './hooks-portal';
export type { HooksPortalElement, PortalErrorDetail } from './hooks-portal';
export { englishMessages } from './messages';
export type { PortalMessages } from './messages';
export { PortalApi, PortalApiError, tokenFromUrl } from './api-client';
export type { PortalApiOptions } from './api-client';
export type { DeliveryStatus, PortalAttempt, PortalAttemptRequest, PortalDelivery, PortalEndpoint, PortalEventType, PortalLastDelivery, PortalPage, PortalSession } from './types';

/** The tag name the element registers under. */
export const HOOKS_PORTAL_TAG = 'hooks-portal';

/**
 * Registers `<hooks-portal>` (importing this module does it already); safe to call twice and on a server without a DOM.
 *
 * @param tagName - The custom element name to register it under, e.g. to match your design system's prefix (default: `hooks-portal`).
 *
 * @example
 * ```ts
 * import { defineHooksPortal } from '@hooks/portal';
 *
 * defineHooksPortal('acme-webhooks'); // <hooks-portal> is registered too, on import
 * const portal = document.createElement('acme-webhooks');
 * portal.setAttribute('api-base', '/api/webhooks');
 * portal.setAttribute('token-url', '/api/webhooks-token');
 * document.querySelector('#settings')?.append(portal);
 * ```
 */
export function defineHooksPortal(tagName: string = HOOKS_PORTAL_TAG): void {
  if (typeof customElements === 'undefined' || customElements.get(tagName)) return;
  customElements.define(tagName, tagName === HOOKS_PORTAL_TAG ? HooksPortal : class extends HooksPortal {});
}

defineHooksPortal();

declare global {
  interface HTMLElementTagNameMap {
    'hooks-portal': HooksPortalElement;
  }
}
