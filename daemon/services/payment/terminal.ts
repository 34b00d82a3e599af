/**
 * The card terminal as the payment service sees it. A real one speaks an ECR
 * protocol (ZVT, OPI, nexo retailer): implement this interface in a file next to
 * simulated.ts and add its kind to createTerminal(). The contract that keeps a
 * shopper from being charged twice is the idempotency key: the same key asked
 * again (after a restart, a timeout, a lost answer) answers with the outcome of
 * the first request and never charges again.
 */
export interface PaymentRequest {
  /** Idempotency key: one per payment attempt, stable across restarts. */
  key: string;
  /** Minor units. */
  amount: number;
  currency: string;
  /** Shown on the terminal and its journal: the transaction. */
  reference: string;
}

export type TerminalOutcome =
  { outcome: 'approved'; authCode: string; method: string } | { outcome: 'declined'; detail?: string } | { outcome: 'cancelled'; detail?: string };

export interface PaymentTerminal {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Ask for `req.amount`. Resolves with the final outcome; rejects when `signal`
   * aborts (the payment service then calls cancel) or the terminal cannot be
   * reached (the payment stays in flight and is asked again with the same key).
   */
  authorize(req: PaymentRequest, signal: AbortSignal): Promise<TerminalOutcome>;
  /** End the payment of `key` if it is not final; resolves with its final outcome (approved when too late to stop). */
  cancel(key: string): Promise<TerminalOutcome>;
}

/** Thrown by authorize when its signal aborted. */
export class PaymentAborted extends Error {
  override name = 'PaymentAborted';
}
