import t from 'tap';
import type { App } from '../../src/apps/app-registry.js';
import { AppLimits, Limit } from '../../src/limits/app-limits.js';
import { RateWindow } from '../../src/limits/rate-window.js';

const app = { id: 'a', maxBackendEventsPerSecond: 10, maxReadRequestsPerSecond: 3 } as App;

t.test('a node takes its share of the limit: the limit divided by the live nodes, rounded up', async (t) => {
  let nodes = 1;
  let now = 0;
  const limits = new AppLimits(() => nodes, () => now);
  t.equal(limits.share(10), 10);
  nodes = 3;
  t.equal(limits.share(10), 4, 'ceil(10 / 3)');
  t.equal(limits.takeBackendEvents(app, 4), undefined, 'the whole share at once');
  t.match(limits.takeBackendEvents(app, 1), { limit: Limit.BackendEvents, appLimit: 10, share: 4, remaining: 0, retryAfterSeconds: 1 });
  now = 1000;
  t.equal(limits.takeBackendEvents(app, 1), undefined, 'a new second, a new share');
  nodes = 1;
  t.equal(limits.takeBackendEvents(app, 9), undefined, 'a node alone again takes the whole limit');
});

t.test('a cost that does not fit is refused whole and takes nothing', async (t) => {
  const limits = new AppLimits(() => 1, () => 0);
  t.equal(limits.takeBackendEvents(app, 8), undefined);
  t.match(limits.takeBackendEvents(app, 3), { remaining: 2 });
  t.equal(limits.takeBackendEvents(app, 2), undefined, 'the two left are still there');
});

t.test('reads and events are separate budgets, per app', async (t) => {
  const limits = new AppLimits(() => 1, () => 0);
  for (let i = 0; i < 3; i++) t.equal(limits.takeRead(app), undefined);
  t.match(limits.takeRead(app), { limit: Limit.ReadRequests, appLimit: 3 });
  t.equal(limits.takeBackendEvents(app, 10), undefined);
  t.equal(limits.takeRead({ ...app, id: 'b' }), undefined, 'another app has its own');
});

t.test('RateWindow: a fixed window, Retry-After from its end', async (t) => {
  const window = new RateWindow(1000, 2);
  t.ok(window.take(100));
  t.ok(window.take(200));
  t.notOk(window.take(300));
  t.equal(window.msToNext(300), 800);
  t.ok(window.take(1100), 'the next window');
  t.equal(window.remaining(1100), 1);
});
