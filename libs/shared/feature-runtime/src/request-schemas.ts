import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type * as z from 'zod';
import { apiDocOf } from './openapi';
import { badRequest, ProblemError } from './problem';

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);
const units: Record<string, string> = { string: 'characters', array: 'items', set: 'items', file: 'bytes' };

/** What is wrong with the value, as the end of a sentence that starts with the field's name. */
const complaintOf = (issue: z.core.$ZodIssue): string => {
  switch (issue.code) {
    case 'invalid_type':
      if ((issue as { input?: unknown }).input === undefined) return 'is required';
      // A query parameter repeated (`?x=a&x=b`) arrives as an array where one value is taken.
      if (Array.isArray((issue as { input?: unknown }).input) && issue.expected === 'string')
        return 'is given more than once';
      return `must be ${article(issue.expected)}`;
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const unit = units[issue.origin];
      if (unit) return `must have ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} ${unit}`;
      const comparison = issue.code === 'too_small' ? 'at least' : 'at most';
      return issue.inclusive === false
        ? `must be ${issue.code === 'too_small' ? 'greater' : 'less'} than ${String(bound)}`
        : `must be ${comparison} ${String(bound)}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `has fields that are not allowed: ${issue.keys.join(', ')}`;
    case 'invalid_union':
      return 'matches none of the accepted forms';
    default:
      // Our schemas' own sentences start in lower case ("must be an ISO 4217 code …"); zod's defaults do not.
      return /^[a-z]/.test(issue.message) ? issue.message : 'is malformed';
  }
};

/** A zod issue as a field error: the field's dotted path and a sentence that names it. */
const fieldErrorOf = (issue: z.core.$ZodIssue, prefix: string): ProblemError => {
  const field = issue.path.map(String).join('.');
  const named = [prefix, field].filter(Boolean).join(' ') || 'the body';
  return { field, message: `${named} ${complaintOf(issue)}` };
};

/**
 * What is wrong with `value` under `schema`, one field error per issue, each a sentence that names the field
 * (`prefix`: 'query parameter', 'path parameter', or '' for the body). Empty when the value is valid.
 */
export const schemaErrors = (schema: z.ZodType, value: unknown, prefix: string): ProblemError[] => {
  // reportInput: the issue carries the value, to tell a missing field from a wrong one (never echoed back).
  const result = schema.safeParse(value, { reportInput: true });
  return result.success ? [] : result.error.issues.map((issue) => fieldErrorOf(issue, prefix));
};

/**
 * Validates a request's path parameters, query and body against the schemas its route declares in
 * `@ApiDoc` — the schemas the OpenAPI document is written from — before the handler runs: a malformed request
 * is a 400 problem with one error per field and reaches no code that writes. Runs after the guards (a request
 * without a credential is 401 before anything about its body is said). Routes whose handler validates the
 * body itself (`bodyCheckedBy`: intake, where numbers stay exact) only have their parameters checked here.
 */
@Injectable()
export class RequestSchemaInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler) {
    const doc = apiDocOf(context.getHandler());
    if (doc && context.getType() === 'http') {
      const request = context.switchToHttp().getRequest<FastifyRequest>();
      const errors = [
        ...(doc.params ? schemaErrors(doc.params, request.params ?? {}, 'path parameter') : []),
        ...(doc.query ? schemaErrors(doc.query, request.query ?? {}, 'query parameter') : []),
        ...(doc.body && !doc.bodyCheckedBy ? schemaErrors(doc.body, request.body, '') : []),
      ];
      if (errors.length > 0) throw badRequest(`the request is invalid: ${errors[0].message}`, errors);
    }
    return next.handle();
  }
}
