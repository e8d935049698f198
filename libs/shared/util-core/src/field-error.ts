/** What is wrong with one field of a request, as every validator reports it and problem+json lists it. */
export interface FieldError {
  /** The field, as a path into the request: `currency`, `charges[0].meter`, `data.gbSeconds`. */
  field: string;
  message: string;
}
