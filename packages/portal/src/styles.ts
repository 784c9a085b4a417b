import { css } from 'lit';

// Theming: every colour, the font and the radius are custom properties a host page sets on
// `hooks-portal` (they inherit through the shadow root); finer changes go through ::part().
// The defaults meet WCAG AA text contrast and a focus ring of at least 3:1 on both backgrounds.
export const portalStyles = css`
  :host {
    --_text: var(--hooks-portal-text, #1f2937);
    --_muted: var(--hooks-portal-muted, #4b5563);
    --_background: var(--hooks-portal-background, #ffffff);
    --_surface: var(--hooks-portal-surface, #f8fafc);
    --_border: var(--hooks-portal-border, #cbd5e1);
    --_accent: var(--hooks-portal-accent, #1d4ed8);
    --_accent-text: var(--hooks-portal-accent-text, #ffffff);
    --_danger: var(--hooks-portal-danger, #b91c1c);
    --_focus: var(--hooks-portal-focus, #1d4ed8);
    --_radius: var(--hooks-portal-radius, 6px);
    display: block;
    container-type: inline-size;
    color: var(--_text);
    background: var(--_background);
    font-family: var(--hooks-portal-font, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
    font-size: var(--hooks-portal-font-size, 15px);
    line-height: 1.5;
    min-width: 0;
    overflow-wrap: anywhere;
  }
  :host([hidden]) {
    display: none;
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  h2,
  h3,
  h4 {
    line-height: 1.25;
    margin: 0 0 0.5rem;
  }
  h2 {
    font-size: 1.35rem;
  }
  h3 {
    font-size: 1.1rem;
  }
  h4 {
    font-size: 1rem;
  }
  p {
    margin: 0 0 0.75rem;
  }
  [tabindex='-1']:focus {
    outline: none;
  }
  :focus-visible,
  [tabindex='-1']:focus-visible {
    outline: 3px solid var(--_focus);
    outline-offset: 2px;
  }
  .portal {
    display: grid;
    gap: 1rem;
    min-width: 0;
  }
  .muted,
  .hint {
    color: var(--_muted);
  }
  .hint {
    font-size: 0.9rem;
    margin: 0.25rem 0 0;
  }
  .mono,
  code,
  pre {
    font-family: var(--hooks-portal-mono, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace);
    font-size: 0.85rem;
  }
  pre {
    background: var(--_surface);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    padding: 0.75rem;
    margin: 0.25rem 0 0.75rem;
    overflow: auto;
    max-height: 24rem;
    max-width: 100%;
    white-space: pre;
  }
  .tabs {
    display: flex;
    flex-wrap: wrap;
    gap: 0.25rem;
    border-bottom: 1px solid var(--_border);
    padding: 0;
    margin: 0;
    list-style: none;
  }
  .tab {
    border: 0;
    border-bottom: 3px solid transparent;
    background: none;
    color: var(--_text);
    padding: 0.5rem 0.75rem;
    font: inherit;
    cursor: pointer;
    border-radius: var(--_radius) var(--_radius) 0 0;
  }
  .tab[aria-current='page'] {
    border-bottom-color: var(--_accent);
    font-weight: 600;
  }
  .card {
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    padding: 1rem;
    background: var(--_background);
    min-width: 0;
  }
  .row {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: center;
  }
  .spread {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem 1rem;
    align-items: flex-start;
    justify-content: space-between;
  }
  .spread > * {
    min-width: 0;
  }
  button,
  .button {
    font: inherit;
    color: var(--_text);
    background: var(--_background);
    border: 1px solid var(--_muted);
    border-radius: var(--_radius);
    padding: 0.4rem 0.85rem;
    cursor: pointer;
    min-height: 2.25rem;
  }
  button:hover {
    background: var(--_surface);
  }
  button.primary {
    background: var(--_accent);
    border-color: var(--_accent);
    color: var(--_accent-text);
  }
  button.danger {
    color: var(--_danger);
    border-color: var(--_danger);
  }
  button.link {
    border: 0;
    background: none;
    color: var(--_accent);
    text-decoration: underline;
    padding: 0.2rem 0;
    min-height: auto;
  }
  button[aria-disabled='true'] {
    opacity: 0.7;
    cursor: progress;
  }
  .field {
    display: grid;
    gap: 0.25rem;
    margin: 0 0 1rem;
    min-width: 0;
  }
  label,
  legend {
    font-weight: 600;
  }
  fieldset {
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    padding: 0.75rem;
    margin: 0 0 1rem;
    min-width: 0;
  }
  input[type='text'],
  input[type='url'],
  input[type='number'],
  input[type='datetime-local'],
  select,
  textarea {
    font: inherit;
    color: var(--_text);
    background: var(--_background);
    border: 1px solid var(--_muted);
    border-radius: var(--_radius);
    padding: 0.4rem 0.5rem;
    width: 100%;
    max-width: 36rem;
    min-width: 0;
  }
  [aria-invalid='true'] {
    border-color: var(--_danger);
    border-width: 2px;
  }
  .error {
    color: var(--_danger);
    font-weight: 600;
    margin: 0;
  }
  .check {
    display: grid;
    grid-template-columns: auto 1fr;
    gap: 0 0.5rem;
    align-items: start;
    margin: 0 0 0.5rem;
  }
  .check input {
    margin-top: 0.3rem;
    width: 1.1rem;
    height: 1.1rem;
  }
  .check label {
    font-weight: 500;
  }
  .check .hint {
    grid-column: 2;
    margin: 0;
  }
  .header-row {
    display: grid;
    grid-template-columns: minmax(0, 1fr) minmax(0, 1fr) auto;
    gap: 0.5rem;
    align-items: end;
    margin-bottom: 0.5rem;
  }
  table {
    width: 100%;
    border-collapse: collapse;
  }
  th,
  td {
    text-align: left;
    padding: 0.5rem;
    border-bottom: 1px solid var(--_border);
    vertical-align: top;
  }
  th {
    font-size: 0.85rem;
    color: var(--_muted);
  }
  .badge {
    display: inline-block;
    border-radius: 999px;
    padding: 0.05rem 0.6rem;
    font-size: 0.85rem;
    font-weight: 600;
    max-width: 100%;
  }
  .badge.ok {
    background: #dcfce7;
    color: #14532d;
  }
  .badge.bad {
    background: #fee2e2;
    color: #7f1d1d;
  }
  .badge.wait {
    background: #fef3c7;
    color: #713f12;
  }
  .badge.off {
    background: #e5e7eb;
    color: #1f2937;
  }
  .banner {
    border: 2px solid #b45309;
    background: #fffbeb;
    color: #422006;
    border-radius: var(--_radius);
    padding: 0.75rem 1rem;
  }
  .notice {
    border-left: 4px solid var(--_accent);
    background: var(--_surface);
    padding: 0.5rem 0.75rem;
    margin: 0;
  }
  .notice.error-notice {
    border-left-color: var(--_danger);
  }
  .secret {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: center;
  }
  .secret input {
    font-family: var(--hooks-portal-mono, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace);
    flex: 1 1 16rem;
  }
  .deliveries {
    list-style: none;
    padding: 0;
    margin: 1rem 0 0;
    display: grid;
    gap: 0.5rem;
  }
  .delivery {
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    padding: 0.5rem 0.75rem;
    min-width: 0;
  }
  .attempt {
    border-top: 1px solid var(--_border);
    padding-top: 0.5rem;
    margin-top: 0.5rem;
    min-width: 0;
  }
  dl.facts {
    display: grid;
    grid-template-columns: max-content minmax(0, 1fr);
    gap: 0.15rem 0.75rem;
    margin: 0 0 0.5rem;
  }
  dl.facts dt {
    color: var(--_muted);
  }
  dl.facts dd {
    margin: 0;
  }
  .filters {
    display: flex;
    flex-wrap: wrap;
    gap: 0.75rem;
    align-items: end;
  }
  .filters .field {
    margin: 0;
    flex: 1 1 10rem;
  }
  .event {
    border-top: 1px solid var(--_border);
    padding-top: 0.75rem;
    margin-top: 0.75rem;
  }
  dialog {
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    padding: 1.25rem;
    max-width: min(32rem, calc(100vw - 2rem));
    color: var(--_text);
    background: var(--_background);
  }
  dialog::backdrop {
    background: rgb(15 23 42 / 0.5);
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    padding: 0;
    margin: -1px;
    overflow: hidden;
    clip: rect(0, 0, 0, 0);
    white-space: nowrap;
    border: 0;
  }
  @container (max-width: 40rem) {
    table.endpoints thead {
      position: absolute;
      width: 1px;
      height: 1px;
      overflow: hidden;
      clip: rect(0, 0, 0, 0);
    }
    table.endpoints,
    table.endpoints tbody,
    table.endpoints tr,
    table.endpoints td {
      display: block;
      width: 100%;
    }
    table.endpoints tr {
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      margin-bottom: 0.5rem;
    }
    table.endpoints td {
      border: 0;
      padding: 0.25rem 0.75rem;
    }
    .header-row {
      grid-template-columns: minmax(0, 1fr);
    }
  }
`;
