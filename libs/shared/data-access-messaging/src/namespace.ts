/** Maps logical stream and subject names into one installation's namespace. */
export class Namespace {
  constructor(private readonly prefix: string) {}

  /** 'USAGE' → 'TALLY_USAGE' */
  stream(name: string): string {
    return `${this.prefix.toUpperCase()}_${name}`;
  }

  /** 'ingestion.evt.usage-received.v1' → 'tally.ingestion.evt.usage-received.v1' */
  subject(name: string): string {
    return `${this.prefix}.${name}`;
  }

  logicalSubject(subject: string): string {
    return subject.startsWith(`${this.prefix}.`) ? subject.slice(this.prefix.length + 1) : subject;
  }
}

/** NATS subject matching: `*` is one token, `>` one or more trailing tokens. */
export const subjectMatches = (filter: string, subject: string): boolean => {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
};
