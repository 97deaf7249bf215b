/** Parquet input (next commit): a placeholder that says so. */
import { DataError } from '../errors.js';
import type { EventReader } from './reader.js';

/** @throws {DataError} always, for now. */
export async function readParquet(path: string, label: string, reader: EventReader): Promise<void> {
  void reader;
  throw new DataError({ file: label }, `Parquet input is not available yet: ${path}`);
}
