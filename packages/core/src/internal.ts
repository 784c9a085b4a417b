/**
 * `@hooks/core/internal`: helpers the `@hooks/*` packages share and applications do not call.
 * Not covered by semver: names here may change in any release.
 */
export { readBody } from './body';
export type { BodySource } from './body';
export { validateWithSchema } from './catalog';
export { checkEncoding, contentEncodingOf, inflate } from './content-encoding';
export { base64Decode, base64Encode, base64UrlEncode, concatBytes, utf8Decode, utf8Encode } from './encoding';
export { formatPath } from './errors';
export { VERSION, getHeader } from './headers';
export { createId } from './ids';
export { missingSecretError, resolveSecretList } from './receiver-secrets';
export type { SecretList } from './receiver-secrets';
export { activeTraceparent, formatTraceparent, loadTracing, parseTraceparent, startSpan, tracingAvailable, tracingSettled } from './tracing';
export type { SpanAttributes, StartSpanOptions, Traceparent, TracingSpan, TracingSpanKind } from './tracing';
