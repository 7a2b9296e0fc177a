/**
 * The one authorisation layer: every protected route names a policy, and this table says
 * which roles hold it. Records of another organisation are hidden by the services (404).
 */
import type { RequestHandler, Response } from 'express';
import { AppError } from '../errors';
import type { CurrentUser } from '../../modules/accounts/current-user';
import type { Role } from '../../modules/accounts/user.model';

export const POLICIES = {
  /** Read the queue of organisations and their credit-code warnings. */
  'organizations.read': ['reviewer', 'admin'],
  /** Verify or reject an organisation. */
  'organizations.decide': ['admin'],
  /** Create and list bureau accounts. */
  'users.manage': ['admin'],
  /** See one's own organisation and, as its first member, manage its members. */
  'organization.own': ['applicant'],
  /** See an organisation's record: the bureau any, an applicant only their own (others answer 404). */
  'organizations.view': ['applicant', 'reviewer', 'admin'],
  /** Draft, attach, submit and withdraw one's organisation's contracts. */
  'contracts.file': ['applicant'],
  /** Read contracts: applicants their organisation's (others answer 404), the bureau all. */
  'contracts.read': ['applicant', 'reviewer', 'admin'],
  /** Work the review queue: register, return, refuse. */
  'contracts.review': ['reviewer', 'admin'],
  /** Read and export the statistics. */
  'stats.read': ['reviewer', 'admin'],
  /** Revoke a registration. */
  'contracts.revoke': ['admin'],
  /** Read and export the audit log, the outbox, overdue lists and the queue dashboard. */
  'bureau.admin': ['admin'],
  /** The applicant's notifications. */
  'notifications.own': ['applicant'],
  /** The bureau's notifications for one's role (new filings, decision deadlines). */
  'notifications.bureau': ['reviewer', 'admin'],
  /** Read the registered contracts other organisations filed that name one's verified organisation as a party (others answer 404). */
  'contracts.related': ['applicant'],
  /** Bring in earlier registrations from a file (imports), and follow the imports. */
  'imports.manage': ['admin'],
  /** Enter the plan's indicator values and set the plan's targets (audited). */
  'plan.manage': ['admin'],
  /** Take part in the technology market board: post listings, express and answer interest (verified organisations only, checked by the service). */
  'market.take_part': ['applicant'],
  /** Read a market listing signed in: its owner and the bureau in full, others only while it is on the board (else 404). */
  'market.read': ['applicant', 'reviewer', 'admin'],
  /** Publish or reject market listings. */
  'market.moderate': ['reviewer', 'admin'],
  /** Anything about one's own account. */
  'account.self': ['applicant', 'reviewer', 'admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Policy = keyof typeof POLICIES;

export function currentUser(res: Response): CurrentUser | null {
  return (res.locals.currentUser as CurrentUser | undefined) ?? null;
}

/** The signed-in user, or a 401. */
export function requireUser(res: Response): CurrentUser {
  const user = currentUser(res);
  if (!user) throw new AppError('UNAUTHENTICATED');
  return user;
}

/**
 * Allows the request when the user holds the policy. Until a user has replaced an initial
 * password, only the account policy is open to them.
 */
export function authorize(policy: Policy): RequestHandler {
  const roles: readonly Role[] = POLICIES[policy];
  return declared(policy, (_req, res, next) => {
    const user = requireUser(res);
    if (user.mustChangePassword && policy !== 'account.self') {
      throw new AppError('FORBIDDEN', { code: 'PASSWORD_CHANGE_REQUIRED', messageKey: 'errors.passwordChangeRequired' });
    }
    if (!roles.includes(user.role)) throw new AppError('FORBIDDEN');
    next();
  });
}

/**
 * Declares a route open to anyone (the public pages and data, signing up and in, health).
 * Every route declares its policy, one way or the other: test/integration/authorization.test.ts
 * walks the router and fails on a route that declares none.
 */
export function openToAnyone(why: string): RequestHandler {
  return declared(`public: ${why}`, (_req, _res, next) => next());
}

/** The policy a route handler declares (what the router walk reads). */
export const POLICY = Symbol('policy');

function declared(policy: string, handler: RequestHandler): RequestHandler {
  return Object.assign(handler, { [POLICY]: policy });
}
