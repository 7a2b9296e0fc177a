/**
 * The contract's statuses and the rules over them, in one place (API.md "Contracts" and
 * "After registration"), for filings and for the change and cancellation requests filed on a
 * registered contract, which go through the same review.
 *
 *   draft → submitted (verification queued) → in_review (checks done) → registered | returned | refused
 *   returned → (corrected) → submitted …; withdrawn by the applicant before a decision
 *   registered → revoked (the registration was void) | cancelled (an approved 注销登记)
 */
export const CONTRACT_STATUSES = ['draft', 'submitted', 'in_review', 'registered', 'returned', 'refused', 'withdrawn', 'revoked', 'cancelled'] as const;
export type ContractStatus = (typeof CONTRACT_STATUSES)[number];

/** Statuses in which the applicant may still change the filing. */
export const EDITABLE_STATUSES: readonly ContractStatus[] = ['draft', 'returned'];
/** Statuses from which the applicant may withdraw (before a decision). */
export const WITHDRAWABLE_STATUSES: readonly ContractStatus[] = ['draft', 'submitted', 'in_review', 'returned'];
/** Statuses awaiting the bureau (the decision deadline runs). */
export const AWAITING_BUREAU: readonly ContractStatus[] = ['submitted', 'in_review'];
/** Statuses that have (or had) a registration number: the public register and certificate verification show them. */
export const NUMBERED_STATUSES: readonly ContractStatus[] = ['registered', 'cancelled', 'revoked'];

export const isEditable = (status: string) => EDITABLE_STATUSES.includes(status as ContractStatus);
export const isWithdrawable = (status: string) => WITHDRAWABLE_STATUSES.includes(status as ContractStatus);
export const isOpen = (status: string) => AWAITING_BUREAU.includes(status as ContractStatus);

/** A change (变更登记) or cancellation (注销登记) of a registered contract. */
export const REQUEST_KINDS = ['change', 'cancellation'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];
/** A request moves like a filing; `registered` means the change or cancellation was registered. */
export const REQUEST_STATUSES = ['draft', 'submitted', 'in_review', 'registered', 'returned', 'refused', 'withdrawn'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];
/** A request in one of these holds the contract's one open-request slot. */
export const OPEN_REQUEST_STATUSES: readonly RequestStatus[] = ['draft', 'submitted', 'in_review', 'returned'];
export const isOpenRequest = (status: string) => OPEN_REQUEST_STATUSES.includes(status as RequestStatus);
