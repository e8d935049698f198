export * from './problem';
export * from './nats-producer';
export * from './http-client';
