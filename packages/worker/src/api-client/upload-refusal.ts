/**
 * The API's answers that reject this file for good: 400 (not a transcript, a hash or session id
 * that does not match, a name or context the API refuses), 413 (too large), 415 (an encoding it
 * does not take). They are about this file, so the file is remembered in the ledger and tried
 * again only once it changes, and the other files go on. Any other final answer (a refused key,
 * a wrong URL, missing storage) is about the request, and would meet every other file too.
 */
export function isContentRejection(status: number): boolean {
  return status === 400 || status === 413 || status === 415;
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
  if (isContentRejection(status)) return undefined;
  const answer = `(HTTP ${status} ${code}: ${message})`;
  if (status === 401)
    return `the API at ${url} refused the key: check NEXUS_API_KEY or nexus.apiKey in the worker config ${answer}`;
  if (status === 403)
    return `the API at ${url} does not let this key upload transcripts: use a key made for this worker ${answer}`;
  if (status === 404 && (code === 'route_not_found' || code.startsWith('http_')))
    return `the API at ${url} has no upload route: check NEXUS_URL or nexus.url in the worker config (the API's base URL, e.g. http://127.0.0.1:7420) ${answer}`;
  return `the API at ${url} refused the upload for a reason other than its content; nothing was recorded, the next run tries again ${answer}`;
}
