export * from './config';
export * from './tally.config';
