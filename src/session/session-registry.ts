import type { App } from '../apps/app-registry.js';
import type { SocketId } from '../protocol/frames.js';
import type { Session } from './session.js';

/** Every live session of this node, by socket id and counted per app (for connection quotas). */
export class SessionRegistry {
  private readonly bySocketId = new Map<SocketId, Session>();
  private readonly perApp = new Map<string, number>();
  private readonly byUser = new Map<string, Set<Session>>();
  /** The user id each signed-in session is signed in as. */
  private readonly userOf = new Map<Session, string>();

  add(session: Session): void {
    this.bySocketId.set(session.socketId, session);
    this.perApp.set(session.app.id, this.countFor(session.app) + 1);
  }

  /** The session signed in as `userId` (within its app); a later sign-in replaces an earlier one. */
  signIn(session: Session, userId: string): void {
    this.signOut(session);
    const key = userKey(session.app.id, userId);
    let sessions = this.byUser.get(key);
    if (!sessions) this.byUser.set(key, (sessions = new Set()));
    sessions.add(session);
    this.userOf.set(session, userId);
  }

  /** The user the session is signed in as, if it is. */
  userIdOf(session: Session): string | undefined {
    return this.userOf.get(session);
  }

  /** The sessions signed in as `userId` in this app. */
  ofUser(app: App, userId: string): Session[] {
    return [...(this.byUser.get(userKey(app.id, userId)) ?? [])];
  }

  private signOut(session: Session): void {
    const userId = this.userOf.get(session);
    if (userId === undefined) return;
    this.userOf.delete(session);
    const key = userKey(session.app.id, userId);
    const sessions = this.byUser.get(key);
    sessions?.delete(session);
    if (sessions?.size === 0) this.byUser.delete(key);
  }

  remove(session: Session): void {
    if (!this.bySocketId.delete(session.socketId)) return;
    this.signOut(session);
    const left = this.countFor(session.app) - 1;
    if (left > 0) this.perApp.set(session.app.id, left);
    else this.perApp.delete(session.app.id);
  }

  find(socketId: SocketId): Session | undefined {
    return this.bySocketId.get(socketId);
  }

  /** Connections per app id (apps with none are absent). */
  get perAppCounts(): ReadonlyMap<string, number> {
    return this.perApp;
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

/** App ids cannot contain a newline, so the key is unambiguous. */
function userKey(appId: string, userId: string): string {
  return `${appId}\n${userId}`;
}
