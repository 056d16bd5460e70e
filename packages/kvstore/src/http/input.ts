import type { FastifyRequest } from 'fastify';
import { KVSTORE_ERROR_CODES, KvstoreError } from '../core/errors';

export type Input = Record<string, unknown>;

/**
 * The request's JSON object. The original reads a JSON body whatever the method; a GET with no
 * body may pass the same fields as query parameters (numbers and booleans parsed from the text).
 */
export function readInput(request: FastifyRequest): Input {
  const body = request.body;
  const query = request.query as Record<string, string> | undefined;
  if (body === undefined || body === null) {
    const input: Input = {};
    for (const [name, value] of Object.entries(query ?? {})) input[name] = coerceQueryValue(value);
    return input;
  }
  if (typeof body === 'string') throw new KvstoreError(KVSTORE_ERROR_CODES.INVALID_JSON, 'body is not JSON');
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new KvstoreError(KVSTORE_ERROR_CODES.INVALID_INPUT, 'body must be a JSON object');
  }
  return body as Input;
}

function coerceQueryValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return value;
}

function invalid(message: string): never {
  throw new KvstoreError(KVSTORE_ERROR_CODES.INVALID_INPUT, message);
}

export function requireString(input: Input, name: string): string {
  const value = input[name];
  if (typeof value !== 'string') invalid(`${name} must be a string`);
  return value;
}

export function requireInteger(input: Input, name: string): number {
  const value = input[name];
  if (typeof value !== 'number' || !Number.isInteger(value)) invalid(`${name} must be an integer`);
  return value;
}

export function optionalInteger(input: Input, name: string, fallback: number): number {
  return input[name] === undefined ? fallback : requireInteger(input, name);
}

export function requireStringArray(input: Input, name: string): string[] {
  const value = input[name];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    invalid(`${name} must be an array of strings`);
  }
  return value as string[];
}
