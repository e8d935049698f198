import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { badRequest } from './problem';

/**
 * A query parameter that takes one value: `?x=a&x=b` arrives as an array, which is refused (400) instead of
 * reaching code that expects text.
 */
export const QueryText = createParamDecorator((name: string, context: ExecutionContext): string | undefined => {
  const value = (context.switchToHttp().getRequest<FastifyRequest>().query as Record<string, unknown> | undefined)?.[
    name
  ];
  if (value === undefined || typeof value === 'string') return value;
  throw badRequest(`give ${name} once`, [{ field: name, message: 'given more than once' }]);
});
