export * from './usage-event.v1';
export * from './usage-ledger.v1';
export * from './usage-messages.guards';
