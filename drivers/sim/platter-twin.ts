/**
 * The weighing half every simulated scale firmware shares: what lies on the
 * platter, the moment it last changed (the scale reports motion for
 * `motionMs` after), its capacity and unit, and a mute switch for a scale
 * board that stopped answering.
 */
import type { Timers } from '../timers.js';

export abstract class PlatterTwin {
  protected platter = 0;
  private changedAt = -Infinity;
  /** The scale board stopped answering. */
  mute = false;
  capacityG = 15_000;
  motionMs = 400;
  unit: 'kg' | 'lb' = 'kg';

  constructor(protected readonly timers: Timers) {}

  /** Put produce on the platter (grams; 0 empties it, negative lifts it below zero). */
  produce(grams: number): void {
    this.platter = grams;
    this.changedAt = this.timers.now();
  }

  protected get moving(): boolean {
    return this.timers.now() - this.changedAt < this.motionMs;
  }
}
