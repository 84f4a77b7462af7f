/**
 * The API's answers that reject a transcript's content for good: remembered in the ledger, and
 * the file tried again only once it changes. Codes from the API's transcript checks (scanner,
 * hash, size, encoding); any other 4xx is about the request, not the content.
 */
const CONTENT_REJECTIONS = new Set([
  'empty_transcript',
  'invalid_entry',
  'invalid_json',
  'line_too_long',
  'missing_header',
  'session_id_mismatch',
  'sha256_mismatch',
  'invalid_content_encoding',
  'unsupported_content_encoding',
  'payload_too_large',
]);

export function isContentRejection(status: number, code: string): boolean {
  return (status === 400 || status === 413 || status === 415) && CONTENT_REJECTIONS.has(code);
}

/**
 * A final 4xx that is not about the content, as one line naming the cause and the fix;
 * `undefined` when it is a rejection of the content.
 */
export function explainRefusal(
  status: number,
  code: string,
  message: string,
  url: string,
): string | undefined {
  if (isContentRejection(status, code)) return undefined;
  const answer = `(HTTP ${status} ${code}: ${message})`;
  if (status === 401)
    return `the API at ${url} refused the key: check NEXUS_API_KEY or nexus.apiKey in the worker config ${answer}`;
  if (status === 403)
    return `the API at ${url} does not let this key upload transcripts: use a key made for this worker ${answer}`;
  if (status === 404 && (code === 'route_not_found' || code.startsWith('http_')))
    return `the API at ${url} has no upload route: check NEXUS_URL or nexus.url in the worker config (the API's base URL, e.g. http://127.0.0.1:7420) ${answer}`;
  return `the API at ${url} refused the upload for a reason other than its content; nothing was recorded, the next run tries again ${answer}`;
}
