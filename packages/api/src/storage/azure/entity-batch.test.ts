import { AzureNamedKeyCredential, TableClient } from '@azure/data-tables';
import {
  createHttpHeaders,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { azureCode, azureStatus } from './azure-errors.ts';
import { EntityBatchSender, type BatchWrite } from './entity-batch.ts';

// The wire is stood in for here only to shape answers Azurite never gives (a short answer, a
// refused batch); the requests themselves are checked against Azurite in
// azure-storage.integration.test.ts.
const KEY = Buffer.alloc(32, 1).toString('base64');

function sender(answer: { status: number; body: string }) {
  const sent: PipelineRequest[] = [];
  const http: HttpClient = {
    sendRequest(request): Promise<PipelineResponse> {
      sent.push(request);
      return Promise.resolve({
        request,
        status: answer.status,
        headers: createHttpHeaders({ 'content-type': 'multipart/mixed; boundary=batchresponse_1' }),
        bodyAsText: answer.body,
      });
    },
  };
  const client = new TableClient(
    'http://127.0.0.1:1/devstoreaccount1',
    'rows',
    new AzureNamedKeyCredential('devstoreaccount1', KEY),
    { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } },
  );
  return { batches: new EntityBatchSender(client, { http, allowInsecureConnection: true }), sent };
}

function answer(...statuses: string[]): string {
  const parts = statuses.map(
    (status) =>
      `--changesetresponse_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 ${status}\r\nX-Content-Type-Options: nosniff\r\n\r\n`,
  );
  return `--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_1\r\n\r\n${parts.join('')}--changesetresponse_1--\r\n--batchresponse_1--\r\n`;
}

const writes: BatchWrite[] = [
  { op: 'insert', rowKey: 'sessions|s1', json: '{"PartitionKey":"a\'b","RowKey":"sessions|s1"}' },
  { op: 'upsert', rowKey: 'index|x y', json: '{"PartitionKey":"a\'b","RowKey":"index|x y"}' },
  {
    op: 'update',
    rowKey: "agents|it's",
    json: '{"PartitionKey":"a\'b","RowKey":"agents|it\'s"}',
    etag: `W/"datetime'2026-11-25T10%3A00%3A00Z'"`,
  },
];

describe('EntityBatchSender', () => {
  it('sends one multipart $batch: a POST per insert, a PUT at the row per replace, If-Match per update', async () => {
    const { batches, sent } = sender({
      status: 202,
      body: answer('204 No Content', '204 No Content', '204 No Content'),
    });
    await batches.send("a'b", writes);
    const [request] = sent;
    expect(request?.url).toBe('http://127.0.0.1:1/devstoreaccount1/$batch');
    expect(request?.method).toBe('POST');
    expect(request?.headers.get('authorization')).toMatch(/^SharedKey(Lite)? devstoreaccount1:/);
    const boundary = /boundary=(batch_[0-9a-f-]+)/.exec(
      request?.headers.get('content-type') ?? '',
    )?.[1];
    expect(typeof request?.body).toBe('string');
    const body = typeof request?.body === 'string' ? request.body : '';
    expect(body.startsWith(`--${boundary ?? 'none'}\r\n`)).toBe(true);
    expect(body.endsWith(`--${boundary ?? 'none'}--\r\n`)).toBe(true);
    const lines = body.split('\r\n');
    expect(lines.filter((line) => / HTTP\/1\.1$/.test(line))).toEqual([
      'POST http://127.0.0.1:1/devstoreaccount1/rows HTTP/1.1',
      `PUT http://127.0.0.1:1/devstoreaccount1/rows(PartitionKey='a''b',RowKey='index%7Cx%20y') HTTP/1.1`,
      `PUT http://127.0.0.1:1/devstoreaccount1/rows(PartitionKey='a''b',RowKey='agents%7Cit''s') HTTP/1.1`,
    ]);
    expect(lines.filter((line) => line.startsWith('If-Match:'))).toEqual([
      `If-Match: W/"datetime'2026-11-25T10%3A00%3A00Z'"`,
    ]);
    expect(lines.filter((line) => line.startsWith('Prefer:'))).toEqual([
      'Prefer: return-no-content',
    ]);
    for (const write of writes) if (write.op !== 'delete') expect(lines).toContain(write.json);
  });

  it('deletes a row (any version, or the one named) and returns each write’s new ETag', async () => {
    const tagged = (status: string, etag?: string) =>
      etag === undefined ? status : `${status}\r\nETag: ${etag}`;
    const { batches, sent } = sender({
      status: 202,
      body: answer(
        tagged('204 No Content', `W/"datetime'2026-12-03T02%3A00%3A00.1Z'"`),
        tagged('204 No Content'),
        tagged('204 No Content'),
        tagged('204 No Content', `W/"datetime'2026-12-03T02%3A00%3A00.2Z'"`),
      ),
    });
    const etags = await batches.send("a'b", [
      { op: 'insert', rowKey: 'queue|new', json: '{"PartitionKey":"a\'b","RowKey":"queue|new"}' },
      { op: 'delete', rowKey: 'queue|old' },
      { op: 'delete', rowKey: 'expiry|old', etag: `W/"datetime'2026-11-25T10%3A00%3A00Z'"` },
      writes[2] ?? writes[0]!,
    ]);
    expect(etags).toEqual([
      `W/"datetime'2026-12-03T02%3A00%3A00.1Z'"`,
      '',
      '',
      `W/"datetime'2026-12-03T02%3A00%3A00.2Z'"`,
    ]);
    const lines = (typeof sent[0]?.body === 'string' ? sent[0].body : '').split('\r\n');
    expect(lines.filter((line) => line.startsWith('DELETE '))).toEqual([
      `DELETE http://127.0.0.1:1/devstoreaccount1/rows(PartitionKey='a''b',RowKey='queue%7Cold') HTTP/1.1`,
      `DELETE http://127.0.0.1:1/devstoreaccount1/rows(PartitionKey='a''b',RowKey='expiry%7Cold') HTTP/1.1`,
    ]);
    expect(lines.filter((line) => line.startsWith('If-Match:'))).toEqual([
      'If-Match: *',
      `If-Match: W/"datetime'2026-11-25T10%3A00%3A00Z'"`,
      `If-Match: W/"datetime'2026-11-25T10%3A00%3A00Z'"`,
    ]);
  });

  it('throws the failing write’s status and the service’s code, as the SDK does', async () => {
    const failed = answer('409 Conflict').replace(
      'X-Content-Type-Options: nosniff\r\n\r\n',
      'Content-Type: application/json\r\n\r\n{"odata.error":{"code":"EntityAlreadyExists","message":{"lang":"en-US","value":"0:The specified entity already exists."}}}\r\n',
    );
    const { batches } = sender({ status: 202, body: failed });
    const error: unknown = await batches.send("a'b", writes).catch((caught: unknown) => caught);
    expect(azureStatus(error)).toBe(409);
    expect(azureCode(error)).toBe('EntityAlreadyExists');
    expect(String(error)).toMatch(/The specified entity already exists/);
  });

  it('throws when the batch as a whole is refused', async () => {
    const { batches } = sender({
      status: 400,
      body: '{"odata.error":{"code":"InvalidInput","message":{"value":"Bad batch."}}}',
    });
    const error: unknown = await batches.send("a'b", writes).catch((caught: unknown) => caught);
    expect(azureStatus(error)).toBe(400);
    expect(azureCode(error)).toBe('InvalidInput');
  });

  it('does not take an answer with fewer responses than writes for success', async () => {
    const { batches } = sender({ status: 202, body: answer('204 No Content', '204 No Content') });
    await expect(batches.send("a'b", writes)).rejects.toThrow(/2 responses for 3 writes/);
  });
});
