export * from './runtime';
export * from './runtime.module';
export * from './problem';
export * from './http';
export * from './projection-catalog';
export * from './app-data-source';
export * from './start';
export * from './tokens';
