import { type FanOut, LoopFanOut } from '../channels/fan-out.js';

/** The fan-out the gateway uses; bench/fan-out-strategies.ts measures the candidates. */
export function createFanOut(): FanOut {
  return new LoopFanOut();
}
