/** A problem+json document, as every Tally refusal is (RFC 9457). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { field: string; message: string }[];
}

/** Tally refused the request (a bad key, an invalid batch, too large): retrying the same request will not help. */
export class TallyRefusedError extends Error {
  constructor(readonly problem: Problem) {
    super(`${problem.status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`);
    this.name = 'TallyRefusedError';
  }

  get status(): number {
    return this.problem.status;
  }
}

/** Tally could not be reached, or kept answering 503, for every attempt. */
export class TallyUnavailableError extends Error {
  constructor(
    readonly attempts: number,
    readonly lastError: unknown,
  ) {
    super(`Tally did not take the events after ${attempts} attempts: ${(lastError as Error)?.message ?? lastError}`);
    this.name = 'TallyUnavailableError';
  }
}
