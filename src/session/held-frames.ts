import type { StreamPosition } from '../cluster/history-store.js';

/**
 * The frames of one channel that reach a session while its subscription answer is being prepared (a presence
 * roster, a history read), kept in the order they came: member events, and publications with their stream
 * positions. Bounded in bytes: a hold that overflows is given up (the caller refuses the subscription), so a
 * slow read under a flood costs at most `maxBytes`.
 */
export class HeldFrames {
  private readonly frames: string[] = [];
  /** Parallel to `frames`: the publication's position, undefined for a member event. */
  private readonly positions: Array<StreamPosition | undefined> = [];
  private bytes = 0;
  private overflowed = false;

  constructor(private readonly maxBytes: number) {}

  /** Whether more came than `maxBytes` allow: the hold was given up and the frames dropped. */
  get hasOverflowed(): boolean {
    return this.overflowed;
  }

  hold(frame: string, position?: StreamPosition): void {
    if (this.overflowed) return;
    this.bytes += frame.length;
    if (this.bytes > this.maxBytes) {
      this.overflowed = true;
      this.frames.length = this.positions.length = 0;
      return;
    }
    this.frames.push(frame);
    this.positions.push(position);
  }

  /**
   * Sends what the client still needs once its answer says it is at `after`: every member event, and the
   * publications of the same epoch after that offset. Those up to it are in the answer's replay or before
   * the client's start; those of another epoch belong to a life of the stream the answer does not know.
   */
  release(send: (frame: string) => void, after?: StreamPosition): void {
    this.frames.forEach((frame, i) => {
      const position = this.positions[i];
      if (position === undefined || (after !== undefined && position.epoch === after.epoch && position.offset > after.offset)) send(frame);
    });
  }
}
