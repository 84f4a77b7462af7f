import { insertIfAbsent, scopeKey, type AgentScope, type Storage } from '@nexus/core';
import { noteHost } from '../hosts/host-rows.ts';
import { AGENTS_PARTITION } from './keys.ts';

/**
 * The `agents` rows (one per agent of each host, in one partition: what `GET /v1/hosts` and
 * `GET /v1/hosts/{host}/agents` list) and the `hosts` row of their host. Each is written once, at
 * the agent's first upload; this process then remembers the agent and writes nothing more for it
 * (its last upload time is the `agentActivity` row, written with each upload's other rows).
 * Concurrent first uploads of one agent share the write.
 */
export class AgentDirectory {
  private readonly storage: Storage;
  private readonly known = new Set<string>();
  private readonly pending = new Map<string, Promise<void>>();

  constructor(storage: Storage) {
    this.storage = storage;
  }

  /** Resolves once the agent's row and its host's row exist. */
  ensure(scope: AgentScope, firstReceivedAt: string): Promise<void> {
    const key = scopeKey(scope);
    if (this.known.has(key)) return Promise.resolve();
    const under = this.pending.get(key);
    if (under) return under;
    const write = this.insert(scope, firstReceivedAt).finally(() => {
      this.pending.delete(key);
    });
    this.pending.set(key, write);
    return write;
  }

  private async insert(scope: AgentScope, firstReceivedAt: string): Promise<void> {
    await Promise.all([
      insertIfAbsent(this.storage.tables, 'agents', {
        partitionKey: AGENTS_PARTITION,
        rowKey: scopeKey(scope),
        properties: { firstReceivedAt },
      }),
      noteHost(this.storage, scope.hostId, firstReceivedAt),
    ]);
    this.known.add(scopeKey(scope));
  }
}
