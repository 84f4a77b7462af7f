import {
  ValidationError,
  TABLE_LIMITS,
  type EntityProperties,
  type EntityValue,
} from '@nexus/core';

/**
 * A JSON value stored across as many string properties as it needs (`name`, `name_1`, ...):
 * one table property holds at most 32 K characters, a row 1 MiB. A long-lived session's usage per
 * day and model outgrows one property long before it outgrows a row.
 */
export function packJson(name: string, value: unknown): Record<string, EntityValue> {
  const text = JSON.stringify(value);
  const size = TABLE_LIMITS.maxStringChars;
  const parts: Record<string, EntityValue> = {};
  for (let index = 0, offset = 0; offset < text.length || index === 0; index += 1, offset += size) {
    parts[index === 0 ? name : `${name}_${index}`] = text.slice(offset, offset + size);
  }
  return parts;
}

export function unpackJson(properties: EntityProperties, name: string): unknown {
  let text = '';
  for (let index = 0; ; index += 1) {
    const part = properties[index === 0 ? name : `${name}_${index}`];
    if (typeof part !== 'string') break;
    text += part;
  }
  if (text === '')
    throw new ValidationError('corrupt_row', `The stored row has no ${name} property.`);
  return JSON.parse(text);
}
