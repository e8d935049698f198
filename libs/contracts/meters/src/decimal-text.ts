/**
 * Decimal text, the only form a reading may take (the SQL paths use the same rule, decimalTextSqlPattern): at most
 * 64 characters and an exponent of at most two digits. Bounded so that no reading can exhaust memory (`1e2000000000`
 * is 13 characters and two billion digits), overflow Postgres' numeric, or outgrow the 1,000 significant digits the
 * TypeScript twins compute with while Postgres stays exact.
 */
const decimalText = /^(?=.{1,64}$)[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,2})?$/;

export const isDecimalText = (text: string): boolean => decimalText.test(text);

/** isDecimalText as a Postgres regular expression (a SQL string literal). */
export const decimalTextSqlPattern = `'^(?=.{1,64}$)[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]{1,2})?$'`;
