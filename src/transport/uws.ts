import uws from 'uWebSockets.js';

/**
 * The uWebSockets.js registry mirror silently falls back to a slow `ws`-based emulation when its native
 * binary does not load (wrong Node ABI or glibc). The native module's functions are native code; the
 * emulation's are JavaScript. Startup, `/` and the benchmark all report this flag.
 */
export const isNativeUws: boolean = String(uws.App).includes('[native code]');

/** uWS's LIBUS_LISTEN_EXCLUSIVE_PORT: exported at runtime, typed only as a member of an enum the module lacks. */
export const EXCLUSIVE_PORT: number = (uws as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT: number }).LIBUS_LISTEN_EXCLUSIVE_PORT;

export { uws };

export const FALLBACK_WARNING =
  'uWebSockets.js native binary did not load; running on the slow ws-based emulation. Use Node 20 on glibc >= 2.36.';
