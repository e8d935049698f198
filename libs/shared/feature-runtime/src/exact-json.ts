import { parse } from 'lossless-json';
import { ExactNumber } from '@tally/shared/util-core';

/**
 * JSON.parse, but every number stays the text it was sent as (ExactNumber), so quantities never pass
 * through a binary float. Stricter than JSON.parse in one way: a key repeated with another value is an error.
 */
export const parseExactJson = (text: string): unknown => parse(text, null, (number) => new ExactNumber(number));
