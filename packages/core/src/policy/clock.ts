import { injectable } from 'tsyringe';

/** Where the library reads the time; register your own under `CLOCK` to control it (tests, replays). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

@injectable()
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
}
