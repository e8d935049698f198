import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from './tokens';
import type { TallyConfig } from '@tally/shared/util-config';
import { scopedTenant } from './tenant-scope';

/** The tenant the current request or task acts for (tenant-scope.ts); TALLY_TENANT outside any. */
@Injectable()
export class Tenancy {
  constructor(@Inject(CONFIG) private readonly config: TallyConfig) {}

  get current(): string {
    return scopedTenant() ?? this.config.TALLY_TENANT;
  }
}
