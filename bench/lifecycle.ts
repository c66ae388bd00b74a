/**
 * One way out for the bench and the soak: whatever ends the run (its end, an error, Ctrl-C,
 * SIGTERM, an uncaught exception), the progress bar is wiped and `cleanup` runs once before the
 * process exits, so that no server, database, Redis key or listener outlives the run.
 */
import { Progress } from './progress';

export class RunGuard {
  /** Set once the bar exists, so that a message is printed on a clean line. */
  progress?: Progress;
  /** Set by a signal: what fails afterwards (Ctrl-C reaches the servers too) is no news. */
  private interrupted = false;
  private cleaning?: Promise<void>;

  constructor(
    private readonly name: string,
    private readonly cleanup: () => Promise<void>,
  ) {
    process.on('SIGINT', () => this.onSignal(130));
    process.on('SIGTERM', () => this.onSignal(143));
    process.on('uncaughtException', (error) => {
      this.fail(error.message);
      this.stop(1);
    });
  }

  /** Runs `main`, then cleans up; a failure is printed and makes the exit code 1. */
  run(main: () => Promise<void>): void {
    main()
      .catch((error: Error) => {
        this.fail(error.message);
        process.exitCode = 1;
      })
      .finally(() => this.clean());
  }

  private clean(): Promise<void> {
    this.cleaning ??= this.cleanup().catch((error: Error) =>
      console.error(`${this.name} cleanup: ${error.message}`),
    );
    return this.cleaning;
  }

  private fail(message: string): void {
    this.progress?.stop();
    if (!this.interrupted) console.error(`${this.name} failed: ${message}`);
  }

  private stop(code: number): void {
    void this.clean().finally(() => process.exit(code));
  }

  private onSignal(code: number): void {
    this.interrupted = true;
    this.progress?.stop();
    console.error(`${this.name} interrupted: cleaning up`);
    this.stop(code);
  }
}
