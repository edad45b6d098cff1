// The one error handler: every failure leaves as problem+json with a stable code, never internals.
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { AppError, type FieldError } from '../errors.js';
import { PROBLEM_CONTENT_TYPE, problem } from '../lib/problem.js';

/** Fastify's own client errors, mapped to our codes. */
const FASTIFY_CODES: Record<string, { status: number; code: string; detail: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large', detail: 'The request body is larger than the limit.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', detail: 'Send the body as application/json.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'bad_request', detail: 'Content-Length does not match the body.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_json', detail: 'The body is empty but Content-Type is application/json.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json', detail: 'The body is not valid JSON.' },
};

export function sendProblem(
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
  errors?: FieldError[],
): FastifyReply {
  return reply
    .code(status)
    .type(PROBLEM_CONTENT_TYPE)
    .serializer(JSON.stringify)
    .send(problem(status, code, detail, String(reply.request.id), errors));
}

function validationFields(error: FastifyError): FieldError[] {
  if (hasZodFastifySchemaValidationErrors(error)) {
    return error.validation.map((v) => ({
      path: [error.validationContext, ...String(v.instancePath).split('/').filter(Boolean)].join('.'),
      message: v.message ?? 'is invalid',
    }));
  }
  return (error.validation ?? []).map((v) => ({
    path: [error.validationContext, ...String(v.instancePath ?? '').split('/').filter(Boolean)].join('.'),
    message: v.message ?? 'is invalid',
  }));
}

/** `recordNotFound` records the duration of 404s (they match no route, so no route's recorder sees them). */
export function registerErrorHandling(app: FastifyInstance, recordNotFound?: (method: string, status: number, seconds: number) => void) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AppError) {
      if (error.status >= 500) request.log.error({ err: error }, error.message);
      if (error.headers) void reply.headers(error.headers);
      return sendProblem(reply, error.status, error.code, error.message, error.fields);
    }
    if (error.validation) {
      return sendProblem(reply, 400, 'validation_failed', 'The request does not match the schema.', validationFields(error));
    }
    const known = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (known) return sendProblem(reply, known.status, known.code, known.detail);
    if (isResponseSerializationError(error)) {
      request.log.error({ err: error }, 'response did not match its schema');
      return sendProblem(reply, 500, 'internal_error', 'An unexpected error occurred.');
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendProblem(reply, status, status === 429 ? 'rate_limited' : 'bad_request', 'The request was rejected.');
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, 500, 'internal_error', 'An unexpected error occurred.');
  });

  // The 404 handler is rate limited by the app's onRequest hook like any route: probing for routes costs the prober.
  app.setNotFoundHandler(async (request, reply) => {
    if (recordNotFound) {
      const record = () => recordNotFound(request.method, reply.statusCode, reply.elapsedTime / 1000);
      void reply.then(record, record);
    }
    return sendProblem(reply, 404, 'route_not_found', `No route ${request.method} ${request.url.split('?')[0]}.`);
  });
}
