import { Body, Controller, Get, HttpCode, Injectable, Param, Post } from '@nestjs/common';
import { ProjectionRunner, ProjectionStatus } from '@tally/shared/data-access-postgres';
import { notFound } from './problem';

/** Every projection running in this process, by name, for the admin endpoints and the CLI. */
@Injectable()
export class ProjectionCatalog {
  private readonly runners = new Map<string, ProjectionRunner>();

  register(name: string, runner: ProjectionRunner): void {
    this.runners.set(name, runner);
  }

  get(name: string): ProjectionRunner {
    const runner = this.runners.get(name);
    if (!runner) throw notFound(`no projection named ${name} runs in this process; known: ${[...this.runners.keys()].join(', ') || 'none'}`);
    return runner;
  }

  async statuses(): Promise<ProjectionStatus[]> {
    return Promise.all([...this.runners.values()].map((r) => r.status()));
  }
}

@Controller('v1/admin/projections')
export class ProjectionsController {
  constructor(private readonly catalog: ProjectionCatalog) {}

  @Get()
  async list() {
    return { projections: await this.catalog.statuses() };
  }

  /** Rebuild = drop the projection's rows and replay the ledger from the start. Answers once replay has begun. */
  @Post(':name/rebuild')
  @HttpCode(202)
  async rebuild(@Param('name') name: string, @Body() _body: unknown) {
    await this.catalog.get(name).rebuild();
    return { name, status: 'rebuilding' };
  }
}
