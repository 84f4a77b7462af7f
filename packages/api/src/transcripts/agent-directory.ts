import { AlreadyExistsError, type Storage } from '@nexus/core';
import { AGENTS_PARTITION } from './keys.ts';

/**
 * The `agents` rows, one per agent in one partition: what `GET /v1/agents` lists. A row is
 * written once, at the agent's first upload; this process then remembers the agent and writes
 * nothing more for it (its last upload time is the `agentActivity` row, written with each upload's
 * other rows). Concurrent first uploads of one agent share the write.
 */
export class AgentDirectory {
  private readonly storage: Storage;
  private readonly known = new Set<string>();
  private readonly pending = new Map<string, Promise<void>>();

  constructor(storage: Storage) {
    this.storage = storage;
  }

  /** Resolves once the agent's row exists. */
  ensure(agentId: string, firstReceivedAt: string): Promise<void> {
    if (this.known.has(agentId)) return Promise.resolve();
    const under = this.pending.get(agentId);
    if (under) return under;
    const write = this.insert(agentId, firstReceivedAt).finally(() => {
      this.pending.delete(agentId);
    });
    this.pending.set(agentId, write);
    return write;
  }

  private async insert(agentId: string, firstReceivedAt: string): Promise<void> {
    try {
      await this.storage.tables.insert('agents', {
        partitionKey: AGENTS_PARTITION,
        rowKey: agentId,
        properties: { firstReceivedAt },
      });
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
    }
    this.known.add(agentId);
  }
}
