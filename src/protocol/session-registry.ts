import type { App } from '../apps/app-registry.js';
import type { SocketId } from './frames.js';
import type { Session } from './session.js';

/** Every live session of this node, by socket id and counted per app (for connection quotas). */
export class SessionRegistry {
  private readonly bySocketId = new Map<SocketId, Session>();
  private readonly perApp = new Map<string, number>();

  add(session: Session): void {
    this.bySocketId.set(session.socketId, session);
    this.perApp.set(session.app.id, this.countFor(session.app) + 1);
  }

  remove(session: Session): void {
    if (!this.bySocketId.delete(session.socketId)) return;
    const left = this.countFor(session.app) - 1;
    if (left > 0) this.perApp.set(session.app.id, left);
    else this.perApp.delete(session.app.id);
  }

  find(socketId: SocketId): Session | undefined {
    return this.bySocketId.get(socketId);
  }

  countFor(app: App): number {
    return this.perApp.get(app.id) ?? 0;
  }

  get size(): number {
    return this.bySocketId.size;
  }

  [Symbol.iterator](): IterableIterator<Session> {
    return this.bySocketId.values();
  }
}
