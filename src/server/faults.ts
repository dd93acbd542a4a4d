/**
 * Test-only fault injection. Production code never enables it: faults come
 * only from startServer({ faults }) or handle.injectFault(), which only
 * tests call. Nothing here reads the environment.
 */
import type { RouteName } from './routes.js';

export type FaultKind =
  /** Answer with this status (and Retry-After) instead of processing the request. */
  | { kind: 'status'; status: number; retryAfter?: number | string; code?: string; message?: string }
  /** Never answer; the connection stays open until the client gives up or the server closes. */
  | { kind: 'hang' }
  /** Close the connection without answering, before processing. */
  | { kind: 'reset' }
  /** Process the request fully (commit), then close the connection instead of answering. */
  | { kind: 'drop-after-commit' }
  /** Wait this long before processing. */
  | { kind: 'delay'; ms: number }
  /** Process the request fully (commit), then hold the answer this long (or until the client goes away). */
  | { kind: 'delay-answer'; ms: number }
  /** Answer with this JSON body (default status 200) instead of processing: a server that breaks the contract. */
  | { kind: 'answer'; status?: number; json: unknown }
  /** Submit: writing the upload fails with ENOSPC after `afterBytes` (default 0), as on a full disk; other routes: the database write fails with SQLITE_FULL. */
  | { kind: 'disk-full'; afterBytes?: number };

export type Fault = FaultKind & {
  /** Route it applies to (default: every route). */
  route?: RouteName | '*';
  /** How many matching requests it applies to (default 1; Infinity for all). */
  times?: number;
};

export class FaultQueue {
  private readonly faults: (Fault & { left: number })[] = [];

  constructor(initial: Fault[] = []) {
    initial.forEach((f) => this.add(f));
  }

  add(fault: Fault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  clear(): void {
    this.faults.length = 0;
  }

  /** The fault for this request, if any (consumes one use of it). */
  take(route: RouteName | undefined): FaultKind | undefined {
    const i = this.faults.findIndex((f) => f.route === undefined || f.route === '*' || f.route === route);
    if (i === -1) return undefined;
    const f = this.faults[i];
    f.left -= 1;
    if (f.left <= 0) this.faults.splice(i, 1);
    return f;
  }

  get pending(): number {
    return this.faults.length;
  }
}
