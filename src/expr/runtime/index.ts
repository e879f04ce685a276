// The runtime helpers generated code may call by name (codegen.ts binds them once per compiled query). Keep this
// list to small, hot helpers; everything else reaches generated code as a bound constant (a function in K).

export { addL, subL, mulL, negL, divL, remL, toByte, toShort } from './numbers.ts'
export { hasOwn, structField, mapGet, eqL, cmpD, cmpS, setOwn } from './values.ts'

/**
 * The prototype of a record, read through the __proto__ accessor because V8 inlines it (Object.getPrototypeOf is
 * a call). A record with an own '__proto__' field yields that value instead; that only costs the fast path, since
 * fields that Object.prototype has are always read with Object.hasOwn (see CodeGen.column).
 */
export function protoOf (o: object): unknown {
  return (o as { __proto__?: unknown }).__proto__
}
