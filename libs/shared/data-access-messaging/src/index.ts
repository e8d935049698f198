export * from './message-bus.port';
export * from './namespace';
export * from './jetstream/jetstream-bus';
export * from './postgres/postgres-bus';
export * from './nest-envelope';
