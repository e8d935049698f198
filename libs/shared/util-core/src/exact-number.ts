/**
 * A JSON number kept as the text it was written in. Intake parses bodies with numbers as
 * ExactNumber, so a quantity like 12345678901234567890.5 or 0.1 never passes through a binary float.
 */
export class ExactNumber {
  constructor(readonly text: string) {}

  toJSON(): string {
    return this.text;
  }
}

export const isExactNumber = (value: unknown): value is ExactNumber => value instanceof ExactNumber;
