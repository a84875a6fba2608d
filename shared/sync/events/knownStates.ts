/**
 * What this worker knows that Resource Graph may not show yet: per id, the newest event time seen (any source), the
 * state an ARM read returned and when, and the fields of the newest Resource Notifications payload. It lets a lagging
 * Resource Graph row be recognised as stale instead of being written over fresher state (a "stale read"), and a late
 * notification be recognised as older than what is known. Memory only, bounded: after a restart the worker simply
 * knows less, and Resource Graph's answer is taken as before.
 */
import type { ArgRow } from '../../azure/types.js';

export interface KnownState {
  /** Newest event time (ms) of any event about the id. */
  latestEventAt?: number;
  /** A full row read from ARM, and when (ms): ARM's state at that moment. */
  arm?: { row: ArgRow; at: number };
  /** Fields of a CreatedOrUpdated notification, and its resourceEventTime (ms). */
  notification?: { fields: Partial<ArgRow>; at: number };
}

const MAX_IDS = 20_000;

export class KnownStates {
  private readonly map = new Map<string, KnownState>();

  constructor(private readonly ttlMs: number) {}

  get(id: string, now: number): KnownState | undefined {
    const s = this.map.get(id);
    if (!s) return undefined;
    const newest = Math.max(s.latestEventAt ?? 0, s.arm?.at ?? 0, s.notification?.at ?? 0);
    if (now - newest > this.ttlMs) {
      this.map.delete(id);
      return undefined;
    }
    return s;
  }

  /** Records an event's time; returns false when a newer event for the id is already known (this one is late). */
  noteEvent(id: string, at: number): boolean {
    const s = this.entry(id);
    const late = s.latestEventAt !== undefined && at < s.latestEventAt;
    if (!late) s.latestEventAt = at;
    return !late;
  }

  noteArm(id: string, row: ArgRow, at: number): void {
    this.entry(id).arm = { row, at };
  }

  noteNotification(id: string, fields: Partial<ArgRow>, at: number): void {
    const s = this.entry(id);
    if (!s.notification || s.notification.at <= at) s.notification = { fields, at };
  }

  private entry(id: string): KnownState {
    let s = this.map.get(id);
    if (!s) {
      s = {};
      this.map.set(id, s);
      if (this.map.size > MAX_IDS) this.map.delete(this.map.keys().next().value as string);
    }
    return s;
  }
}
