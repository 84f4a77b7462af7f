import { randomUUID } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import {
  RestError,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineRequest,
  type HttpClient,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';

/**
 * One write of an entity-group transaction, its entity already in the service's JSON form
 * (`PartitionKey`, `RowKey`, properties, `<name>@odata.type`). `insert` fails on an existing row,
 * `upsert` replaces whatever is there, `update` replaces the row only as it was at `etag`,
 * `delete` removes a row that exists (only as it was at `etag`, when given).
 */
export type BatchWrite =
  | { readonly op: 'insert' | 'upsert'; readonly rowKey: string; readonly json: string }
  | {
      readonly op: 'update';
      readonly rowKey: string;
      readonly json: string;
      readonly etag: string;
    }
  | { readonly op: 'delete'; readonly rowKey: string; readonly etag?: string };

const CRLF = '\r\n';

/**
 * Sends an entity-group transaction (one `$batch` request, every write in one partition) through
 * the table client's own pipeline, so authentication (Shared Key, SAS or Entra ID), API version
 * and retries are the SDK's. It replaces `TableClient.submitTransaction`, which builds a new
 * client and runs every write through a pipeline of its own just to serialise it: twice the CPU
 * per transaction (0.47-0.72 against 0.27-0.33 ms for four inserts, bench/RESULTS.md).
 *
 * Resolves when every write succeeded; otherwise throws a `RestError` with the failing write's
 * status and the service's error code (`EntityAlreadyExists`, `UpdateConditionNotSatisfied`,
 * `ResourceNotFound`, `TableNotFound`…), as the SDK does, and nothing was written.
 * Format: https://learn.microsoft.com/rest/api/storageservices/performing-entity-group-transactions
 */
export class EntityBatchSender {
  private readonly client: TableClient;
  private readonly http: HttpClient;
  /** The table's URL, and a SAS query string that goes after `$batch` (none with a key). */
  private readonly tableUrl: string;
  private readonly batchUrl: string;

  /** As the client was made: plain HTTP only for a local endpoint named by a connection string. */
  private readonly allowInsecureConnection: boolean;

  constructor(
    client: TableClient,
    options: { allowInsecureConnection?: boolean; http?: HttpClient } = {},
  ) {
    this.client = client;
    this.http = options.http ?? createDefaultHttpClient();
    this.allowInsecureConnection = options.allowInsecureConnection ?? false;
    const [account = '', query] = client.url.split('?');
    const base = account.endsWith('/') ? account.slice(0, -1) : account;
    this.tableUrl = `${base}/${client.tableName}`;
    this.batchUrl = `${base}/$batch${query === undefined ? '' : `?${query}`}`;
  }

  async send(partitionKey: string, writes: readonly BatchWrite[]): Promise<string[]> {
    const batch = `batch_${randomUUID()}`;
    const changeset = `changeset_${randomUUID()}`;
    const parts = writes.map((write) => this.part(changeset, partitionKey, write));
    const body = [
      `--${batch}${CRLF}Content-Type: multipart/mixed; boundary=${changeset}${CRLF}`,
      ...parts,
      `--${changeset}--${CRLF}--${batch}--${CRLF}`,
    ].join(CRLF);
    const request = createPipelineRequest({
      url: this.batchUrl,
      method: 'POST',
      body,
      headers: createHttpHeaders({
        'Content-Type': `multipart/mixed; boundary=${batch}`,
        Accept: 'application/json',
        DataServiceVersion: '3.0',
        MaxDataServiceVersion: '3.0;NetFx',
      }),
      allowInsecureConnection: this.allowInsecureConnection,
    });
    const response = await this.client.pipeline.sendRequest(this.http, request);
    return checkBatchResponse(response, writes.length);
  }

  /** One write as an HTTP request inside the changeset. */
  private part(changeset: string, partitionKey: string, write: BatchWrite): string {
    const entityUrl = `${this.tableUrl}(PartitionKey='${keyInUrl(partitionKey)}',RowKey='${keyInUrl(write.rowKey)}')`;
    if (write.op === 'delete') {
      return [
        `--${changeset}`,
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        '',
        `DELETE ${entityUrl} HTTP/1.1`,
        'Accept: application/json;odata=minimalmetadata',
        'DataServiceVersion: 3.0',
        `If-Match: ${write.etag ?? '*'}`,
        '',
        '',
      ].join(CRLF);
    }
    const [method, url] = write.op === 'insert' ? ['POST', this.tableUrl] : ['PUT', entityUrl];
    return [
      `--${changeset}`,
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      '',
      `${method} ${url} HTTP/1.1`,
      'Accept: application/json;odata=minimalmetadata',
      'Content-Type: application/json',
      'DataServiceVersion: 3.0',
      ...(write.op === 'insert' ? ['Prefer: return-no-content'] : []),
      ...(write.op === 'update' ? [`If-Match: ${write.etag}`] : []),
      '',
      write.json,
    ].join(CRLF);
  }
}

/** A key inside `(PartitionKey='…')`: quotes doubled (OData), then escaped for the URL. */
function keyInUrl(key: string): string {
  return encodeURIComponent(key.replaceAll("'", "''"));
}

/**
 * A `$batch` answer: 202 with one response per write when all succeeded; when one failed, its
 * response alone (with the service's error), and nothing was written. A status other than 202
 * refused the batch as a whole. Returns each response's `ETag` header, in order (`''` when it
 * has none: a delete).
 */
function checkBatchResponse(response: PipelineResponse, writes: number): string[] {
  const text = response.bodyAsText ?? '';
  if (response.status !== 202) throw batchError(response, response.status, text);
  // Each response starts at its status line and runs to the next one.
  const starts = [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)];
  const statuses = starts.map((match) => Number(match[1]));
  const failed = statuses.find((status) => status < 200 || status >= 300);
  if (failed !== undefined) throw batchError(response, failed, text);
  if (statuses.length !== writes) {
    throw new RestError(
      `The transaction's answer has ${statuses.length} responses for ${writes} writes.`,
      { statusCode: 500, response },
    );
  }
  return starts.map((match, n) => {
    const part = text.slice(match.index, starts[n + 1]?.index ?? text.length);
    return /^ETag:[ \t]*(.+?)\r?$/im.exec(part)?.[1] ?? '';
  });
}

function batchError(response: PipelineResponse, status: number, text: string): RestError {
  // The error is the JSON object in the (sub-)response: {"odata.error":{"code","message"}}.
  const json = /\{.*\}/s.exec(text)?.[0];
  let code: string | undefined;
  let message = `The transaction failed with HTTP ${status}.`;
  try {
    const parsed = json === undefined ? undefined : (JSON.parse(json) as unknown);
    const error =
      typeof parsed === 'object' && parsed !== null && 'odata.error' in parsed
        ? (parsed['odata.error'] as { code?: unknown; message?: { value?: unknown } })
        : undefined;
    if (typeof error?.code === 'string') code = error.code;
    if (typeof error?.message?.value === 'string') message = error.message.value;
  } catch {
    // Not JSON: the status alone says what happened.
  }
  return new RestError(message, { statusCode: status, ...(code ? { code } : {}), response });
}
