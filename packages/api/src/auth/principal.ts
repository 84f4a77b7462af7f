/**
 * Who a request speaks for, as its key says. Roles:
 * - `admin`: everything (the keys of `NEXUS_API_KEYS`, the generated first key, and created ones);
 * - `worker`: one host's worker: uploads for that host, claims and settles its webhooks, announces
 *   it and reports its runs, reads that host's backups (to restore them); nothing of other hosts,
 *   and it manages nothing;
 * - `reader`: reads (sessions, transcripts, usage, webhooks, endpoints without secrets) of every
 *   host or of a listed set; changes nothing.
 */
export type Principal =
  | { readonly role: 'admin'; readonly keyId: string }
  | { readonly role: 'worker'; readonly keyId: string; readonly hostId: string }
  | { readonly role: 'reader'; readonly keyId: string; readonly hosts: HostSet };

/** A reader's hosts: every host, or a listed set. */
export type HostSet = 'all' | readonly string[];

export const ROLES = ['admin', 'worker', 'reader'] as const;
export type Role = (typeof ROLES)[number];

/** "an admin key", "a worker key of host laptop", "a reader key of hosts a, b". */
export function describePrincipal(principal: Principal): string {
  switch (principal.role) {
    case 'admin':
      return 'an admin key';
    case 'worker':
      return `a worker key of host ${principal.hostId}`;
    case 'reader':
      return principal.hosts === 'all'
        ? 'a reader key of all hosts'
        : `a reader key of host${principal.hosts.length === 1 ? '' : 's'} ${principal.hosts.join(', ')}`;
  }
}
