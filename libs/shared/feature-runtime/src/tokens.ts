/** DI token of the process-wide TallyRuntime. */
export const RUNTIME = Symbol('TallyRuntime');
/** DI token of the names of the apps this process runs. */
export const TALLY_APPS = Symbol('TallyApps');
