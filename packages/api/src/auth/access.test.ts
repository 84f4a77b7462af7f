import { describe, expect, it } from 'vitest';
import { allows, authorize, type Need } from './access.ts';
import type { Principal } from './principal.ts';

const admin: Principal = { role: 'admin', keyId: 'env' };
const laptopWorker: Principal = { role: 'worker', keyId: 'w1', hostId: 'laptop' };
const allReader: Principal = { role: 'reader', keyId: 'r1', hosts: 'all' };
const serverReader: Principal = { role: 'reader', keyId: 'r2', hosts: ['server'] };

const needs: Record<string, Need> = {
  manage: { kind: 'manage', what: 'manages' },
  browse: { kind: 'browse', what: 'browses' },
  readLaptop: { kind: 'read', hostId: 'laptop', what: 'reads' },
  actLaptop: { kind: 'act', hostId: 'laptop', what: 'acts' },
  actServer: { kind: 'act', hostId: 'server', what: 'acts' },
  deliverLaptop: { kind: 'deliver', hostId: 'laptop', what: 'delivers' },
  readServer: { kind: 'read', hostId: 'server', what: 'reads' },
};

describe('what each key may do', () => {
  it.each([
    [
      'admin',
      admin,
      ['manage', 'browse', 'readLaptop', 'actLaptop', 'actServer', 'deliverLaptop', 'readServer'],
    ],
    ['worker of laptop', laptopWorker, ['readLaptop', 'actLaptop', 'deliverLaptop']],
    ['reader of all', allReader, ['browse', 'readLaptop', 'deliverLaptop', 'readServer']],
    ['reader of server', serverReader, ['browse', 'readServer']],
  ] as const)('%s', (_name, principal, allowed) => {
    const granted = Object.entries(needs)
      .filter(([, need]) => allows(principal, need))
      .map(([name]) => name);
    expect(granted.sort()).toEqual([...allowed].sort());
  });

  it('says which key was sent and which the request needs', () => {
    expect(() => {
      authorize(laptopWorker, { kind: 'read', hostId: 'server', what: 'lists sessions' });
    }).toThrow(
      'This request lists sessions, which needs an admin key, a reader key of host server or its worker key; it was sent with a worker key of host laptop.',
    );
    expect(() => {
      authorize(serverReader, { kind: 'manage', what: 'creates a key' });
    }).toThrow(/needs an admin key; it was sent with a reader key of host server\./);
  });
});
