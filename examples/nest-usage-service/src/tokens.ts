/** The two NATS clients: one with the producer API key, one with the query credential. */
export const TALLY_INTAKE = Symbol('TallyIntake');
export const TALLY_QUERIES = Symbol('TallyQueries');
/** Tally's namespace: the prefix of its subjects. */
export const TALLY_NAMESPACE = Symbol('TallyNamespace');
