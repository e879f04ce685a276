// The runtime helpers generated code may call by name (codegen.ts binds them once per compiled query). Keep this
// list to small, hot helpers; everything else reaches generated code as a bound constant (a function in K).

export { addL, subL, mulL, negL, divL, remL, toByte, toShort } from './numbers.ts'
export { hasOwn, structField, mapGet, eqL, cmpD, cmpS, setOwn } from './values.ts'
