import type { Context } from 'hono';
import { ValidationError } from '@nexus/core';

/**
 * A JSON request body, or a 400 that says it is not JSON and where it breaks (rather than the
 * schema's "expected object, received undefined").
 */
export async function readJsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '')
    throw new ValidationError(
      'invalid_json',
      'The body is empty; send a JSON object with Content-Type: application/json.',
    );
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'unreadable';
    throw new ValidationError('invalid_json', `The body is not valid JSON: ${reason}.`);
  }
}
