export * from './aggregation.module';
