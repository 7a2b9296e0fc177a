/**
 * Sign-in throttling in Redis, so it holds across web processes.
 *
 * Every password check is counted before it is made (see lib/rate-limit.ts): N parallel
 * attempts get at most the limit's number of checks, the rest a 429 with Retry-After.
 * A success gives its attempt back. Three limits, each a short growing wait rather than
 * a long block:
 * - per account and address: consecutive failures of one account from one place;
 *   reset when that place signs in successfully;
 * - per account, for places the account has not signed in from: guessing one account
 *   from many addresses;
 * - per address, for accounts that have not signed in from it: one address trying many
 *   accounts.
 * An address remembers (for some days) the accounts that signed in from it, so an office
 * behind one address is never locked out by its own typos or by someone trying other
 * accounts there: a known account is only held to its own per-account-and-address limit.
 */
import type { Redis } from 'ioredis';
import { AppError } from '../../lib/errors';
import { clientAddressKey } from '../../lib/http/client-address';
import { EscalatingLimiter, rateLimited, type Consumed } from '../../lib/rate-limit';

export interface LoginLimits {
  /** Failures per account (and per account and address) before the first wait. */
  perAccount: number;
  /** Failures per address, of accounts not known there, before the first wait. */
  perIp: number;
  /** The longest wait; also the window in which failures are counted together. */
  blockSeconds: number;
  /** The first wait; it doubles each further time a limit is reached (within a day). */
  firstDelaySeconds: number;
  /** How long an address remembers an account that signed in from it. */
  knownAddressSeconds: number;
}

/** How long reaching a limit is remembered for the doubling of the wait. */
const ESCALATION_MEMORY_SECONDS = 24 * 3600;

interface Gate {
  limiter: EscalatingLimiter;
  key: string;
}

export interface AttemptOptions {
  /** An error from the check that still means "wrong password" (kept counted, rethrown). */
  countsAsFailure?: (err: unknown) => boolean;
}

export class LoginLimiter {
  private readonly byAccountAndAddress: EscalatingLimiter;
  private readonly byAccount: EscalatingLimiter;
  private readonly byAddress: EscalatingLimiter;
  private readonly knownPrefix: string;

  constructor(private readonly redis: Redis, private readonly limits: LoginLimits, prefix: string) {
    const common = {
      windowSeconds: limits.blockSeconds,
      firstDelaySeconds: limits.firstDelaySeconds,
      maxDelaySeconds: limits.blockSeconds,
      memorySeconds: ESCALATION_MEMORY_SECONDS,
    };
    this.byAccountAndAddress = new EscalatingLimiter(redis, { ...common, keyPrefix: `${prefix}:login-account-ip`, points: limits.perAccount });
    this.byAccount = new EscalatingLimiter(redis, { ...common, keyPrefix: `${prefix}:login-account`, points: limits.perAccount });
    this.byAddress = new EscalatingLimiter(redis, { ...common, keyPrefix: `${prefix}:login-ip`, points: limits.perIp });
    this.knownPrefix = `${prefix}:login-known`;
  }

  /**
   * Counts a sign-in attempt, then runs `check` (the password check) if every limit lets
   * it through; throws 429 otherwise. `check` answers null for wrong credentials, which
   * stay counted; a success gives the attempt back, and an error from `check` gives it
   * back too (the password was not judged) unless `countsAsFailure` says otherwise.
   */
  async attempt<T>(account: string, ip: string | undefined, check: () => Promise<T>, opts: AttemptOptions = {}): Promise<T> {
    const address = clientAddressKey(ip);
    const known = await this.isKnown(account, address);
    const gates: Gate[] = [{ limiter: this.byAccountAndAddress, key: `${account}|${address}` }];
    if (!known) gates.push({ limiter: this.byAccount, key: account }, { limiter: this.byAddress, key: address });

    const settled = await Promise.allSettled(gates.map((g) => g.limiter.consume(g.key)));
    const passed = gates.filter((_, i) => settled[i].status === 'fulfilled' && (settled[i] as PromiseFulfilledResult<Consumed>).value.ok);
    if (passed.length < gates.length) {
      // Not checked, so it must not count where it was let through.
      await giveBack(passed);
      const storeError = settled.find((s) => s.status === 'rejected');
      if (storeError) throw storeError.reason;
      const waits = settled.map((s) => (s.status === 'fulfilled' && !s.value.ok ? s.value.msBeforeNext : 0));
      throw rateLimited('SIGN_IN_RATE_LIMITED', Math.max(...waits));
    }

    let result: T;
    try {
      result = await check();
    } catch (err) {
      if (!opts.countsAsFailure?.(err)) await giveBack(gates);
      throw err;
    }
    if (result === null) return result;

    // This place knows the password: its consecutive failures end, and it is remembered.
    await Promise.all([
      this.byAccountAndAddress.reset(gates[0].key),
      giveBack(gates.slice(1)),
      this.redis.set(this.knownKey(account, address), '1', 'EX', this.limits.knownAddressSeconds),
    ]);
    return result;
  }

  private async isKnown(account: string, address: string): Promise<boolean> {
    return (await this.redis.exists(this.knownKey(account, address))) === 1;
  }

  private knownKey(account: string, address: string): string {
    return `${this.knownPrefix}:${address}|${account}`;
  }
}

/** The change-password form's "current password is wrong": a failed guess, counted like a failed sign-in. */
export function isWrongCurrentPassword(err: unknown): boolean {
  return err instanceof AppError && err.details.some((d) => d.path === 'currentPassword' && d.message === 'validation.currentPasswordWrong');
}

/** Gives back one attempt on each gate, best effort (a failure here only errs on the strict side). */
async function giveBack(gates: Gate[]): Promise<void> {
  await Promise.allSettled(gates.map((g) => g.limiter.reward(g.key)));
}
