import { DynamicModule, Module } from '@nestjs/common';
import { PlansController } from './plans.controller';
import { PlansService } from './plans.service';

/**
 * The invoicing app's module. Today: price plans as far as subscriptions need them (id, name,
 * currency); prices, rating and invoices arrive with their own issue.
 */
@Module({})
export class InvoicingModule {
  static register(): DynamicModule {
    return { module: InvoicingModule, controllers: [PlansController], providers: [PlansService] };
  }
}
