import { Controller, Get, Inject } from '@nestjs/common';
import { Public } from './auth';
import { RUNTIME, TALLY_APPS } from './tokens';
import type { TallyRuntime } from './runtime';

@Controller()
export class HealthController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: TallyRuntime,
    @Inject(TALLY_APPS) private readonly apps: readonly string[],
  ) {}

  @Get('health')
  @Public()
  health() {
    return {
      status: 'ok',
      apps: this.apps,
      ledger: this.runtime.config.KURRENTDB_URL ? 'kurrentdb' : 'postgres',
      bus: this.runtime.bus.kind,
    };
  }
}
