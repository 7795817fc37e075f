/** The error of bytes that should be Parquet and are not. */
import { ErrorType, PgParquetError } from '../contract/errors.js';

/** The bytes are not a (complete) Parquet file. */
export class ParquetFormatError extends PgParquetError {
  constructor(message: string) {
    // Terminal: stored objects are written whole, so a file that is not Parquet stays so.
    super(ErrorType.ParquetFormat, message, false);
  }
}
