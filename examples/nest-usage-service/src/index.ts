export * from './tally-clients.module';
export * from './usage-reporter.service';
export * from './tokens';
