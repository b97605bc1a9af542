import { httpExchange } from './gateway.js';

/** One scrape of /metrics: each sample's value by its series, `name{label="value",...}` as exposed. */
export type Samples = ReadonlyMap<string, number>;

/** Reads /metrics of a running gateway and parses the exposition text (comments skipped). */
export async function scrape(port: number): Promise<Samples> {
  const { status, text } = await httpExchange(`http://127.0.0.1:${port}/metrics`);
  if (status !== 200) throw new Error(`/metrics answered ${status}: ${text}`);
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/**
 * A series' value, 0 when it is absent (a counter never incremented); labels in any order. Sums the series
 * whose labels include `labels` (so `{app_id}` alone adds up every close code).
 */
export function valueOf(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [series, value] of samples) {
    const brace = series.indexOf('{');
    if ((brace < 0 ? series : series.slice(0, brace)) !== name) continue;
    const text = brace < 0 ? '' : series.slice(brace);
    if (Object.entries(labels).every(([label, wanted]) => text.includes(`${label}="${wanted}"`))) sum += value;
  }
  return sum;
}

/** The metric names a scrape exposes (histograms by their base name too). */
export async function exposedNames(port: number): Promise<Set<string>> {
  const { text } = await httpExchange(`http://127.0.0.1:${port}/metrics`);
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map(([, name]) => name as string));
}
