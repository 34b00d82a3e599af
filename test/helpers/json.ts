/**
 * A JSON value read back from the lane (a document, an event's data, a reply):
 * tests read its fields in assertions without declaring every shape.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON, read field by field; the assertions check it
export type Json = any;
