export * from './problem';
export * from './nats-producer';
