export * from './ingestion.module';
export { ApiKeysService } from './api-keys.service';
