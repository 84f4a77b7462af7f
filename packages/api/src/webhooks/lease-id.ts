import { createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookItem } from './webhook-item.ts';

/**
 * A lease id: its number, and a MAC of it under the item's own secret (`leaseSalt`, never shown).
 * So a settlement can be checked against every lease ever issued for the item without keeping
 * them all, and a made-up id is refused.
 */
export function leaseIdFor(id: string, salt: string, seq: number): string {
  const mac = createHmac('sha256', salt)
    .update(`${id}:${String(seq)}`)
    .digest('hex');
  return `${String(seq)}-${mac.slice(0, 24)}`;
}

/** Whether `leaseId` is one of the leases issued for `item` so far. */
export function wasIssued(item: WebhookItem, leaseId: string): boolean {
  // Items leased before lease ids were numbered: only the current lease can be checked.
  if (item.leaseSalt === '') return leaseId === item.leaseId || item.leaseId === '';
  const seq = Number(/^(\d{1,9})-[0-9a-f]{24}$/.exec(leaseId)?.[1] ?? NaN);
  if (!Number.isInteger(seq) || seq < 1 || seq > item.leaseSeq) return false;
  const expected = Buffer.from(leaseIdFor(item.id, item.leaseSalt, seq));
  const given = Buffer.from(leaseId);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
