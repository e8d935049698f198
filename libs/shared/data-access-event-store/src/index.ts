export * from './event-store.port';
export * from './polling-subscription';
export * from './postgres/postgres-event-store';
export * from './kurrentdb/kurrentdb-event-store';
export * from './command-handler';
export * from './batching-event-store';
