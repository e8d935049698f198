/** Writes deploy/nats.conf from the per-app permissions: npm run nats:config */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { composeNatsConfig } from './permissions';

writeFileSync(resolve(__dirname, '..', '..', 'deploy', 'nats.conf'), composeNatsConfig());
