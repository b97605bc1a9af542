// `npm run bench:rate-limiters`: what one rate-limit check costs, rate-limiter-flexible's RateLimiterMemory
// against the fixed window the gateway uses (src/limits/rate-window.ts). Every REST publish makes one check,
// so the difference is paid per request; see bench/README.md for why the window was kept.
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { RateWindow } from '../src/limits/rate-window.js';

const CHECKS = 1_000_000;
const ROUNDS = 3;
/** Far above what the loop takes, so every check passes, as almost all do in production. */
const UNLIMITED = 1e12;

async function flexibleUs(): Promise<number> {
  const limiter = new RateLimiterMemory({ points: UNLIMITED, duration: 1 });
  const started = performance.now();
  for (let i = 0; i < CHECKS; i++) await limiter.consume('app-id', 1);
  return ((performance.now() - started) * 1000) / CHECKS;
}

function windowUs(): number {
  const window = new RateWindow(1000);
  const started = performance.now();
  let taken = 0;
  for (let i = 0; i < CHECKS; i++) if (window.take(Date.now(), UNLIMITED, 1)) taken++;
  if (taken !== CHECKS) throw new Error('the window refused a check');
  return ((performance.now() - started) * 1000) / CHECKS;
}

for (let round = 1; round <= ROUNDS; round++) {
  const flexible = await flexibleUs();
  const window = windowUs();
  console.log(`round ${round}: RateLimiterMemory.consume ${flexible.toFixed(3)} µs/check (a promise each), RateWindow.take ${window.toFixed(3)} µs/check (Date.now included)`);
}
