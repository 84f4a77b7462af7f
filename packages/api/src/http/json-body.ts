import type { Context } from 'hono';
import { ValidationError, describeIssue } from '@nexus/core';
import type { z } from 'zod';

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

/** A JSON body checked against `schema`; a 400 with `code` names each field that is wrong. */
export async function readJsonAs<T>(c: Context, schema: z.ZodType<T>, code: string): Promise<T> {
  const parsed = schema.safeParse(await readJsonBody(c));
  if (!parsed.success)
    throw new ValidationError(
      code,
      parsed.error.issues.map((issue) => describeIssue(issue, { whole: 'body' })).join('; '),
    );
  return parsed.data;
}
