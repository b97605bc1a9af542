import t from 'tap';
import { SignInLimiter } from '../../src/console/sign-in-limiter.js';

const LIMITS = { perAddress: 3, overall: 5, windowMs: 60_000 };

t.test('an address that failed perAddress times waits until its window ends', async (t) => {
  const limiter = new SignInLimiter(LIMITS);
  for (let i = 0; i < 3; i++) {
    t.equal(limiter.retryAfterSeconds('10.0.0.1', 1000 + i), 0);
    limiter.failed('10.0.0.1', 1000 + i);
  }
  t.equal(limiter.retryAfterSeconds('10.0.0.1', 1003), 60, 'a minute from its first failure');
  t.equal(limiter.retryAfterSeconds('10.0.0.1', 30_000), 31);
  t.equal(limiter.retryAfterSeconds('10.0.0.2', 1003), 0, 'other addresses may still try');
  t.equal(limiter.retryAfterSeconds('10.0.0.1', 61_000), 0, 'a new window');
});

t.test('all addresses together fail at most overall times a window', async (t) => {
  const limiter = new SignInLimiter(LIMITS);
  for (let i = 0; i < 5; i++) limiter.failed(`10.0.0.${i}`, 1000);
  t.equal(limiter.retryAfterSeconds('10.0.9.9', 2000), 59, 'even a new address waits');
  t.equal(limiter.retryAfterSeconds('10.0.9.9', 61_000), 0);
});

t.test('addresses are forgotten once their window has passed', async (t) => {
  const limiter = new SignInLimiter(LIMITS);
  for (let i = 0; i < 5; i++) limiter.failed(`10.0.0.${i}`, 1000);
  t.equal(limiter.size, 5);
  limiter.failed('10.0.1.1', 70_000);
  t.equal(limiter.size, 1, 'only the address of the new window is kept');
});
