export * from './registry.events';
export * from './subject-timeline';
export * from './subscriptions';
export * from './account.decider';
export * from './subject.decider';
export * from './attribution.policy';
export * from './subscription-claim.decider';
export * from './errors';
