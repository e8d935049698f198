import type { FastifyRequest } from 'fastify';
import { Producer, ProducerOnly } from '@tally/shared/feature-runtime';

/** A request on a producer route: the request gate has authenticated its API key (or the admin token, where admitted). */
export type ProducerRequest = FastifyRequest & { producer: Producer };

/** A route for producers (their API key); `{ admin: true }` lets the admin token in too, for the admin's tenant. */
export const ProducerRoute = (options: { admin?: boolean } = {}) => ProducerOnly(options);
