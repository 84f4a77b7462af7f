import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TokenCredential } from '@azure/core-auth';
import {
  AzureKeyCredential,
  SearchClient,
  SearchIndexClient,
  type SearchField,
  type SearchIndex as AzureIndexDefinition,
} from '@azure/search-documents';
import { UnavailableError } from '@nexus/core';
import type { SearchDoc, SearchRole } from './search-docs.ts';
import { SEARCH_ROLES } from './search-docs.ts';
import type {
  IndexedGeneration,
  SearchAnswer,
  SearchFilters,
  SearchHit,
  SearchIndex,
  SessionRef,
} from './search-index.ts';
import { searchTokens, simpleQuery, type ParsedQuery } from './search-text.ts';

/** One message as a document of the Azure AI Search index. */
interface MessageDocument {
  /** 32 hex digits of SHA-256 over host, agent, session and entry: once per session. */
  id: string;
  /** `searchTokens` of the text, what is searched (not returned). */
  body: string;
  /** The text, returned for the snippet (not searched). */
  text: string;
  hostId: string;
  agentId: string;
  sessionId: string;
  generation: string;
  entry: string;
  line: number;
  role: string;
  timeMs: number;
}

type Field = keyof MessageDocument;
/** Pages of documents deleted already, a second apart, before a session's removal stops waiting. */
const STALE_PAGES = 30;
const RETURNED: Field[] = [
  'text',
  'hostId',
  'agentId',
  'sessionId',
  'generation',
  'entry',
  'line',
  'role',
  'timeMs',
];

/**
 * The index's fields. The text is searched as tokens Nexus makes itself (`searchTokens`: lower
 * case, accents folded, CJK runs as pairs and characters) through the `whitespace` analyzer, so
 * what matches does not depend on the service's language analyzers, and CJK words are found as
 * they are in SQLite.
 */
export const MESSAGE_FIELDS: SearchField[] = [
  { name: 'id', type: 'Edm.String', key: true },
  { name: 'body', type: 'Edm.String', searchable: true, hidden: true, analyzerName: 'whitespace' },
  { name: 'text', type: 'Edm.String', searchable: false },
  { name: 'hostId', type: 'Edm.String', filterable: true },
  { name: 'agentId', type: 'Edm.String', filterable: true },
  { name: 'sessionId', type: 'Edm.String', filterable: true },
  { name: 'generation', type: 'Edm.String' },
  { name: 'entry', type: 'Edm.String' },
  { name: 'line', type: 'Edm.Int32' },
  { name: 'role', type: 'Edm.String', filterable: true },
  { name: 'timeMs', type: 'Edm.Int64', filterable: true, sortable: true },
];

export interface AzureSearchSettings {
  /** `https://<service>.search.windows.net` (`NEXUS_SEARCH_ENDPOINT`). */
  readonly endpoint: string;
  /** The index's name (`NEXUS_SEARCH_INDEX`), created when missing. */
  readonly indexName: string;
  /** An admin key (`NEXUS_SEARCH_KEY`), or an Entra ID credential (`DefaultAzureCredential`). */
  readonly credential: AzureKeyCredential | TokenCredential;
}

/**
 * The search index on Azure AI Search (`@azure/search-documents`), for an API on Azure storage.
 * Each message is a document keyed by its session and entry, so the same message in a later
 * generation is written over itself rather than added twice, and a batch written twice (a retry)
 * changes nothing. The service ranks every match (BM25), so answers are never capped.
 */
export class AzureSearchIndex implements SearchIndex {
  readonly engine = 'azure-ai-search';
  private readonly indexes: SearchIndexClient;
  private readonly client: SearchClient<MessageDocument>;
  private readonly indexName: string;
  private opened: Promise<boolean> | undefined;

  /** Touches nothing yet: the service is first asked at `open`, so its outage never stops the API. */
  constructor(settings: AzureSearchSettings) {
    // Plain HTTP only to this machine: the stand-in the tests use.
    const options = { allowInsecureConnection: isLoopback(settings.endpoint) };
    this.indexes = new SearchIndexClient(settings.endpoint, settings.credential, options);
    this.client = this.indexes.getSearchClient<MessageDocument>(settings.indexName, options);
    this.indexName = settings.indexName;
  }

  /**
   * Creates the index when it is missing or its fields are not the ones this version writes
   * (true: it is new, and the indexer fills it from storage). Once; a failure is tried again at
   * the next call.
   */
  open(): Promise<boolean> {
    this.opened ??= call('open the index', async () => {
      const existing = await this.indexes.getIndex(this.indexName).catch((error: unknown) => {
        if ((error as { statusCode?: number }).statusCode === 404) return undefined;
        throw error;
      });
      if (existing !== undefined && sameFields(existing)) return false;
      if (existing !== undefined) await this.indexes.deleteIndex(this.indexName);
      // Another instance creating it at the same moment: theirs asks for the build.
      return this.indexes.createIndex(definition(this.indexName)).then(
        () => true,
        (error: unknown) => {
          if ((error as { statusCode?: number }).statusCode === 409) return false;
          throw error;
        },
      );
    }).catch((error: unknown) => {
      this.opened = undefined;
      throw error;
    });
    return this.opened;
  }

  async recreate(): Promise<void> {
    await this.open();
    await call('empty the index', async () => {
      // (The client takes a missing index as deleted.) Another instance's rebuild creating it
      // at the same moment: it is empty all the same.
      await this.indexes.deleteIndex(this.indexName);
      await this.indexes.createIndex(definition(this.indexName)).catch((error: unknown) => {
        if ((error as { statusCode?: number }).statusCode !== 409) throw error;
      });
    });
  }

  /** Not kept: writing a generation again writes the same documents over themselves. */
  isIndexed(): boolean {
    return false;
  }

  async add(item: IndexedGeneration, docs: readonly SearchDoc[]): Promise<void> {
    if (docs.length === 0) return;
    await this.open();
    await call('add messages', () =>
      this.client.mergeOrUploadDocuments(
        docs.map((doc) => ({
          id: documentKey(item, doc.entry),
          body: searchTokens(doc.text).join(' '),
          text: doc.text,
          hostId: item.hostId,
          agentId: item.agentId,
          sessionId: item.sessionId,
          generation: item.sha256,
          entry: doc.entry,
          line: doc.line,
          role: doc.role,
          timeMs: doc.timeMs,
        })),
        // A document refused is an error of the whole batch: it stays queued and is tried again.
        { throwOnAnyFailure: true },
      ),
    );
  }

  /**
   * Finds the session's documents a page at a time and deletes them. The service shows a deletion
   * to searches about a second later, so a page of keys already deleted ends the loop.
   */
  async removeSession(session: SessionRef): Promise<number> {
    await this.open();
    const filter = odataFilter({
      hosts: [session.hostId],
      agentId: session.agentId,
      sessionId: session.sessionId,
      roles: SEARCH_ROLES,
    });
    const deleted = new Set<string>();
    for (let stale = 0; stale < STALE_PAGES;) {
      const found = await call("find the session's messages", async () => {
        const answer = await this.client.search('*', {
          select: ['id'],
          top: 1000,
          ...(filter === undefined ? {} : { filter }),
        });
        const ids: string[] = [];
        for await (const result of answer.results) ids.push(result.document.id);
        return ids;
      });
      if (found.length === 0) break;
      const keys = found.filter((key) => !deleted.has(key));
      if (keys.length === 0) {
        // Only documents deleted a moment ago: the service has not caught up yet.
        stale += 1;
        await sleep(1000);
        continue;
      }
      await call("delete the session's messages", () =>
        this.client.deleteDocuments('id', keys, { throwOnAnyFailure: true }),
      );
      for (const key of keys) deleted.add(key);
    }
    return deleted.size;
  }

  async search(query: ParsedQuery, filters: SearchFilters, limit: number): Promise<SearchAnswer> {
    const searchText = simpleQuery(query.terms);
    // No token to look for (only characters the tokens leave out): nothing matches, as on SQLite
    // (an empty text would be every document to the service).
    if (searchText === '') return { hits: [], capped: false };
    const filter = odataFilter(filters);
    await this.open();
    const results = await call('search', async () => {
      const found = await this.client.search(searchText, {
        queryType: 'simple',
        searchMode: 'all',
        searchFields: ['body'],
        select: RETURNED,
        top: limit,
        ...(filter === undefined ? {} : { filter }),
      });
      const all = [];
      for await (const result of found.results) {
        all.push(result);
        if (all.length >= limit) break;
      }
      return all;
    });
    const hits: SearchHit[] = [];
    for (const result of results) {
      const doc = result.document;
      hits.push({
        hostId: doc.hostId,
        agentId: doc.agentId,
        sessionId: doc.sessionId,
        sha256: doc.generation,
        entry: doc.entry,
        line: doc.line,
        role: roleOf(doc.role),
        timeMs: doc.timeMs,
        text: doc.text,
      });
    }
    return { hits, capped: false };
  }

  async stats(): Promise<{ messages: number; bytes: number }> {
    await this.open();
    const stats = await call('read its statistics', () =>
      this.indexes.getIndexStatistics(this.indexName),
    );
    return { messages: stats.documentCount, bytes: stats.storageSize };
  }

  close(): void {
    // The clients hold no connection of their own to close.
  }
}

/** The document key of one message of one session: the same entry in any generation, the same key. */
export function documentKey(item: IndexedGeneration, entry: string): string {
  return createHash('sha256')
    .update(`${item.hostId}\u0000${item.agentId}\u0000${item.sessionId}\u0000${entry}`)
    .digest('hex')
    .slice(0, 32);
}

/** The filters as OData (`$filter`); values quoted with single quotes doubled. */
export function odataFilter(filters: SearchFilters): string | undefined {
  const parts: string[] = [];
  const anyOf = (field: Field, values: readonly string[]) =>
    values.length === 1
      ? `${field} eq ${literal(values[0] ?? '')}`
      : `(${values.map((value) => `${field} eq ${literal(value)}`).join(' or ')})`;
  if (filters.hosts !== undefined)
    parts.push(filters.hosts.length === 0 ? 'false' : anyOf('hostId', filters.hosts));
  if (filters.agentId !== undefined) parts.push(anyOf('agentId', [filters.agentId]));
  if (filters.sessionId !== undefined) parts.push(anyOf('sessionId', [filters.sessionId]));
  if (filters.roles.length < SEARCH_ROLES.length) parts.push(anyOf('role', filters.roles));
  if (filters.fromMs !== undefined) parts.push(`timeMs ge ${Math.trunc(filters.fromMs)}`);
  if (filters.toMs !== undefined) parts.push(`timeMs lt ${Math.trunc(filters.toMs)}`);
  return parts.length === 0 ? undefined : parts.join(' and ');
}

const literal = (value: string): string => `'${value.replace(/'/g, "''")}'`;

function roleOf(role: string): SearchRole {
  return (SEARCH_ROLES as readonly string[]).includes(role) ? (role as SearchRole) : 'user';
}

function definition(name: string): AzureIndexDefinition {
  return { name, fields: MESSAGE_FIELDS };
}

/** The index as this version writes it: the same fields, of the same types. */
function sameFields(index: AzureIndexDefinition): boolean {
  const shape = (fields: readonly SearchField[]) =>
    fields
      .map((field) => `${field.name}:${field.type}`)
      .sort()
      .join(',');
  return shape(index.fields) === shape(MESSAGE_FIELDS);
}

/**
 * A call to the service; its failure as a 503 that says what failed and how (the status and the
 * service's error code, never the key), with a hint when the credentials are refused.
 */
async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const { statusCode, code } = error as { statusCode?: number; code?: string };
    const how =
      statusCode === undefined
        ? (code ?? (error instanceof Error ? error.message : String(error)))
        : `HTTP ${statusCode}${code === undefined ? '' : ` ${code}`}`;
    const hint =
      statusCode === 401 || statusCode === 403
        ? ' Check NEXUS_SEARCH_KEY (an admin key of the service), or the roles of the identity the API runs as (Search Index Data Contributor and Search Service Contributor).'
        : '';
    throw new UnavailableError(`Azure AI Search could not ${what} (${how}).${hint}`, {
      cause: error,
    });
  }
}

function isLoopback(endpoint: string): boolean {
  try {
    const { protocol, hostname } = new URL(endpoint);
    return protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(hostname);
  } catch {
    return false;
  }
}
