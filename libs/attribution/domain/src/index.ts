export * from './registry.events';
export * from './account.decider';
export * from './subject.decider';
export * from './attribution.policy';
