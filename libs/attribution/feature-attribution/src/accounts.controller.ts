import { Controller, Get, Inject } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RegistryTables } from '@tally/attribution/data-access-registry';
import { ApiDoc, QueryText, ReadsFrom, Tenancy } from '@tally/shared/feature-runtime';
import { AccountPage, accountSearchQuery } from './registry.schemas';
import { ATTRIBUTION_DB, REGISTRY_TABLES } from './tokens';

const defaultLimit = 50;

/** The tenant's accounts, found by a part of their id or name: the console's account picker. */
@Controller('v1/accounts')
export class AccountsController {
  constructor(
    private readonly tenancy: Tenancy,
    @Inject(ATTRIBUTION_DB) private readonly db: DataSource,
    @Inject(REGISTRY_TABLES) private readonly tables: RegistryTables,
  ) {}

  @ApiDoc({
    summary: 'Find accounts by a part of their id or name',
    description:
      'Accounts of the caller’s tenant ordered by id, a page at a time (`after` = the previous page’s `next`). ' +
      '`search` keeps those whose id or name contains the text, ignoring case.',
    query: accountSearchQuery,
    responses: { 200: { description: 'a page of accounts, by id', schema: AccountPage } },
  })
  @Get()
  @ReadsFrom('attribution_registry')
  async search(
    @QueryText('search') search?: string,
    @QueryText('limit') limitText?: string,
    @QueryText('after') after?: string,
  ) {
    // The query's schema (accountSearchQuery) has checked all three before this runs.
    const limit = limitText === undefined ? defaultLimit : Number(limitText);
    // One more than the page: whether another page follows is known without a second query.
    const rows = await this.tables.searchAccounts(this.db, this.tenancy.current, { search, after, limit: limit + 1 });
    const accounts = rows.slice(0, limit).map(({ accountId, ...rest }) => ({ id: accountId, ...rest }));
    return { accounts, next: rows.length > limit ? accounts[accounts.length - 1].id : null };
  }
}
