// Test helpers of the archive (s3rver, a test-only dependency): never exported from the library's index.
export { LocalS3 } from './local-s3';
