import { html } from 'hono/html';
import type { KeyRecord } from '../../auth/key-store.ts';
import type { HostView } from '../../http/routes/host-routes.ts';
import type { PageContext } from '../dashboard-routes.ts';
import { csrfField, emptyRow, layout, tableHead, when, type Html } from '../page.ts';

const HOST_COLUMNS = [
  'Host',
  'Name',
  'Health',
  'Worker',
  'First seen',
  'Last upload',
  'Last claim',
  'Agents',
];
const KEY_COLUMNS = ['Key', 'Role', 'Hosts', 'Label', 'Created', 'Last used', 'State'];

/** Hosts and keys, for admins: each host's state, every key, a new key, revocation. */
export async function adminPage(page: PageContext): Promise<Html> {
  return render(page);
}

async function render(
  { viewer, api }: PageContext,
  shown?: { key: string; record: KeyRecord },
  problem?: string,
): Promise<Html> {
  const [{ hosts }, { keys }] = await Promise.all([
    api.get<{ hosts: HostView[] }>(viewer.principal, '/v1/hosts'),
    api.get<{ keys: KeyRecord[] }>(viewer.principal, '/v1/keys'),
  ]);
  const body = html`<h1>Hosts &amp; keys</h1>
    ${problem === undefined ? '' : html`<p class="error" role="alert">${problem}</p>`}
    ${
      shown === undefined
        ? ''
        : html`<section class="card" aria-labelledby="new-key">
            <h2 id="new-key">Key ${shown.record.keyId} created (${shown.record.role})</h2>
            <p>Copy it now: it is shown this once, and Nexus keeps only its hash.</p>
            <p class="secret">${shown.key}</p>
          </section>`
    }
    <h2>Hosts</h2>
    <table>
      ${tableHead(HOST_COLUMNS)}
      <tbody>
        ${
          hosts.length === 0
            ? emptyRow(
                HOST_COLUMNS.length,
                'No host yet: enrol one with "nexus keys enrol --host <name>".',
              )
            : hosts.map(
                (h) =>
                  html`<tr>
                    <td>${h.hostId}</td>
                    <td>${h.name}</td>
                    <td>
                      <span class="badge ${h.status.health}" title="${h.status.reason}"
                        >${h.status.health}</span
                      >
                    </td>
                    <td>${h.workerVersion ?? '—'}</td>
                    <td>${when(h.firstSeenAt)}</td>
                    <td>${when(h.lastUploadAt)}</td>
                    <td>${when(h.lastClaimAt)}</td>
                    <td>${h.agents.map((a) => a.agentId).join(', ')}</td>
                  </tr>`,
              )
        }
      </tbody>
    </table>
    <h2>Keys</h2>
    <table>
      ${tableHead(KEY_COLUMNS)}
      <tbody>
        ${
          keys.length === 0
            ? emptyRow(KEY_COLUMNS.length, 'Only the configured admin keys so far.')
            : keys.map(
                (k) =>
                  html`<tr>
                    <td><code>${k.keyId}</code></td>
                    <td>${k.role}</td>
                    <td>
                      ${
                        k.role === 'worker'
                          ? (k.hostId ?? '')
                          : k.role === 'reader'
                            ? k.hosts === 'all' || k.hosts === undefined
                              ? 'all'
                              : k.hosts.join(', ')
                            : 'all'
                      }
                    </td>
                    <td>${k.label}</td>
                    <td>${when(k.createdAt)}</td>
                    <td>${when(k.lastUsedAt)}</td>
                    <td>
                      ${
                        k.revokedAt === undefined
                          ? html`<form method="post" action="/admin/keys/${k.keyId}/revoke">
                              ${csrfField(viewer)}
                              <button type="submit" class="danger">Revoke</button>
                            </form>`
                          : html`<span class="badge dead"
                              >revoked ${k.revokedAt.slice(0, 10)}</span
                            >`
                      }
                    </td>
                  </tr>`,
              )
        }
      </tbody>
    </table>
    <section class="card" aria-labelledby="create-key">
      <h2 id="create-key">New key</h2>
      <form method="post" action="/admin/keys" class="filters">
        ${csrfField(viewer)}
        <label
          >Role
          <select name="role">
            <option value="reader">reader (sees, changes nothing)</option>
            <option value="worker">worker (one host)</option>
            <option value="admin">admin</option>
          </select></label
        >
        <label
          >Hosts (reader: blank for all; worker: one)
          <input name="hosts" placeholder="laptop, server"
        /></label>
        <label>Label <input name="label" maxlength="100" /></label>
        <button type="submit">Create key</button>
      </form>
    </section>`;
  return layout({ title: 'Hosts & keys', viewer, current: '/admin', body });
}

export async function createKey(page: PageContext): Promise<Html> {
  const { form, viewer, api } = page;
  const role = form.get('role') ?? '';
  const hosts = (form.get('hosts') ?? '')
    .split(/[\s,]+/)
    .map((h) => h.trim())
    .filter((h) => h !== '');
  const label = (form.get('label') ?? '').trim();
  const input = {
    role,
    ...(role === 'worker' ? { hostId: hosts[0] ?? '' } : {}),
    ...(role === 'reader' ? { hosts: hosts.length === 0 ? 'all' : hosts } : {}),
    ...(label === '' ? {} : { label }),
  };
  const answer = await api.call<KeyRecord & { key: string }>(
    viewer.principal,
    'POST',
    '/v1/keys',
    input,
  );
  if (!answer.ok) return render(page, undefined, answer.error?.message);
  const { key, ...record } = answer.body;
  return render(page, { key, record });
}

export async function revokeKey(page: PageContext): Promise<Response | Html> {
  const { c, viewer, api } = page;
  const answer = await api.call(
    viewer.principal,
    'DELETE',
    `/v1/keys/${encodeURIComponent(c.req.param('keyId') ?? '')}`,
  );
  if (!answer.ok) return render(page, undefined, answer.error?.message);
  return c.redirect('/admin', 303);
}
