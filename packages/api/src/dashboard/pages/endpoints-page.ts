import { html, raw } from 'hono/html';
import { ValidationError } from '@nexus/core';
import type { HostView } from '../../http/routes/host-routes.ts';
import { PROVIDER_SETUP } from '../../webhooks/provider-setup.ts';
import { PRESET_NAMES } from '../../webhooks/provider-presets.ts';
import type { PageContext } from '../dashboard-routes.ts';
import {
  csrfField,
  emptyRow,
  isAdmin,
  layout,
  tableHead,
  when,
  type Html,
  type Viewer,
} from '../page.ts';

const ENDPOINT_COLUMNS = [
  'Endpoint',
  'Provider',
  'Host / agent',
  'Delivers as',
  'URL',
  'Secrets',
  'Created',
  'State',
];

const PROVIDERS = [...PRESET_NAMES, 'hmac', 'token'] as const;
const ACTIONS = ['agent', 'wake', 'mapping'] as const;

/** An endpoint as `GET /v1/endpoints` shows it (secrets as their last four characters). */
interface EndpointView {
  readonly id: string;
  readonly hostId: string;
  readonly agentId: string;
  readonly provider: { readonly type: string; readonly header?: string };
  readonly action: { readonly type: string; readonly name?: string };
  readonly enabled: boolean;
  readonly paused?: boolean;
  readonly events?: readonly string[];
  readonly notifyDead?: boolean;
  readonly secrets: readonly string[];
  readonly url: string;
  readonly createdAt: string;
}

/**
 * Webhook endpoints: the list, and for admins create, rotate a secret, disable and enable, pause
 * and resume, filter event types, turn dead-webhook notices on and off.
 */
export async function endpointsPage(page: PageContext): Promise<Html> {
  return render(page, undefined);
}

async function render(
  { c, viewer, api }: PageContext,
  shown:
    { title: string; endpoint: EndpointView; secret: string; verifyToken?: string } | undefined,
  problem?: string,
): Promise<Html> {
  const [{ endpoints }, { hosts }] = await Promise.all([
    api.get<{ endpoints: EndpointView[] }>(viewer.principal, '/v1/endpoints'),
    api.get<{ hosts: HostView[] }>(viewer.principal, '/v1/hosts'),
  ]);
  const origin = new URL(c.req.url).origin;
  const columns = isAdmin(viewer) ? [...ENDPOINT_COLUMNS, 'Actions'] : ENDPOINT_COLUMNS;
  const body = html`<h1>Endpoints</h1>
    ${problem === undefined ? '' : html`<p class="error" role="alert">${problem}</p>`}
    ${shown === undefined ? '' : secretCard(shown, origin)}
    <table>
      ${tableHead(columns)}
      <tbody>
        ${
          endpoints.length === 0
            ? emptyRow(columns.length, 'No endpoints yet.')
            : endpoints.map(
                (e) =>
                  html`<tr>
                    <td>${e.id}</td>
                    <td>${e.provider.type}</td>
                    <td>${e.hostId} / ${e.agentId}</td>
                    <td>
                      ${e.action.type}${e.action.name === undefined ? '' : ` ${e.action.name}`}
                    </td>
                    <td><code>${origin}${e.url}</code></td>
                    <td>${e.secrets.join(', ')}</td>
                    <td>${when(e.createdAt)}</td>
                    <td>
                      <span class="badge ${e.enabled && e.paused !== true ? 'ok' : 'paused'}"
                        >${!e.enabled ? 'disabled' : e.paused === true ? 'paused' : 'active'}</span
                      >
                      <div class="muted">
                        ${e.events === undefined ? 'every event' : `only ${e.events.join(', ')}`}
                      </div>
                      ${e.notifyDead === true ? html`<div class="muted">notices dead ones</div>` : ''}
                    </td>
                    ${isAdmin(viewer) ? html`<td>${endpointActions(e, viewer)}</td>` : ''}
                  </tr>`,
              )
        }
      </tbody>
    </table>
    ${isAdmin(viewer) ? createForm(viewer, hosts) : html`<p class="muted">An admin key can add endpoints.</p>`}`;
  return layout({ title: 'Endpoints', viewer, current: '/endpoints', body });
}

function secretCard(
  shown: { title: string; endpoint: EndpointView; secret: string; verifyToken?: string },
  origin: string,
): Html {
  return html`<section class="card" aria-labelledby="shown-secret">
    <h2 id="shown-secret">${shown.title}</h2>
    <p>Copy the secret now: it is shown this once.</p>
    <dl class="facts">
      <dt>URL</dt>
      <dd class="secret">${origin}${shown.endpoint.url}</dd>
      <dt>Secret</dt>
      <dd class="secret">${shown.secret}</dd>
      ${
        shown.verifyToken === undefined
          ? ''
          : html`<dt>Verify token</dt>
              <dd class="secret">${shown.verifyToken}</dd>`
      }
    </dl>
    <p>${PROVIDER_SETUP[shown.endpoint.provider.type] ?? ''}</p>
  </section>`;
}

function endpointActions(e: EndpointView, viewer: Viewer): Html {
  return html`<div class="actions">
    <form method="post" action="/endpoints/${e.id}/rotate">
      ${csrfField(viewer)}
      <button type="submit" class="secondary">Add a secret</button>
    </form>
    <form method="post" action="/endpoints/${e.id}/${e.paused === true ? 'resume' : 'pause'}">
      ${csrfField(viewer)}
      <button type="submit" class="secondary">${e.paused === true ? 'Resume' : 'Pause'}</button>
    </form>
    <form
      method="post"
      action="/endpoints/${e.id}/${e.notifyDead === true ? 'notify-off' : 'notify-on'}"
    >
      ${csrfField(viewer)}
      <button type="submit" class="secondary">
        ${e.notifyDead === true ? 'Stop dead notices' : 'Notify agent of dead ones'}
      </button>
    </form>
    <form method="post" action="/endpoints/${e.id}/events">
      ${csrfField(viewer)}
      <label
        >Event types (empty: all)
        <input name="events" value="${e.events?.join(', ') ?? ''}" placeholder="issues, invoice.*"
      /></label>
      <button type="submit" class="secondary">Set</button>
    </form>
    <form method="post" action="/endpoints/${e.id}/${e.enabled ? 'disable' : 'enable'}">
      ${csrfField(viewer)}
      <button type="submit" class="${e.enabled ? 'danger' : 'secondary'}">
        ${e.enabled ? 'Disable' : 'Enable'}
      </button>
    </form>
    ${
      e.secrets.length > 1
        ? html`<form method="post" action="/endpoints/${e.id}/remove-secret">
            ${csrfField(viewer)}
            <label
              >Remove secret
              <select name="secret">
                ${e.secrets.map((s) => html`<option value="${s.replace('…', '')}">${s}</option>`)}
              </select></label
            >
            <button type="submit" class="secondary">Remove</button>
          </form>`
        : ''
    }
  </div>`;
}

function createForm(viewer: Viewer, hosts: readonly HostView[]): Html {
  return html`<section class="card" aria-labelledby="new-endpoint">
    <h2 id="new-endpoint">New endpoint</h2>
    <form method="post" action="/endpoints" class="filters">
      ${csrfField(viewer)}
      <label
        >Provider
        <select name="provider" required>
          ${PROVIDERS.map((p) => html`<option value="${p}">${p}</option>`)}
        </select></label
      >
      <label
        >Host
        <select name="hostId">
          ${hosts.map((h) => html`<option value="${h.hostId}">${h.name} (${h.hostId})</option>`)}
        </select></label
      >
      <label>Agent <input name="agentId" value="main" required pattern="[A-Za-z0-9._-]+" /></label>
      <label>Id (optional) <input name="id" pattern="[A-Za-z0-9._-]*" /></label>
      <label
        >Delivers as
        <select name="action">
          ${ACTIONS.map((a) => html`<option value="${a}" ${a === 'agent' ? raw('selected') : ''}>${a}</option>`)}
        </select></label
      >
      <label>Mapping (for "mapping") <input name="mapping" /></label>
      <label>Header (hmac, token) <input name="header" /></label>
      <label
        >Secret from the provider (optional)
        <input name="secret" type="password" autocomplete="off"
      /></label>
      <label>Event types (optional) <input name="events" placeholder="issues, invoice.*" /></label>
      <label
        ><input type="checkbox" name="notifyDead" value="on" /> Notify the agent of dead
        webhooks</label
      >
      <button type="submit">Create</button>
    </form>
    <p class="muted">
      Without a secret, Nexus makes one. Stripe and Slack make their own: paste it here.
    </p>
  </section>`;
}

export async function createEndpoint(page: PageContext): Promise<Html> {
  const { form, viewer, api } = page;
  const field = (name: string) => {
    const value = form.get(name)?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const input = {
    provider: field('provider'),
    agentId: field('agentId'),
    ...(field('hostId') === undefined ? {} : { hostId: field('hostId') }),
    ...(field('id') === undefined ? {} : { id: field('id') }),
    ...(field('action') === undefined ? {} : { action: field('action') }),
    ...(field('mapping') === undefined ? {} : { mapping: field('mapping') }),
    ...(field('header') === undefined ? {} : { header: field('header') }),
    ...(field('secret') === undefined ? {} : { secrets: [field('secret')] }),
    ...(field('events') === undefined ? {} : { events: eventList(field('events') ?? '') }),
    ...(field('notifyDead') === 'on' ? { notifyDead: true } : {}),
  };
  const answer = await api.call<EndpointView & { secrets: string[]; verifyToken?: string }>(
    viewer.principal,
    'POST',
    '/v1/endpoints',
    input,
  );
  if (!answer.ok) return render(page, undefined, answer.error?.message);
  const created = answer.body;
  return render(page, {
    title: `Endpoint ${created.id} created`,
    endpoint: { ...created, url: `/hooks/${created.id}` },
    secret: created.secrets[0] ?? '',
    ...(created.verifyToken === undefined ? {} : { verifyToken: created.verifyToken }),
  });
}

/** `issues, invoice.*` as the API takes it (it says what a bad one is). */
function eventList(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

/** The `PATCH /v1/endpoints/{id}` each button makes. */
const PATCHES: Readonly<Record<string, (form: URLSearchParams) => Record<string, unknown>>> = {
  rotate: () => ({ addSecret: true }),
  disable: () => ({ enabled: false }),
  enable: () => ({ enabled: true }),
  pause: () => ({ paused: true }),
  resume: () => ({ paused: false }),
  'notify-on': () => ({ notifyDead: true }),
  'notify-off': () => ({ notifyDead: false }),
  'remove-secret': (form) => ({ removeSecret: form.get('secret') ?? '' }),
  events: (form) => {
    const events = eventList(form.get('events') ?? '');
    return { events: events.length === 0 ? null : events };
  },
};

/** An admin's button on an endpoint: `PATCH /v1/endpoints/{id}` through the API. */
export async function endpointAction(page: PageContext): Promise<Html | Response> {
  const { c, viewer, api, form } = page;
  const id = c.req.param('endpointId') ?? '';
  const action = c.req.param('action') ?? '';
  const patch = Object.hasOwn(PATCHES, action) ? PATCHES[action]?.(form) : undefined;
  if (patch === undefined)
    throw new ValidationError(
      'invalid_action',
      `There is no endpoint action ${action}; use ${Object.keys(PATCHES).join(', ')}.`,
    );
  const answer = await api.call<EndpointView & { addedSecret?: string }>(
    viewer.principal,
    'PATCH',
    `/v1/endpoints/${encodeURIComponent(id)}`,
    patch,
  );
  if (!answer.ok) return render(page, undefined, answer.error?.message);
  if (answer.body.addedSecret !== undefined)
    return render(page, {
      title: `New secret for ${id}`,
      endpoint: answer.body,
      secret: answer.body.addedSecret,
    });
  return c.redirect('/endpoints', 303);
}
