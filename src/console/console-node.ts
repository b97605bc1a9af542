import type { Watcher } from '../channels/channel-index.js';
import type { ApiNode } from '../http/api.js';
import type { AppActivity } from './app-activity.js';

/**
 * What the console acts through (GatewayNode): everything the REST API does, which the page calls with its
 * token, and what only the console needs: counts for its header and channels to watch. Watching makes no
 * one a member of anything: a console is never counted as one of the app's clients.
 */
export interface ConsoleNode extends ApiNode {
  readonly activity: AppActivity;
  /** The app's connections in the whole cluster. */
  connectionCount(appId: string): number;
  watch(appId: string, channel: string, watcher: Watcher): void;
  unwatch(appId: string, channel: string, watcher: Watcher): void;
}
