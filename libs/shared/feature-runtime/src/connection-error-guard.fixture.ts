// Run by connection-error-guard.spec.ts in a process of its own: an error event nobody listens for, as pg emits it.
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { surviveLostPostgresConnections } from './connection-error-guard';

surviveLostPostgresConnections(() => pino({ level: 'silent' }));
const client = new EventEmitter();
const error = Object.assign(
  new Error(process.argv[2] === 'lost' ? 'terminating connection due to administrator command' : 'a bug'),
  {
    code: process.argv[2] === 'lost' ? '57P01' : undefined,
  },
);
setTimeout(() => client.emit('error', error), 10);
setTimeout(() => {
  console.log('still running');
  process.exit(0);
}, 200);
