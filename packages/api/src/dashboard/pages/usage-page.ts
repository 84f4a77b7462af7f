import { html, raw } from 'hono/html';
import { ValidationError } from '@nexus/core';
import { canRead } from '../../auth/access.ts';
import { checkRange, parseDay } from '../../http/query-params.ts';
import type { ScopedBucket } from '../../transcripts/usage-report.ts';
import type { PageContext } from '../dashboard-routes.ts';
import { compact, hrefWith, layout, num, tableHead, usd, type Html } from '../page.ts';
import { SERIES_COLORS, stackedBars, type ChartSeries } from '../usage-chart.ts';

const GROUPS = ['model', 'host', 'agent'] as const;
type Group = (typeof GROUPS)[number];
const METRICS = ['cost', 'tokens'] as const;
type Metric = (typeof METRICS)[number];
/** Series drawn on their own; the rest are summed as "other". */
const MAX_SERIES = SERIES_COLORS.length - 1;
/** Longest range a page draws: a bar per day. */
const MAX_DAYS = 731;

interface UsageQuery {
  readonly fromDay: string;
  readonly toDay: string;
  readonly group: Group;
  readonly metric: Metric;
}

/** Usage per day, stacked by model, host or agent, over a range (default: the last 30 days). */
export async function usagePage({ c, viewer, catalog, now }: PageContext): Promise<Html> {
  const query = usageQuery(c.req.query.bind(c.req), now());
  const { usage } = await catalog.sessions();
  const buckets = inRange(usage, query, (hostId) => canRead(viewer.principal, hostId));
  const days = daysOf(query.fromDay, query.toDay);
  const value = (bucket: ScopedBucket) =>
    query.metric === 'cost' ? bucket.costUsd : bucket.totalTokens;
  const format = query.metric === 'cost' ? usd : compact;
  const series = seriesOf(buckets, days, query.group, value);
  const totals = days.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const grand = totals.reduce((a, b) => a + b, 0);
  const option = (values: readonly string[], current: string) =>
    values.map(
      (v) => html`<option value="${v}" ${v === current ? raw('selected') : ''}>${v}</option>`,
    );
  const body = html`<h1>Usage</h1>
    <form class="filters" method="get" action="/usage" data-live>
      <label>From <input type="date" name="from" value="${query.fromDay}" /></label>
      <label>To <input type="date" name="to" value="${query.toDay}" /></label>
      <label
        >Stack by
        <select name="by">
          ${option(GROUPS, query.group)}
        </select></label
      >
      <label
        >Show
        <select name="metric">
          ${option(METRICS, query.metric)}
        </select></label
      >
      <button type="submit">Show</button>
    </form>
    <div id="results">
      <p class="muted">
        ${query.fromDay} to ${query.toDay} (UTC days): ${format(grand)} in all.
        <a href="${hrefWith('/usage.csv', { from: query.fromDay, to: query.toDay })}" download
          >Download CSV</a
        >
      </p>
      <div class="chart">
        ${stackedBars({
          days,
          series,
          format,
          label: `${query.metric} per day, stacked by ${query.group}, ${query.fromDay} to ${query.toDay}`,
        })}
        <ul class="legend">
          ${series.map(
            (s) =>
              html`<li>
                <svg class="swatch" width="12" height="12" aria-hidden="true">
                  <rect width="12" height="12" rx="2" fill="${s.color}" /></svg
                >${s.name}
              </li>`,
          )}
        </ul>
      </div>
      <h2>The same numbers</h2>
      <table>
        ${tableHead(['Day', ...series.map((s) => num(s.name)), num('Total')])}
        <tbody>
          ${days
            .map((day, i) => ({ day, i }))
            .filter(({ i }) => (totals[i] ?? 0) > 0)
            .reverse()
            .map(
              ({ day, i }) =>
                html`<tr>
                  <th scope="row">${day}</th>
                  ${series.map((s) => html`<td class="num">${format(s.values[i] ?? 0)}</td>`)}
                  <td class="num">${format(totals[i] ?? 0)}</td>
                </tr>`,
            )}
        </tbody>
      </table>
    </div>`;
  return layout({ title: 'Usage', viewer, current: '/usage', body });
}

/** The same buckets as CSV: one row per day, host, agent and model. */
export async function usageCsv({ c, viewer, catalog, now }: PageContext): Promise<Response> {
  const query = usageQuery(c.req.query.bind(c.req), now());
  const { usage } = await catalog.sessions();
  const buckets = inRange(usage, query, (hostId) => canRead(viewer.principal, hostId)).sort(
    (a, b) =>
      a.day.localeCompare(b.day) ||
      a.hostId.localeCompare(b.hostId) ||
      a.agentId.localeCompare(b.agentId) ||
      a.model.localeCompare(b.model),
  );
  const lines = [
    'day,host,agent,provider,model,messages,input,output,cache_read,cache_write,total_tokens,cost_usd',
    ...buckets.map((b) =>
      [
        b.day,
        b.hostId,
        b.agentId,
        b.provider,
        b.model,
        b.messages,
        b.input,
        b.output,
        b.cacheRead,
        b.cacheWrite,
        b.totalTokens,
        b.costUsd,
      ]
        .map(csvField)
        .join(','),
    ),
  ];
  return new Response(`${lines.join('\r\n')}\r\n`, {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="nexus-usage-${query.fromDay}-${query.toDay}.csv"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
}

/** A CSV field, quoted when needed, and never read as a formula by a spreadsheet. */
export function csvField(value: string | number): string {
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function usageQuery(query: (name: string) => string | undefined, now: Date): UsageQuery {
  const value = (name: string) => {
    const v = query(name);
    return v === undefined || v === '' ? undefined : v;
  };
  const today = now.toISOString().slice(0, 10);
  const toDay = parseDay('to', value('to')) ?? today;
  const fromDay =
    parseDay('from', value('from')) ??
    new Date(Date.parse(`${toDay}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
  checkRange('from', fromDay, 'to', toDay);
  if (daysBetween(fromDay, toDay) > MAX_DAYS)
    throw new ValidationError(
      'range_too_long',
      `Show at most ${MAX_DAYS} days at once; the CSV of a longer range is the sum of shorter ones.`,
    );
  const group = (value('by') ?? 'model') as Group;
  if (!GROUPS.includes(group))
    throw new ValidationError('invalid_group', `by must be one of ${GROUPS.join(', ')}.`);
  const metric = (value('metric') ?? 'cost') as Metric;
  if (!METRICS.includes(metric))
    throw new ValidationError('invalid_metric', `metric must be one of ${METRICS.join(', ')}.`);
  return { fromDay, toDay, group, metric };
}

function inRange(
  usage: readonly ScopedBucket[],
  query: UsageQuery,
  readable: (hostId: string) => boolean,
): ScopedBucket[] {
  return usage.filter((b) => b.day >= query.fromDay && b.day <= query.toDay && readable(b.hostId));
}

function seriesOf(
  buckets: readonly ScopedBucket[],
  days: readonly string[],
  group: Group,
  value: (bucket: ScopedBucket) => number,
): ChartSeries[] {
  const dayIndex = new Map(days.map((day, i) => [day, i]));
  const nameOf = (b: ScopedBucket) =>
    group === 'model' ? b.model : group === 'host' ? b.hostId : `${b.hostId}/${b.agentId}`;
  const byName = new Map<string, number[]>();
  for (const bucket of buckets) {
    const i = dayIndex.get(bucket.day);
    if (i === undefined) continue;
    const name = nameOf(bucket);
    const values = byName.get(name) ?? new Array<number>(days.length).fill(0);
    values[i] = (values[i] ?? 0) + value(bucket);
    byName.set(name, values);
  }
  const ranked = [...byName.entries()].sort(
    (a, b) => sum(b[1]) - sum(a[1]) || a[0].localeCompare(b[0]),
  );
  const kept = ranked.slice(0, MAX_SERIES);
  const rest = ranked.slice(MAX_SERIES);
  const series: ChartSeries[] = kept.map(([name, values], i) => ({
    name,
    values,
    color: SERIES_COLORS[i] ?? '#888888',
  }));
  if (rest.length > 0)
    series.push({
      name: `${rest.length} other${rest.length === 1 ? '' : 's'}`,
      color: SERIES_COLORS[MAX_SERIES] ?? '#888888',
      values: days.map((_, i) => rest.reduce((total, [, values]) => total + (values[i] ?? 0), 0)),
    });
  return series;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function daysBetween(fromDay: string, toDay: string): number {
  return (
    Math.round(
      (Date.parse(`${toDay}T00:00:00Z`) - Date.parse(`${fromDay}T00:00:00Z`)) / 86_400_000,
    ) + 1
  );
}

function daysOf(fromDay: string, toDay: string): string[] {
  const days: string[] = [];
  for (
    let ms = Date.parse(`${fromDay}T00:00:00Z`);
    ms <= Date.parse(`${toDay}T00:00:00Z`);
    ms += 86_400_000
  )
    days.push(new Date(ms).toISOString().slice(0, 10));
  return days;
}
