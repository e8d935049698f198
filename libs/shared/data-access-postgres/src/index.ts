export * from './data-source';
export * from './projection-runner';
export * from './embedded-postgres';
export * from './leadership';
export * from './shadow-tables';
