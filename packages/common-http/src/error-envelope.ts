import { DomainError } from '@kvforge/runtime';
import type { FastifyError, FastifyRequest } from 'fastify';
import { AppError, COMMON_ERROR_CODES } from './app-error';
import { hasZodFastifySchemaValidationErrors } from './type-provider';

/** Every error, whatever threw it, reduced to what an envelope needs. */
export interface NormalizedHttpError {
  statusCode: number;
  code: string;
  message: string;
  details?: unknown;
  /** The original error, so a product can map its own domain error classes. */
  cause: unknown;
}

export interface RenderedError {
  statusCode: number;
  body: unknown;
  contentType?: string;
}

/** Each product renders its spec's error format; set once, at the root. */
export interface ErrorEnvelope {
  render(error: NormalizedHttpError, request: FastifyRequest): RenderedError;
}

function describeValidation(error: FastifyError): { message: string; issues: unknown[] } {
  const issues: unknown[] = [];
  const parts: string[] = [];
  if (hasZodFastifySchemaValidationErrors(error)) {
    for (const issue of error.validation) {
      const path = issue.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(root)';
      const field = error.validationContext ? `${error.validationContext}.${path}` : path;
      parts.push(`${field}: ${issue.message}`);
      issues.push({ field, message: issue.message });
    }
  }
  return { message: parts.length > 0 ? parts.join('; ') : error.message, issues };
}

/** Maps anything thrown in a handler to a NormalizedHttpError. */
export function normalizeError(error: unknown): NormalizedHttpError {
  if (AppError.isInstance(error)) {
    return {
      statusCode: error.statusCode,
      code: error.code,
      message: error.message,
      details: error.details,
      cause: error,
    };
  }
  const fastifyError = error as Partial<FastifyError> | null;
  if (fastifyError && typeof fastifyError === 'object') {
    if (fastifyError.validation) {
      const { message, issues } = describeValidation(fastifyError as FastifyError);
      return {
        statusCode: 400,
        code: COMMON_ERROR_CODES.VALIDATION,
        message,
        details: { issues },
        cause: error,
      };
    }
    if (
      fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
      fastifyError.code === COMMON_ERROR_CODES.BAD_JSON
    ) {
      return {
        statusCode: 400,
        code: COMMON_ERROR_CODES.BAD_JSON,
        message: fastifyError.message ?? 'invalid JSON',
        cause: error,
      };
    }
    const statusCode = fastifyError.statusCode;
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      return {
        statusCode,
        code: String(fastifyError.code ?? 'COMMON_ERR_REQUEST'),
        message: fastifyError.message ?? '',
        cause: error,
      };
    }
    if (DomainError.isInstance(error)) {
      // A product's domain error (by brand, not by guessing from its code): its envelope maps it.
      return { statusCode: 500, code: error.code, message: error.message, cause: error };
    }
  }
  return {
    statusCode: 500,
    code: COMMON_ERROR_CODES.INTERNAL,
    message: 'Internal Server Error',
    cause: error,
  };
}

/** The envelope used when a product sets none: fastify's own four fields. */
export const DEFAULT_ERROR_ENVELOPE: ErrorEnvelope = {
  render(error) {
    return {
      statusCode: error.statusCode,
      body: {
        statusCode: error.statusCode,
        code: error.code,
        error: error.statusCode >= 500 ? 'Internal Server Error' : 'Bad Request',
        message: error.message,
      },
    };
  },
};
