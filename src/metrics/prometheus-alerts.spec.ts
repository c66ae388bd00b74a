import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { MetricsService } from './metrics.service';

interface Rule {
  alert?: string;
  expr?: unknown;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const RULES_FILE = join(__dirname, '..', '..', 'deploy', 'prometheus-alerts.yml');
/** Series Prometheus itself adds; everything else an expression reads must be ours. */
const PROMETHEUS_SERIES = new Set(['up']);
const PROMQL_WORDS = new Set([
  ...['sum', 'max', 'min', 'rate', 'increase', 'histogram_quantile', 'by', 'without'],
  ...['and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'group_right'],
]);

/** The metric names an expression reads: identifiers not followed by `(`, outside {...} and "..." */
function metricNames(expr: string): string[] {
  const bare = expr.replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '');
  return [...bare.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((m) => m[1])
    .filter((name) => !PROMQL_WORDS.has(name) && !/^(le|route|instance|pool|job)$/.test(name));
}

describe('deploy/prometheus-alerts.yml', () => {
  const document = load(readFileSync(RULES_FILE, 'utf8')) as {
    groups: { name: string; rules: Rule[] }[];
  };
  const rules = document.groups.flatMap((g) => g.rules);

  it('is a Prometheus rules file: named groups of alerts, each with an expression, a severity and a summary', () => {
    expect(document.groups.length).toBeGreaterThan(0);
    for (const group of document.groups) {
      expect(group.name).toMatch(/^[a-z-]+$/);
      expect(group.rules.length).toBeGreaterThan(0);
    }
    for (const rule of rules) {
      expect({ alert: rule.alert, expr: typeof rule.expr }).toEqual({
        alert: expect.stringMatching(/^[A-Z][A-Za-z0-9]+$/),
        expr: 'string',
      });
      expect(['page', 'ticket']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toEqual(expect.any(String));
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smh]$/);
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  it('alerts on the error rate, p99 latency, the webhook outbox, Redis failing open and Postgres being unavailable', () => {
    const exprs = rules.map((r) => String(r.expr)).join('\n');
    expect(exprs).toMatch(/status=~"5\.\."/);
    expect(exprs).toMatch(/histogram_quantile\(0\.99/);
    expect(exprs).toMatch(/webhook_outbox_oldest_due_age_seconds/);
    expect(exprs).toMatch(/outcome="failed_open"/);
    expect(exprs).toMatch(/code="database_unavailable"/);
  });

  it('reads only metrics this service exports (under their Prometheus names)', async () => {
    const metrics = new MetricsService();
    metrics.watchRedis({ status: 'ready', on: () => undefined }); // as with REDIS_URL set
    const exported = new Set(
      (await metrics.registry.getMetricsAsJSON()).flatMap((m) =>
        String(m.type) === 'histogram'
          ? [`${m.name}_bucket`, `${m.name}_count`, `${m.name}_sum`]
          : m.name,
      ),
    );
    const read = new Set(rules.flatMap((r) => metricNames(String(r.expr))));
    expect(read.size).toBeGreaterThan(5);
    for (const name of read) {
      if (!PROMETHEUS_SERIES.has(name))
        expect({ name, exported: exported.has(name) }).toEqual({
          name,
          exported: true,
        });
    }
  });
});
