export * from './cloud-event.validation';
export * from './api-key.policy';
