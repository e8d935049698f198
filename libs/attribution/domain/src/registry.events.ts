/** Registry events, event-sourced in the ledger: `account-{tenant}_{id}`, `subject-{tenant}_{key}`. */
export interface AccountOpened {
  type: 'AccountOpened';
  data: { tenant: string; accountId: string; name: string; currency: string; timezone: string; openedAt: string };
}

export interface SubjectAssigned {
  type: 'SubjectAssigned';
  data: { tenant: string; subject: string; accountId: string; effectiveFrom: string; attributes: Record<string, string>; assignedAt: string };
}

export type RegistryEvent = AccountOpened | SubjectAssigned;

export const accountStream = (tenant: string, accountId: string): string => `account-${tenant}_${accountId}`;
export const subjectStream = (tenant: string, subject: string): string => `subject-${tenant}_${subject}`;
