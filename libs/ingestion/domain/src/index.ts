export * from './cloud-event.validation';
export * from './api-key.policy';
export * from './correction.validation';
export * from './event-status';
export * from './intake-rate';
