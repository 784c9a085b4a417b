'use client';
import { createElement, useEffect, useRef } from 'react';
import type { CSSProperties, ReactElement } from 'react';
import type { PortalErrorDetail } from './hooks-portal';
import type { PortalMessages } from './messages';
import './index';

/** Props of {@link HooksPortal}: the element's attributes and properties, typed. */
export interface HooksPortalProps {
  /** Base URL of the admin API, e.g. `/api/webhooks`. */
  apiBase: string;
  /** A host route answering `{ token, expiresAt }`; asked again when the token expires. */
  tokenUrl?: string;
  /** A fixed portal token (not renewed). */
  token?: string;
  /** Locale for dates. @default the browser's */
  locale?: string;
  /** The overlap the regenerate dialog states and asks for, in hours. @default 24 */
  secretOverlapHours?: number;
  /** Replacement text; the rest stays English. */
  messages?: Partial<PortalMessages>;
  /** Called when an admin API call fails. */
  onError?: (detail: PortalErrorDetail) => void;
  /** Class of the element (theme it with `--hooks-portal-*` custom properties). */
  className?: string;
  /** Inline style, e.g. `{ '--hooks-portal-accent': '#7c3aed' }`. */
  style?: CSSProperties & Record<`--${string}`, string>;
}

/**
 * `<hooks-portal>` for React: attributes as props, `messages` set as a property, and the error
 * event as `onError`.
 *
 * @param props - The element's attributes and properties.
 * @returns The `<hooks-portal>` element.
 *
 * @example
 * ```tsx
 * import { HooksPortal } from '@hooks/portal/react';
 *
 * export function WebhookSettings() {
 *   return (
 *     <HooksPortal
 *       apiBase="/api/webhooks"
 *       tokenUrl="/api/webhooks-token"
 *       onError={(detail) => console.error(detail.code)}
 *     />
 *   );
 * }
 * ```
 */
export function HooksPortal(props: HooksPortalProps): ReactElement {
  const ref = useRef<HTMLElement & { messages?: Partial<PortalMessages> }>(null);
  const { messages, onError } = props;

  useEffect(() => {
    if (ref.current) ref.current.messages = messages;
  }, [messages]);

  useEffect(() => {
    const element = ref.current;
    if (!element || !onError) return;
    const listener = (event: Event) => onError((event as CustomEvent<PortalErrorDetail>).detail);
    element.addEventListener('hooks-portal-error', listener);
    return () => element.removeEventListener('hooks-portal-error', listener);
  }, [onError]);

  return createElement('hooks-portal', {
    ref,
    'api-base': props.apiBase,
    'token-url': props.tokenUrl,
    token: props.token,
    locale: props.locale,
    'secret-overlap-hours': props.secretOverlapHours,
    class: props.className,
    style: props.style,
  });
}
