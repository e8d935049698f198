import { DomainError } from '@tally/shared/util-core';
import { AccountOpened } from './registry.events';

export interface OpenAccount {
  type: 'OpenAccount';
  data: { tenant: string; accountId: string; name: string; currency: string; timezone: string };
  metadata: { now: string };
}

export type Account = { status: 'none' } | { status: 'open'; opened: AccountOpened['data'] };

export const initialAccount = (): Account => ({ status: 'none' });

export const evolveAccount = (state: Account, event: AccountOpened): Account => {
  switch (event.type) {
    case 'AccountOpened':
      return { status: 'open', opened: event.data };
    default: {
      const _never: never = event.type;
      return state;
    }
  }
};

/** Opening an account twice with the same details is a no-op (safe retries); with other details it is refused. */
export const decideAccount = (command: OpenAccount, state: Account): AccountOpened[] => {
  switch (command.type) {
    case 'OpenAccount': {
      if (state.status === 'open') {
        const { name, currency, timezone } = state.opened;
        const same = name === command.data.name && currency === command.data.currency && timezone === command.data.timezone;
        if (same) return [];
        throw new DomainError('account_exists', `account ${command.data.accountId} already exists with other details`, 'id');
      }
      return [{ type: 'AccountOpened', data: { ...command.data, openedAt: command.metadata.now } }];
    }
    default: {
      const _never: never = command.type;
      throw new DomainError('unknown_command', 'unknown command');
    }
  }
};
