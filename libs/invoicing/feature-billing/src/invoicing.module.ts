import { DynamicModule, Module } from '@nestjs/common';

/**
 * The invoicing app's module. Price plans, rating and invoices arrive with their own issue;
 * until then the app runs, connects to the ledger and the bus, and answers /health.
 */
@Module({})
export class InvoicingModule {
  static register(): DynamicModule {
    return { module: InvoicingModule };
  }
}
