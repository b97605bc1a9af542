import t from 'tap';
import { type BroadcastOutcome, PendingBroadcasts } from '../../src/broadcasts/pending-broadcasts.js';

const LIMITS = { maxResponsesPerBroadcast: 3, maxBroadcastResponseBytes: 100, maxPendingBroadcasts: 2, maxPendingClientBroadcasts: 1 };
/** Long enough never to fire in a test; these tests end broadcasts with finishAll. */
const NEVER_MS = 60_000;

function counter(): () => string {
  let n = 0;
  return () => `b${++n}`;
}

function open(broadcasts: PendingBroadcasts, appId = 'app', channel = 'lobby', limits = LIMITS) {
  const outcomes: BroadcastOutcome[] = [];
  const id = broadcasts.open(appId, channel, limits, NEVER_MS, (outcome) => outcomes.push(outcome));
  return { id: id as string, outcomes };
}

t.test('collects responses in arrival order and reports them once, as a JSON array', async (t) => {
  const broadcasts = new PendingBroadcasts(counter());
  const { id, outcomes } = open(broadcasts);
  t.equal(id, 'b1');
  t.ok(broadcasts.respond('app', id, 'lobby', '{"a":1}'));
  t.ok(broadcasts.respond('app', id, 'lobby', '"two"'), 'the same responder may answer again');
  broadcasts.finishAll();
  broadcasts.finishAll();
  t.same(outcomes, [{ responses: '[{"a":1},"two"]', count: 2, dropped: 0 }]);
  t.equal(broadcasts.size, 0);
  t.notOk(broadcasts.respond('app', id, 'lobby', '3'), 'late responses are dropped');
});

t.test('with no responses the outcome is an empty array', async (t) => {
  const broadcasts = new PendingBroadcasts();
  const { outcomes } = open(broadcasts);
  broadcasts.finishAll();
  t.same(outcomes, [{ responses: '[]', count: 0, dropped: 0 }]);
});

t.test('responses only count for the same app and channel', async (t) => {
  const broadcasts = new PendingBroadcasts(counter());
  const { id, outcomes } = open(broadcasts);
  t.notOk(broadcasts.respond('other-app', id, 'lobby', '1'));
  t.notOk(broadcasts.respond('app', id, 'private-lobby', '1'));
  t.notOk(broadcasts.respond('app', 'unknown', 'lobby', '1'));
  broadcasts.finishAll();
  t.same(outcomes[0], { responses: '[]', count: 0, dropped: 0 });
});

t.test('over the count or byte limit, responses are dropped and counted', async (t) => {
  const broadcasts = new PendingBroadcasts(counter());
  const byCount = open(broadcasts);
  for (let i = 0; i < 5; i++) broadcasts.respond('app', byCount.id, 'lobby', String(i));
  const byBytes = open(broadcasts);
  t.ok(broadcasts.respond('app', byBytes.id, 'lobby', JSON.stringify('x'.repeat(90))));
  t.notOk(broadcasts.respond('app', byBytes.id, 'lobby', JSON.stringify('y'.repeat(20))), 'would pass 100 bytes');
  t.ok(broadcasts.respond('app', byBytes.id, 'lobby', '1'), 'a smaller one still fits');
  broadcasts.finishAll();
  t.same(byCount.outcomes[0], { responses: '[0,1,2]', count: 3, dropped: 2 });
  t.match(byBytes.outcomes[0], { count: 2, dropped: 1 });
});

t.test('at most maxPendingBroadcasts per app at once; finishing frees a place', async (t) => {
  const broadcasts = new PendingBroadcasts(counter());
  const first = open(broadcasts);
  open(broadcasts);
  t.equal(broadcasts.open('app', 'lobby', LIMITS, NEVER_MS, () => {}), undefined, 'the third is refused');
  t.ok(open(broadcasts, 'other-app').id, 'another app has its own budget');
  broadcasts.cancel(first.id);
  t.ok(open(broadcasts).id, 'a cancelled broadcast frees its place');
  broadcasts.finishAll();
  t.same(first.outcomes, [], 'a cancelled broadcast reports nothing');
  t.equal(broadcasts.size, 0);
});

t.test('clients hold at most maxPendingClientBroadcasts of the app’s; the rest stays for REST', async (t) => {
  const broadcasts = new PendingBroadcasts(counter());
  const fromClient = () => broadcasts.open('app', 'lobby', LIMITS, NEVER_MS, () => {}, true);
  const first = fromClient();
  t.ok(first, 'a client broadcast');
  t.equal(fromClient(), undefined, 'a second client broadcast is over the client share');
  t.equal(broadcasts.pendingOf('app', true), 1);
  t.ok(broadcasts.open('app', 'lobby', LIMITS, NEVER_MS, () => {}), 'REST still has its place');
  t.equal(broadcasts.pendingOf('app'), 2);
  broadcasts.cancel(first as string);
  t.equal(broadcasts.pendingOf('app', true), 0, 'released');
  t.ok(fromClient(), 'a client may broadcast again');
  broadcasts.finishAll();
});

t.test('the timer ends a broadcast after its timeout', async (t) => {
  const broadcasts = new PendingBroadcasts();
  const outcome = await new Promise<BroadcastOutcome>((resolve) => {
    const id = broadcasts.open('app', 'lobby', LIMITS, 1, resolve) as string;
    broadcasts.respond('app', id, 'lobby', 'true');
  });
  t.same(outcome, { responses: '[true]', count: 1, dropped: 0 });
  t.equal(broadcasts.size, 0, 'released');
});
