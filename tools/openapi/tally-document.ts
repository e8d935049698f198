import 'reflect-metadata';
import { AggregationModule } from '@tally/aggregation/feature-usage';
import { AttributionModule } from '@tally/attribution/feature-attribution';
import { IngestionModule } from '@tally/ingestion/feature-intake';
import { InvoicingModule } from '@tally/invoicing/feature-billing';
import { openApiDocument, runtimeControllers } from '@tally/shared/feature-runtime';

/**
 * The OpenAPI document of the whole platform (the four apps and the routes every app serves), built from the
 * routes' metadata without starting anything — the same function `GET /openapi.json` answers with.
 */
export const tallyDocument = () => {
  const modules = [
    IngestionModule.register(),
    AttributionModule.register(),
    AggregationModule.register(),
    InvoicingModule.register(),
  ];
  return openApiDocument(
    [...modules.flatMap((m) => m.controllers ?? []), ...runtimeControllers],
    ['ingestion', 'attribution', 'aggregation', 'invoicing'],
  );
};
