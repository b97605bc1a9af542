import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startGateway } from '../helpers/gateway.js';
import { exposedNames } from '../helpers/metrics.js';
import { ROOT } from '../helpers/source-files.js';

const DASHBOARD = 'docs/grafana/broadcastt-gateway.json';
/** What Prometheus derives from a histogram's name; the exposition's TYPE line names the histogram itself. */
const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;

interface Panel {
  readonly title?: string;
  readonly targets?: ReadonlyArray<{ readonly expr?: string }>;
  readonly panels?: readonly Panel[];
}

/** Every PromQL text in the dashboard: each panel's queries and each template variable's. */
function queriesOf(dashboard: { panels: readonly Panel[]; templating: { list: ReadonlyArray<{ definition?: string }> } }): string[] {
  const ofPanel = (panel: Panel): string[] => [...(panel.targets ?? []).map((target) => target.expr ?? ''), ...(panel.panels ?? []).flatMap(ofPanel)];
  return [...dashboard.panels.flatMap(ofPanel), ...dashboard.templating.list.map((variable) => variable.definition ?? '')].filter((query) => query !== '');
}

t.test('every query of the Grafana dashboard names metrics a gateway with metrics on exports', async (t) => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, DASHBOARD), 'utf8')) as Parameters<typeof queriesOf>[0];
  const queries = queriesOf(dashboard);
  t.ok(queries.length >= 20, `${queries.length} queries`);
  const running = await startGateway(t, { metricsPort: 0 });
  const exported = await exposedNames(running.gateway.metricsPort() as number);
  for (const query of queries) {
    const named = [...query.matchAll(/\bbroadcastt_[a-z0-9_]+/g)].map(([name]) => name);
    t.ok(named.length > 0, `names a metric: ${query}`);
    for (const name of named) {
      const metric = exported.has(name) ? name : name.replace(HISTOGRAM_SERIES, '');
      t.ok(exported.has(metric), `${name} is exported (${query})`);
    }
  }
});

t.test('the dashboard shows every metric of the gateway\'s own', async (t) => {
  const { METRIC_HELP } = await import('../../src/metrics/prometheus-metrics.js');
  const text = readFileSync(join(ROOT, DASHBOARD), 'utf8');
  for (const name of Object.keys(METRIC_HELP)) t.match(text, `broadcastt_${name}`, name);
});
