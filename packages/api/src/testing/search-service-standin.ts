import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A STAND-IN for Azure AI Search, for tests: Azure AI Search has no emulator, so this small HTTP
 * server answers the REST calls Nexus makes through `@azure/search-documents` (index get, create
 * and delete; index statistics; a batch of documents; a search), over a real socket, as the
 * service documents them. It is not the service: its analyzer is `whitespace` only, its query
 * language is the simple syntax's words, "phrases" and prefix* (all required, as with
 * `searchMode: 'all'`), its filters the OData Nexus writes (`eq`, `ne`, `ge`, `gt`, `le`, `lt`,
 * `and`, `or`, parentheses), and its score a plain TF-IDF. It checks what the service would
 * refuse: a wrong key, fields the index does not have or of the wrong type, a hidden field
 * selected, a filter on a field that is not filterable, a bad document key. The opt-in test
 * (`NEXUS_TEST_SEARCH_ENDPOINT`) runs the same contract against the real service.
 */
export interface SearchServiceStandIn {
  readonly endpoint: string;
  readonly key: string;
  /** Requests answered, by operation (`getIndex`, `createIndex`, `index`, `search`...). */
  readonly calls: Map<string, number>;
  /** The next `count` requests fail with this status (and the service's error body). */
  failNext(status: number, count?: number): void;
  /** The documents of an index, by key (tests look inside). */
  documents(index: string): ReadonlyMap<string, Record<string, unknown>>;
  close(): Promise<void>;
}

interface FieldDefinition {
  name: string;
  type: string;
  key?: boolean;
  searchable?: boolean;
  filterable?: boolean;
  sortable?: boolean;
  retrievable?: boolean;
  analyzer?: string | null;
}

interface IndexState {
  definition: { name: string; fields: FieldDefinition[] } & Record<string, unknown>;
  docs: Map<string, Record<string, unknown>>;
}

class ServiceError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function startSearchServiceStandIn(
  options: { key?: string } = {},
): Promise<SearchServiceStandIn> {
  const key = options.key ?? 'standin-admin-key';
  const indexes = new Map<string, IndexState>();
  const calls = new Map<string, number>();
  let failures: { status: number; count: number } | undefined;

  const server: Server = createServer((request, response) => {
    void answer(request, response).catch((error: unknown) => {
      const failure =
        error instanceof ServiceError
          ? error
          : new ServiceError(500, 'InternalServerError', String(error));
      send(response, failure.status, { error: { code: failure.code, message: failure.message } });
    });
  });

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://standin');
    const body = await readBody(request);
    if (request.headers['api-key'] !== key)
      throw new ServiceError(403, 'Forbidden', 'The api-key is not valid for this service.');
    if (!url.searchParams.has('api-version'))
      throw new ServiceError(400, 'MissingApiVersionParameter', 'api-version is required.');
    if (failures !== undefined && failures.count > 0) {
      failures.count -= 1;
      throw new ServiceError(failures.status, 'InjectedFailure', 'A failure the test asked for.');
    }
    const path = decodeURIComponent(url.pathname);
    const named = /^\/indexes\('([^']+)'\)(\/.*)?$/.exec(path);
    const op = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1);
    if (path === '/indexes' && request.method === 'POST') {
      op('createIndex');
      const definition = JSON.parse(body) as IndexState['definition'];
      if (indexes.has(definition.name))
        throw new ServiceError(409, 'ResourceNameAlreadyInUse', `Index ${definition.name} exists.`);
      checkDefinition(definition);
      indexes.set(definition.name, { definition, docs: new Map() });
      send(response, 201, definition);
      return;
    }
    if (named === null) throw new ServiceError(404, 'NotFound', `No such resource: ${path}`);
    const [, name = '', rest = ''] = named;
    const state = indexes.get(name);
    if (rest === '' && request.method === 'GET') {
      op('getIndex');
      if (state === undefined) throw notFound(name);
      send(response, 200, state.definition);
      return;
    }
    if (rest === '' && request.method === 'DELETE') {
      op('deleteIndex');
      if (state === undefined) throw notFound(name);
      indexes.delete(name);
      response.writeHead(204).end();
      return;
    }
    if (state === undefined) throw notFound(name);
    if (rest === '/search.stats' && request.method === 'GET') {
      op('stats');
      send(response, 200, {
        documentCount: state.docs.size,
        storageSize: Buffer.byteLength(JSON.stringify([...state.docs.values()])),
        vectorIndexSize: 0,
      });
      return;
    }
    if (rest === '/docs/search.index' && request.method === 'POST') {
      op('index');
      send(response, 200, { value: indexDocuments(state, JSON.parse(body)) });
      return;
    }
    if (rest === '/docs/search.post.search' && request.method === 'POST') {
      op('search');
      send(response, 200, search(state, JSON.parse(body) as SearchRequest));
      return;
    }
    throw new ServiceError(404, 'NotFound', `No such resource: ${request.method ?? ''} ${path}`);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    key,
    calls,
    failNext(status, count = 1) {
      failures = { status, count };
    },
    documents: (name) => indexes.get(name)?.docs ?? new Map<string, Record<string, unknown>>(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const notFound = (name: string) =>
  new ServiceError(404, 'ResourceNameNotFound', `No index with the name '${name}' was found.`);

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; odata.metadata=none' });
  response.end(JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const TYPES = new Set(['Edm.String', 'Edm.Int32', 'Edm.Int64', 'Edm.Double', 'Edm.Boolean']);

function checkDefinition(definition: IndexState['definition']): void {
  if (!/^[a-z0-9][a-z0-9-]{0,126}[a-z0-9]?$/.test(definition.name))
    throw new ServiceError(400, 'InvalidName', `Invalid index name ${definition.name}.`);
  const keys = definition.fields.filter((field) => field.key === true);
  if (keys.length !== 1 || keys[0]?.type !== 'Edm.String')
    throw new ServiceError(400, 'InvalidIndex', 'An index needs exactly one Edm.String key field.');
  for (const field of definition.fields) {
    if (!TYPES.has(field.type))
      throw new ServiceError(400, 'InvalidIndex', `Field ${field.name}: unsupported type.`);
    if (field.searchable === true && field.type !== 'Edm.String')
      throw new ServiceError(400, 'InvalidIndex', `Field ${field.name} cannot be searchable.`);
    if (field.analyzer !== undefined && field.analyzer !== null && field.analyzer !== 'whitespace')
      throw new ServiceError(
        400,
        'InvalidIndex',
        `The stand-in knows the whitespace analyzer only (field ${field.name}).`,
      );
  }
}

function fieldOf(state: IndexState, name: string): FieldDefinition {
  const field = state.definition.fields.find((f) => f.name === name);
  if (field === undefined)
    throw new ServiceError(
      400,
      'InvalidRequest',
      `The property '${name}' does not exist on type 'search.documentFields'.`,
    );
  return field;
}

function indexDocuments(state: IndexState, body: unknown): unknown[] {
  const actions = (body as { value?: Record<string, unknown>[] }).value;
  if (!Array.isArray(actions) || actions.length > 1000)
    throw new ServiceError(400, 'InvalidRequest', 'A batch holds 1 to 1000 actions.');
  const keyField = state.definition.fields.find((field) => field.key === true)?.name ?? 'id';
  return actions.map((action) => {
    const { '@search.action': kind = 'upload', ...fields } = action;
    const docKey = fields[keyField];
    if (typeof docKey !== 'string' || !/^[A-Za-z0-9_\-=]{1,1024}$/.test(docKey))
      throw new ServiceError(400, 'InvalidDocumentKey', `Invalid document key ${String(docKey)}.`);
    for (const [name, value] of Object.entries(fields)) checkValue(fieldOf(state, name), value);
    const existing = state.docs.get(docKey);
    if (kind === 'delete') state.docs.delete(docKey);
    else if (kind === 'upload') state.docs.set(docKey, fields);
    else if (kind === 'merge' || kind === 'mergeOrUpload') {
      if (kind === 'merge' && existing === undefined)
        return { key: docKey, status: false, errorMessage: 'Document not found.', statusCode: 404 };
      state.docs.set(docKey, { ...existing, ...fields });
    } else throw new ServiceError(400, 'InvalidRequest', `Unknown action ${String(kind)}.`);
    return {
      key: docKey,
      status: true,
      errorMessage: null,
      statusCode: existing === undefined ? 201 : 200,
    };
  });
}

function checkValue(field: FieldDefinition, value: unknown): void {
  if (value === null) return;
  const ok =
    field.type === 'Edm.String'
      ? typeof value === 'string'
      : field.type === 'Edm.Int32'
        ? Number.isInteger(value) && Math.abs(value as number) <= 2 ** 31
        : field.type === 'Edm.Int64'
          ? Number.isSafeInteger(value)
          : field.type === 'Edm.Boolean'
            ? typeof value === 'boolean'
            : typeof value === 'number';
  if (!ok)
    throw new ServiceError(
      400,
      'InvalidRequest',
      `Cannot convert the value of field '${field.name}' to ${field.type}.`,
    );
}

interface SearchRequest {
  search?: string;
  searchMode?: string;
  queryType?: string;
  searchFields?: string;
  select?: string;
  top?: number;
  filter?: string;
}

/** One clause of a simple query: a phrase of terms, the last maybe a prefix. */
interface Clause {
  readonly terms: string[];
  readonly prefix: boolean;
}

function search(state: IndexState, request: SearchRequest): { value: unknown[] } {
  if ((request.queryType ?? 'simple') !== 'simple')
    throw new ServiceError(400, 'InvalidRequest', 'The stand-in knows the simple syntax only.');
  const fields = (request.searchFields ?? '')
    .split(',')
    .filter((name) => name !== '')
    .map((name) => fieldOf(state, name));
  for (const field of fields)
    if (field.searchable !== true)
      throw new ServiceError(400, 'InvalidRequest', `Field '${field.name}' is not searchable.`);
  const selected = (request.select ?? '')
    .split(',')
    .filter((name) => name !== '')
    .map((name) => fieldOf(state, name));
  for (const field of selected)
    if (field.retrievable === false)
      throw new ServiceError(
        400,
        'InvalidRequest',
        `Field '${field.name}' is not retrievable and cannot be selected.`,
      );
  const clauses = parseSimple(request.search ?? '*');
  const all = (request.searchMode ?? 'any') === 'all';
  const filter = request.filter === undefined ? undefined : parseFilter(state, request.filter);
  const docs = [...state.docs.values()];
  const tokensOf = (doc: Record<string, unknown>) =>
    fields.flatMap((field) => {
      const value = doc[field.name];
      return typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : [];
    });
  const frequency = new Map<string, number>();
  const scored: { doc: Record<string, unknown>; score: number }[] = [];
  const analysed = docs.map((doc) => ({ doc, tokens: tokensOf(doc) }));
  for (const { tokens } of analysed)
    for (const token of new Set(tokens)) frequency.set(token, (frequency.get(token) ?? 0) + 1);
  for (const { doc, tokens } of analysed) {
    if (filter !== undefined && !filter(doc)) continue;
    let score = 0;
    let matched = 0;
    for (const clause of clauses) {
      const hits = clauseHits(tokens, clause);
      if (hits > 0) {
        matched += 1;
        const last = clause.terms[clause.terms.length - 1] ?? '';
        score += hits * Math.log(1 + docs.length / (frequency.get(last) ?? 1));
      }
    }
    if (clauses.length > 0 && (all ? matched < clauses.length : matched === 0)) continue;
    scored.push({ doc, score: clauses.length === 0 ? 1 : score / Math.sqrt(tokens.length + 1) });
  }
  scored.sort((a, b) => b.score - a.score);
  return {
    value: scored.slice(0, request.top ?? 50).map(({ doc, score }) => {
      const out: Record<string, unknown> = { '@search.score': score };
      for (const field of selected.length > 0
        ? selected
        : state.definition.fields.filter((f) => f.retrievable !== false))
        out[field.name] = doc[field.name] ?? null;
      return out;
    }),
  };
}

function parseSimple(text: string): Clause[] {
  if (text.trim() === '*') return [];
  const clauses: Clause[] = [];
  for (const found of text.matchAll(/"([^"]*)"|(\S+)/g)) {
    if (found[1] !== undefined) {
      const terms = found[1].split(/\s+/).filter(Boolean);
      if (terms.length > 0) clauses.push({ terms, prefix: false });
      continue;
    }
    const word = found[2] ?? '';
    if (/[+|\-()\\]/.test(word))
      throw new ServiceError(
        400,
        'InvalidRequest',
        `The stand-in does not take the operator in ${JSON.stringify(word)}.`,
      );
    const prefix = word.endsWith('*');
    clauses.push({ terms: [prefix ? word.slice(0, -1) : word], prefix });
  }
  return clauses;
}

/** How many times the clause's terms occur in a row (the last as a prefix when it is one). */
function clauseHits(tokens: readonly string[], clause: Clause): number {
  let hits = 0;
  const n = clause.terms.length;
  for (let at = 0; at + n <= tokens.length; at += 1) {
    let ok = true;
    for (let i = 0; i < n && ok; i += 1) {
      const token = tokens[at + i] ?? '';
      const term = clause.terms[i] ?? '';
      ok = clause.prefix && i === n - 1 ? token.startsWith(term) : token === term;
    }
    if (ok) hits += 1;
  }
  return hits;
}

type Predicate = (doc: Record<string, unknown>) => boolean;

/** The OData filters Nexus writes: comparisons joined by and/or, in parentheses at will. */
function parseFilter(state: IndexState, text: string): Predicate {
  const tokens = [...text.matchAll(/'(?:[^']|'')*'|\(|\)|[A-Za-z_][\w]*|-?\d+(?:\.\d+)?/g)].map(
    (m) => m[0],
  );
  let at = 0;
  const fail = (why: string) =>
    new ServiceError(400, 'InvalidRequest', `Invalid expression: ${why} in $filter ${text}`);
  const peek = () => tokens[at];
  const next = () => {
    const token = tokens[at];
    at += 1;
    if (token === undefined) throw fail('unexpected end');
    return token;
  };
  const or = (): Predicate => {
    let left = and();
    while (peek() === 'or') {
      next();
      const a = left;
      const b = and();
      left = (doc) => a(doc) || b(doc);
    }
    return left;
  };
  const and = (): Predicate => {
    let left = primary();
    while (peek() === 'and') {
      next();
      const a = left;
      const b = primary();
      left = (doc) => a(doc) && b(doc);
    }
    return left;
  };
  const primary = (): Predicate => {
    const token = next();
    if (token === '(') {
      const inner = or();
      if (next() !== ')') throw fail('missing )');
      return inner;
    }
    if (token === 'true') return () => true;
    if (token === 'false') return () => false;
    const field = fieldOf(state, token);
    if (field.filterable !== true)
      throw fail(`the field '${field.name}' is not a filterable field`);
    const operator = next();
    const raw = next();
    const value = raw.startsWith("'") ? raw.slice(1, -1).replace(/''/g, "'") : Number(raw);
    const compare = (doc: Record<string, unknown>) => {
      const actual = doc[field.name] as string | number | null | undefined;
      if (actual === undefined || actual === null) return Number.NaN;
      return actual < value ? -1 : actual > value ? 1 : 0;
    };
    switch (operator) {
      case 'eq':
        return (doc) => compare(doc) === 0;
      case 'ne':
        return (doc) => compare(doc) !== 0;
      case 'ge':
        return (doc) => compare(doc) >= 0;
      case 'gt':
        return (doc) => compare(doc) > 0;
      case 'le':
        return (doc) => compare(doc) <= 0;
      case 'lt':
        return (doc) => compare(doc) < 0;
      default:
        throw fail(`unknown operator ${operator}`);
    }
  };
  const predicate = or();
  if (at !== tokens.length) throw fail(`unexpected ${tokens[at] ?? ''}`);
  return predicate;
}
