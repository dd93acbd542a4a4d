/**
 * The listing part of a submission: parsed by the one parser in
 * core/listing-format.ts; its errors become 422 INVALID_LISTING here.
 * Comparisons with the URL and the archive are made by the submit route.
 */
import { ListingFormatError, parseListing as parseListingFormat, type Listing } from '../core/listing-format.js';
import { ApiError } from './errors.js';

export type { Listing } from '../core/listing-format.js';

export function parseListing(bytes: Buffer): Listing {
  try {
    return parseListingFormat(bytes);
  } catch (err) {
    if (err instanceof ListingFormatError) throw new ApiError(422, 'INVALID_LISTING', err.message);
    throw err;
  }
}
