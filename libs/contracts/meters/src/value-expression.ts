import { ExactDecimal as Decimal } from '@tally/shared/util-core';
import { isDecimalText } from './decimal-text';

/**
 * A meter's derived value: an exact expression over the fields of an event's data, e.g.
 * `memoryMiB / 1024 * durationMs / 1000` (GB-seconds) or `max(bytes, 1000) / 1000000000` (GB, a read
 * counting as at least 1 KB). Parsed by the grammar below (never `eval`), checked when the meter is created,
 * evaluated in exact decimals — here, and by `meter_value(expression, data)` in Postgres (the aggregation
 * migrations), the same rules step by step; a property test holds the two to the same answers.
 *
 *   expression := term (('+' | '-') term)*
 *   term       := unary (('*' | '/') unary)*
 *   unary      := '-' unary | primary
 *   primary    := number | field | name '(' expression (',' expression)* ')' | '(' expression ')'
 *   number     := digits ['.' digits]                       (no sign, no exponent: 1024, 0.5)
 *   field      := name ('.' name)*                          (a property of data: memoryMiB, usage.bytes)
 *   name       := [A-Za-z_][A-Za-z0-9_]*
 *   functions  := min(a, b, …), max(a, b, …)  (two or more arguments), ceil(a), floor(a)
 *
 * Rules: a field must hold a decimal number (a JSON number or decimal text, as valueProperty reads them); a
 * missing or non-numeric field makes the event "not a value" (never 0). `/` divides exactly when the quotient
 * is a finite decimal and otherwise rounds once, half away from zero, at 40 decimal places (1 / 3 =
 * 0.3333…3 with 40 digits) — so a quotient is exact to 40 decimal places; dividing by zero makes the event not a
 * value. Nothing else rounds (readings are bounded: isDecimalText).
 */
export type ValueExpression =
  | { n: string }
  | { f: string[] }
  | { op: '+' | '-' | '*' | '/'; a: [ValueExpression, ValueExpression] }
  | { op: 'neg' | 'ceil' | 'floor'; a: [ValueExpression] }
  | { op: 'min' | 'max'; a: ValueExpression[] };

/** The digits `/` keeps when a quotient does not end (the SQL twin uses the same). */
export const divisionDecimalPlaces = 40;

export const valueExpressionLimits = { length: 512, nodes: 64, depth: 16 } as const;

export type ValueExpressionParse = { ok: true; expression: ValueExpression } | { ok: false; error: string };

const functions: Record<string, { min: number; max: number }> = {
  min: { min: 2, max: 16 },
  max: { min: 2, max: 16 },
  ceil: { min: 1, max: 1 },
  floor: { min: 1, max: 1 },
};

type Token = { kind: 'number' | 'name' | 'symbol'; text: string; at: number };

const tokenize = (text: string): Token[] | string => {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|([-+*/(),.]))/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (!match) return `unexpected '${text.slice(at).trim()[0]}' at position ${at + text.slice(at).search(/\S/) + 1}`;
    const start = match.index + match[0].length - (match[1] ?? match[2] ?? match[3]).length;
    tokens.push(
      match[1] !== undefined
        ? { kind: 'number', text: match[1], at: start + 1 }
        : match[2] !== undefined
          ? { kind: 'name', text: match[2], at: start + 1 }
          : { kind: 'symbol', text: match[3], at: start + 1 },
    );
    at = pattern.lastIndex;
  }
  return tokens;
};

class ParseError extends Error {}

/** Parses an expression by the grammar above; the error names the position (1-based) where it went wrong. */
export const parseValueExpression = (text: string): ValueExpressionParse => {
  if (text.length > valueExpressionLimits.length)
    return { ok: false, error: `at most ${valueExpressionLimits.length} characters` };
  const tokens = tokenize(text);
  if (typeof tokens === 'string') return { ok: false, error: tokens };
  let index = 0;
  let nodes = 0;
  const peek = (): Token | undefined => tokens[index];
  const where = (): string => (peek() ? `at position ${peek()?.at}` : 'at the end');
  const expect = (symbol: string): void => {
    if (peek()?.text !== symbol || peek()?.kind !== 'symbol') throw new ParseError(`expected '${symbol}' ${where()}`);
    index += 1;
  };
  const node = <T extends ValueExpression>(value: T, depth: number): T => {
    nodes += 1;
    if (nodes > valueExpressionLimits.nodes)
      throw new ParseError(`at most ${valueExpressionLimits.nodes} numbers, fields and operations`);
    // Depth counts parentheses and function calls around a node (a + b + c is one level, max(min(a, b), c) two).
    if (depth > valueExpressionLimits.depth)
      throw new ParseError(`nested at most ${valueExpressionLimits.depth} levels deep`);
    return value;
  };
  const expression = (depth: number): ValueExpression => {
    let left = term(depth);
    while (peek()?.kind === 'symbol' && (peek()?.text === '+' || peek()?.text === '-')) {
      const op = (tokens[index++] as Token).text as '+' | '-';
      left = node({ op, a: [left, term(depth)] }, depth);
    }
    return left;
  };
  const term = (depth: number): ValueExpression => {
    let left = unary(depth);
    while (peek()?.kind === 'symbol' && (peek()?.text === '*' || peek()?.text === '/')) {
      const op = (tokens[index++] as Token).text as '*' | '/';
      left = node({ op, a: [left, unary(depth)] }, depth);
    }
    return left;
  };
  const unary = (depth: number): ValueExpression => {
    if (peek()?.kind === 'symbol' && peek()?.text === '-') {
      index += 1;
      return node({ op: 'neg', a: [unary(depth)] }, depth);
    }
    return primary(depth);
  };
  const primary = (depth: number): ValueExpression => {
    const token = peek();
    if (!token) throw new ParseError('expected a number, a field or ( at the end');
    if (token.kind === 'number') {
      index += 1;
      return node({ n: new Decimal(token.text).toFixed() }, depth);
    }
    if (token.kind === 'symbol' && token.text === '(') {
      index += 1;
      const inner = expression(depth + 1);
      expect(')');
      return inner;
    }
    if (token.kind !== 'name') throw new ParseError(`expected a number, a field or ( ${where()}`);
    index += 1;
    if (peek()?.kind === 'symbol' && peek()?.text === '(') {
      const arity = functions[token.text];
      if (!arity)
        throw new ParseError(`unknown function ${token.text} at position ${token.at} (min, max, ceil, floor)`);
      index += 1;
      const args = [expression(depth + 1)];
      while (peek()?.kind === 'symbol' && peek()?.text === ',') {
        index += 1;
        args.push(expression(depth + 1));
      }
      expect(')');
      if (args.length < arity.min || args.length > arity.max)
        throw new ParseError(
          `${token.text} takes ${arity.min === arity.max ? arity.min : `${arity.min} to ${arity.max}`} argument${arity.max > 1 ? 's' : ''} (position ${token.at})`,
        );
      return node({ op: token.text as 'min', a: args }, depth);
    }
    const path = [token.text];
    while (peek()?.kind === 'symbol' && peek()?.text === '.') {
      index += 1;
      const next = peek();
      if (next?.kind !== 'name') throw new ParseError(`expected a field name after '.' ${where()}`);
      path.push(next.text);
      index += 1;
    }
    return node({ f: path }, depth);
  };
  try {
    const parsed = expression(0);
    if (index < tokens.length) throw new ParseError(`unexpected '${peek()?.text}' at position ${peek()?.at}`);
    if (!fieldsOf(parsed).length) throw new ParseError('an expression must read at least one field of data');
    return { ok: true, expression: parsed };
  } catch (error) {
    if (error instanceof ParseError) return { ok: false, error: error.message };
    throw error;
  }
};

/** The fields (paths into data) an expression reads. */
export const fieldsOf = (expression: ValueExpression): string[][] =>
  'n' in expression ? [] : 'f' in expression ? [expression.f] : expression.a.flatMap(fieldsOf);

export type ValueExpressionResult =
  | { ok: true; value: InstanceType<typeof Decimal> }
  | { ok: false; reason: 'missing_value' | 'not_a_number' | 'division_by_zero'; path: string };

const scale = new Decimal(10).pow(divisionDecimalPlaces);

/** x ÷ y, exact when the quotient ends, else rounded half away from zero at 40 places: integer steps only. */
export const exactDivide = (
  x: InstanceType<typeof Decimal>,
  y: InstanceType<typeof Decimal>,
): InstanceType<typeof Decimal> => {
  const scaled = x.times(scale);
  let quotient = scaled.divToInt(y);
  const remainder = scaled.minus(quotient.times(y));
  if (remainder.abs().times(2).gte(y.abs())) quotient = quotient.plus(x.s * y.s);
  return quotient.dividedBy(scale);
};

/** The expression's value for one event's data. */
export const evaluateValueExpression = (
  expression: ValueExpression,
  data: Record<string, unknown>,
): ValueExpressionResult => {
  const evaluate = (e: ValueExpression): ValueExpressionResult => {
    if ('n' in e) return { ok: true, value: new Decimal(e.n) };
    if ('f' in e) {
      let current: unknown = data;
      for (const name of e.f)
        current =
          typeof current === 'object' &&
          current !== null &&
          !Array.isArray(current) &&
          Object.prototype.hasOwnProperty.call(current, name)
            ? (current as Record<string, unknown>)[name]
            : undefined;
      const path = e.f.join('.');
      if (current === undefined || current === null) return { ok: false, reason: 'missing_value', path };
      if ((typeof current !== 'string' && typeof current !== 'number') || !isDecimalText(String(current)))
        return { ok: false, reason: 'not_a_number', path };
      return { ok: true, value: new Decimal(String(current)) };
    }
    const args: InstanceType<typeof Decimal>[] = [];
    for (const arg of e.a) {
      const result = evaluate(arg);
      if (!result.ok) return result;
      args.push(result.value);
    }
    const [x, y] = args;
    switch (e.op) {
      case '+':
        return { ok: true, value: x.plus(y) };
      case '-':
        return { ok: true, value: x.minus(y) };
      case '*':
        return { ok: true, value: x.times(y) };
      case '/':
        return y.isZero()
          ? { ok: false, reason: 'division_by_zero', path: fieldsOf(e.a[1]).map((p) => p.join('.'))[0] ?? '' }
          : { ok: true, value: exactDivide(x, y) };
      case 'neg':
        return { ok: true, value: x.negated() };
      case 'ceil':
        return { ok: true, value: x.ceil() };
      case 'floor':
        return { ok: true, value: x.floor() };
      case 'min':
        return { ok: true, value: Decimal.min(...args) };
      case 'max':
        return { ok: true, value: Decimal.max(...args) };
      default: {
        const _never: never = e;
        throw new Error(`unknown operation ${JSON.stringify(_never)}`);
      }
    }
  };
  return evaluate(expression);
};

const parsed = new Map<string, ValueExpression>();

/** A stored meter's expression (already validated), parsed once, then cached. */
export const valueExpressionOf = (text: string): ValueExpression => {
  let expression = parsed.get(text);
  if (!expression) {
    const result = parseValueExpression(text);
    if (!result.ok) throw new Error(`invalid value expression reached a meter: ${text} (${result.error})`);
    expression = result.expression;
    parsed.set(text, expression);
  }
  return expression;
};
