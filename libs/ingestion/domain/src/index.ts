export * from './cloud-event.validation';
