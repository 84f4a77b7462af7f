/** A validation issue as zod reports one, without depending on zod. */
export interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * One line for a validation issue, its path written as code would (`jobs[0].config.mode`), so the
 * reader finds the field: `jobs[0].config.mode: must be "keep" or "move"`.
 */
export function describeIssue(
  issue: Issue,
  options: { prefix?: string; whole?: string } = {},
): string {
  const path = issue.path
    .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
    .join('');
  const where =
    `${options.prefix ?? ''}${path}`.replace(/^\./, '') || (options.whole ?? '(top level)');
  return `${where}: ${issue.message}`;
}
