// Back to the welcome screen after a pause: `seconds` without a touch, then a
// warning for `warnSeconds`. The watch runs while `armed()` holds (the screen
// decides: never with a basket), and a touch anywhere starts the pause again.

export class IdleWatch {
  constructor({ seconds, warnSeconds, armed, onWarn, onIdle, onBack }) {
    Object.assign(this, { seconds, warnSeconds, isArmed: armed, onWarn, onIdle, onBack });
    this.timer = undefined;
    this.left = undefined;
    this.touch();
  }

  /** Is the pause being watched now? */
  armed() {
    return Boolean(this.isArmed());
  }

  /** A touch: the pause starts again (and a warning shown goes away). */
  touch() {
    clearTimeout(this.timer);
    if (this.left !== undefined) {
      this.left = undefined;
      this.onBack();
    }
    this.timer = setTimeout(() => this.tick(), this.seconds * 1000);
  }

  tick() {
    if (!this.armed()) {
      // looked at again after another pause: a basket may have ended meanwhile
      if (this.left !== undefined) {
        this.left = undefined;
        this.onBack();
      }
      this.timer = setTimeout(() => this.tick(), this.seconds * 1000);
      return;
    }
    this.left = this.left === undefined ? this.warnSeconds : this.left - 1;
    if (this.left <= 0) {
      this.left = undefined;
      this.onIdle();
      this.timer = setTimeout(() => this.tick(), this.seconds * 1000);
      return;
    }
    this.onWarn(this.left);
    this.timer = setTimeout(() => this.tick(), 1000);
  }
}
