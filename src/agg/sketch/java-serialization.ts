// airbnb Chronon's APPROX_HISTOGRAM_K IR on the wire: Java object serialization (the Java Object Serialization
// Specification, "Object Serialization Stream Protocol", stream version 5) of
//
//   ai.chronon.aggregator.base.ApproxHistogramIrSerializable(isApprox: Boolean,
//                                                            sketch: Option[Array[Byte]],
//                                                            histogram: Option[java.util.Map[T, Long]])
//
// written by ObjectOutputStream.writeObject in ApproxHistogram.normalize. Only the object graphs that class produces
// are written and read here; the bytes are those a JVM writes (test/vectors/approx-histogram/, made on a JVM with
// the class compiled from Chronon's declaration):
//
//   aced 0005                                     magic, version
//   73 classDesc(ApproxHistogramIrSerializable)   fields, in Java's order: isApprox Z, histogram, sketch (objects
//      isApprox (1 byte)                          sorted by name after primitives)
//      histogram: scala.None$ | scala.Some(java.util.HashMap)
//      sketch:    scala.None$ | scala.Some(byte[]: item type id (String 0, Long 1, Double 2) ‖ ItemsSketch bytes)
//
//   java.util.HashMap (writeObject): fields loadFactor F (0.75), threshold I; then block data [i32 capacity, i32
//   size] and size × (key, value) objects in the map's iteration order, then TC_ENDBLOCKDATA. Keys are String,
//   java.lang.Long or java.lang.Double; values java.lang.Long.
//
// Every class descriptor, and the type strings "Lscala/Option;" and "Ljava/lang/Object;", is written once and then
// referred to by handle (0x7e0000 + n, n counting every descriptor, string, array and object in stream order), as
// the JVM does. Boxed longs in [-128, 127] are the JVM's cached instances (Long.valueOf): the first occurrence is an
// object, every later one of the same value, key or count, is a reference to it. Other boxed values are distinct
// objects. Strings use Java's modified UTF-8 (U+0000 as C0 80, supplementary characters as two 3-byte surrogates).

import { TilekilnError } from '../../errors.ts'
import type { Item, ItemType } from './java-compat.ts'

const MAGIC = 0xaced
const VERSION = 5
const TC_NULL = 0x70
const TC_REFERENCE = 0x71
const TC_CLASSDESC = 0x72
const TC_OBJECT = 0x73
const TC_STRING = 0x74
const TC_ARRAY = 0x75
const TC_BLOCKDATA = 0x77
const TC_ENDBLOCKDATA = 0x78
const TC_BLOCKDATALONG = 0x7a
const TC_LONGSTRING = 0x7c
const BASE_HANDLE = 0x7e0000
const SC_WRITE_METHOD = 0x01
const SC_SERIALIZABLE = 0x02

interface FieldDesc { readonly code: string, readonly name: string, readonly type?: string }
interface ClassDesc { readonly name: string, readonly suid: bigint, readonly flags: number, readonly fields: readonly FieldDesc[], readonly superDesc: ClassDesc | null }

/** A serialVersionUID as the stream shows it (8 bytes, hex). */
function uid (hex: string): bigint { return BigInt.asIntN(64, BigInt('0x' + hex)) }

// The descriptors a JVM writes for this graph (serialVersionUIDs as the JVM derives or declares them; Chronon's
// class has none declared, so its UID is the default one of its scalac 2.12 class, as the vectors record).
const NUMBER: ClassDesc = { name: 'java.lang.Number', suid: uid('86ac951d0b94e08b'), flags: SC_SERIALIZABLE, fields: [], superDesc: null }
const LONG: ClassDesc = { name: 'java.lang.Long', suid: uid('3b8be490cc8f23df'), flags: SC_SERIALIZABLE, fields: [{ code: 'J', name: 'value' }], superDesc: NUMBER }
const DOUBLE: ClassDesc = { name: 'java.lang.Double', suid: uid('80b3c24a296bfb04'), flags: SC_SERIALIZABLE, fields: [{ code: 'D', name: 'value' }], superDesc: NUMBER }
const OPTION: ClassDesc = { name: 'scala.Option', suid: uid('fe6937fddb0e6674'), flags: SC_SERIALIZABLE, fields: [], superDesc: null }
const SOME: ClassDesc = { name: 'scala.Some', suid: uid('1122f2695ea18b74'), flags: SC_SERIALIZABLE, fields: [{ code: 'L', name: 'value', type: 'Ljava/lang/Object;' }], superDesc: OPTION }
const NONE: ClassDesc = { name: 'scala.None$', suid: uid('465024f653ca94ac'), flags: SC_SERIALIZABLE, fields: [], superDesc: OPTION }
const HASH_MAP: ClassDesc = { name: 'java.util.HashMap', suid: uid('0507dac1c31660d1'), flags: SC_WRITE_METHOD | SC_SERIALIZABLE, fields: [{ code: 'F', name: 'loadFactor' }, { code: 'I', name: 'threshold' }], superDesc: null }
const BYTES: ClassDesc = { name: '[B', suid: uid('acf317f8060854e0'), flags: SC_SERIALIZABLE, fields: [], superDesc: null }
export const CHRONON_IR_CLASS = 'ai.chronon.aggregator.base.ApproxHistogramIrSerializable'
const IR: ClassDesc = {
  name: CHRONON_IR_CLASS,
  suid: 7215275005709798062n,
  flags: SC_SERIALIZABLE,
  fields: [{ code: 'Z', name: 'isApprox' }, { code: 'L', name: 'histogram', type: 'Lscala/Option;' }, { code: 'L', name: 'sketch', type: 'Lscala/Option;' }],
  superDesc: null
}

/** The IR's content: exactly one of hist (entries in iteration order, with the map's table length and threshold) / sketch. */
export interface ChrononApproxHistogramIr {
  readonly isApprox: boolean
  readonly hist: { readonly capacity: number, readonly threshold: number, readonly entries: ReadonlyArray<readonly [Item, number]> } | null
  /** Item type id byte ‖ ItemsSketch bytes, as FrequentItems.normalize stores them. */
  readonly sketch: Uint8Array | null
}

export class JavaSerializationError extends TilekilnError {
  constructor (message: string) {
    super('TK_INPUT', `APPROX_HISTOGRAM_K IR (Java serialization): ${message}`)
  }
}

// ---- writing -------------------------------------------------------------------------------------------------------

class Out {
  #buf = new Uint8Array(256)
  #dv = new DataView(this.#buf.buffer)
  pos = 0

  #room (n: number): void {
    if (this.pos + n <= this.#buf.length) return
    const b = new Uint8Array(Math.max(this.#buf.length * 2, this.pos + n))
    b.set(this.#buf.subarray(0, this.pos))
    this.#buf = b
    this.#dv = new DataView(b.buffer)
  }

  u8 (v: number): void { this.#room(1); this.#buf[this.pos++] = v }
  u16 (v: number): void { this.#room(2); this.#dv.setUint16(this.pos, v); this.pos += 2 }
  i32 (v: number): void { this.#room(4); this.#dv.setInt32(this.pos, v); this.pos += 4 }
  i64 (v: bigint): void { this.#room(8); this.#dv.setBigInt64(this.pos, v); this.pos += 8 }
  f32 (v: number): void { this.#room(4); this.#dv.setFloat32(this.pos, v); this.pos += 4 }
  f64 (v: number): void { this.#room(8); this.#dv.setFloat64(this.pos, v); this.pos += 8 }
  raw (b: Uint8Array): void { this.#room(b.length); this.#buf.set(b, this.pos); this.pos += b.length }
  bytes (): Uint8Array { return this.#buf.slice(0, this.pos) }
}

/** Java's modified UTF-8 of a JS string (UTF-16 code units, lone surrogates included). */
function modifiedUtf8 (s: string): Uint8Array {
  const out: number[] = []
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x01 && c <= 0x7f) out.push(c)
    else if (c <= 0x7ff) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f))
    else out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f))
  }
  return Uint8Array.from(out)
}

class Writer {
  readonly out = new Out()
  #next = 0
  readonly #descs = new Map<string, number>()
  readonly #typeStrings = new Map<string, number>()
  readonly #cachedLongs = new Map<bigint, number>()

  #handle (): number { return this.#next++ }

  desc (d: ClassDesc | null): void {
    const o = this.out
    if (d === null) { o.u8(TC_NULL); return }
    const h = this.#descs.get(d.name)
    if (h !== undefined) { o.u8(TC_REFERENCE); o.i32(BASE_HANDLE + h); return }
    o.u8(TC_CLASSDESC)
    this.#utf(d.name)
    o.i64(d.suid)
    this.#descs.set(d.name, this.#handle())
    o.u8(d.flags)
    o.u16(d.fields.length)
    for (const f of d.fields) {
      o.u8(f.code.charCodeAt(0))
      this.#utf(f.name)
      if (f.type !== undefined) this.#typeString(f.type)
    }
    o.u8(TC_ENDBLOCKDATA) // no class annotation
    this.desc(d.superDesc)
  }

  #utf (s: string): void {
    const b = modifiedUtf8(s)
    this.out.u16(b.length)
    this.out.raw(b)
  }

  #typeString (s: string): void {
    const h = this.#typeStrings.get(s)
    if (h !== undefined) { this.out.u8(TC_REFERENCE); this.out.i32(BASE_HANDLE + h); return }
    this.out.u8(TC_STRING)
    this.#utf(s)
    this.#typeStrings.set(s, this.#handle())
  }

  /** A new String object (map keys are distinct objects). */
  string (s: string): void {
    const b = modifiedUtf8(s)
    if (b.length <= 0xffff) {
      this.out.u8(TC_STRING)
      this.out.u16(b.length)
    } else {
      this.out.u8(TC_LONGSTRING)
      this.out.i64(BigInt(b.length))
    }
    this.out.raw(b)
    this.#handle()
  }

  /** Begins an object of class d (descriptor, then its handle); the caller writes the field values. */
  object (d: ClassDesc): void {
    this.out.u8(TC_OBJECT)
    this.desc(d)
    this.#handle()
  }

  long (v: bigint): void {
    const cached = v >= -128n && v <= 127n
    if (cached) {
      const h = this.#cachedLongs.get(v)
      if (h !== undefined) { this.out.u8(TC_REFERENCE); this.out.i32(BASE_HANDLE + h); return }
      this.#cachedLongs.set(v, this.#next + this.#descsToWrite(LONG))
    }
    this.object(LONG)
    this.out.i64(v)
  }

  /** Handles that writing d's descriptor (and its supers) will take before the object's own handle. */
  #descsToWrite (d: ClassDesc | null): number {
    let n = 0
    for (let c = d; c !== null && !this.#descs.has(c.name); c = c.superDesc) n++
    return n
  }

  double (v: number): void {
    this.object(DOUBLE)
    this.out.f64(v) // DataView writes NaN as the canonical 0x7ff8000000000000, as Double.doubleToLongBits does
  }

  byteArray (b: Uint8Array): void {
    this.out.u8(TC_ARRAY)
    this.desc(BYTES)
    this.#handle()
    this.out.i32(b.length)
    this.out.raw(b)
  }
}

/** ObjectOutputStream.writeObject(ApproxHistogramIrSerializable(...)) as the JVM writes it. */
export function writeChrononApproxHistogramIr (ir: ChrononApproxHistogramIr, type: ItemType): Uint8Array {
  const w = new Writer()
  w.out.u16(MAGIC)
  w.out.u16(VERSION)
  w.object(IR)
  w.out.u8(ir.isApprox ? 1 : 0)
  // histogram
  if (ir.hist === null) {
    w.object(NONE)
  } else {
    w.object(SOME)
    w.object(HASH_MAP)
    w.out.f32(0.75)
    w.out.i32(ir.hist.threshold)
    w.out.u8(TC_BLOCKDATA)
    w.out.u8(8)
    w.out.i32(ir.hist.capacity)
    w.out.i32(ir.hist.entries.length)
    for (const [item, count] of ir.hist.entries) {
      if (type === 'string') w.string(item as string)
      else if (type === 'long') w.long(BigInt(item as number | bigint))
      else w.double(item as number)
      w.long(BigInt(count))
    }
    w.out.u8(TC_ENDBLOCKDATA)
  }
  // sketch
  if (ir.sketch === null) {
    w.object(NONE)
  } else {
    w.object(SOME)
    w.byteArray(ir.sketch)
  }
  return w.out.bytes()
}

// ---- reading -------------------------------------------------------------------------------------------------------

interface JavaObject { readonly cls: ReadDesc, readonly fields: Map<string, unknown>, readonly annotation: unknown[] }
interface ReadDesc { readonly name: string, readonly flags: number, readonly fields: readonly FieldDesc[], readonly superDesc: ReadDesc | null }
class BlockData { constructor (readonly bytes: Uint8Array) {} }
const END = Symbol('TC_ENDBLOCKDATA')

class Reader {
  readonly #b: Uint8Array
  readonly #dv: DataView
  #pos = 0
  readonly #handles: unknown[] = []

  constructor (b: Uint8Array) {
    this.#b = b
    this.#dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  }

  #need (n: number): void { if (this.#pos + n > this.#b.length) throw new JavaSerializationError('truncated stream') }
  u8 (): number { this.#need(1); return this.#b[this.#pos++]! }
  u16 (): number { this.#need(2); const v = this.#dv.getUint16(this.#pos); this.#pos += 2; return v }
  i32 (): number { this.#need(4); const v = this.#dv.getInt32(this.#pos); this.#pos += 4; return v }
  i64 (): bigint { this.#need(8); const v = this.#dv.getBigInt64(this.#pos); this.#pos += 8; return v }
  raw (n: number): Uint8Array { this.#need(n); const v = this.#b.slice(this.#pos, this.#pos + n); this.#pos += n; return v }
  get done (): boolean { return this.#pos === this.#b.length }

  #utf (n: number): string {
    const b = this.raw(n)
    let s = ''
    for (let i = 0; i < b.length;) {
      const x = b[i]!
      if (x < 0x80) { s += String.fromCharCode(x); i++ } else if ((x & 0xe0) === 0xc0) {
        s += String.fromCharCode(((x & 0x1f) << 6) | (b[i + 1]! & 0x3f)); i += 2
      } else if ((x & 0xf0) === 0xe0) {
        s += String.fromCharCode(((x & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f)); i += 3
      } else {
        throw new JavaSerializationError(`bad modified UTF-8 byte 0x${x.toString(16)}`)
      }
    }
    return s
  }

  #ref (): unknown {
    const h = this.i32() - BASE_HANDLE
    if (h < 0 || h >= this.#handles.length) throw new JavaSerializationError(`reference to unknown handle 0x${(h + BASE_HANDLE).toString(16)}`)
    return this.#handles[h]
  }

  desc (): ReadDesc | null {
    const tc = this.u8()
    if (tc === TC_NULL) return null
    if (tc === TC_REFERENCE) return this.#ref() as ReadDesc
    if (tc !== TC_CLASSDESC) throw new JavaSerializationError(`expected a class descriptor, found 0x${tc.toString(16)}`)
    const name = this.#utf(this.u16())
    this.i64() // serialVersionUID: a JVM reading our bytes checks it; we identify classes by name
    const h = this.#handles.length
    this.#handles.push(null)
    const flags = this.u8()
    const n = this.u16()
    const fields: FieldDesc[] = []
    for (let i = 0; i < n; i++) {
      const code = String.fromCharCode(this.u8())
      const fname = this.#utf(this.u16())
      if (code === 'L' || code === '[') fields.push({ code, name: fname, type: this.object() as string })
      else fields.push({ code, name: fname })
    }
    while (this.#annotationItem() !== END) { /* class annotations: skipped */ }
    const d: ReadDesc = { name, flags, fields, superDesc: null }
    this.#handles[h] = d
    ;(d as { superDesc: ReadDesc | null }).superDesc = this.desc()
    return d
  }

  #annotationItem (): unknown {
    const tc = this.#b[this.#pos]
    if (tc === TC_ENDBLOCKDATA) { this.#pos++; return END }
    if (tc === TC_BLOCKDATA) { this.#pos++; return new BlockData(this.raw(this.u8())) }
    if (tc === TC_BLOCKDATALONG) { this.#pos++; return new BlockData(this.raw(this.i32())) }
    return this.object()
  }

  object (): unknown {
    const tc = this.u8()
    switch (tc) {
      case TC_NULL: return null
      case TC_REFERENCE: return this.#ref()
      case TC_STRING: { const s = this.#utf(this.u16()); this.#handles.push(s); return s }
      case TC_LONGSTRING: { const n = this.i64(); if (n > 0x7fffffffn) throw new JavaSerializationError('string too long'); const s = this.#utf(Number(n)); this.#handles.push(s); return s }
      case TC_ARRAY: {
        const d = this.desc()
        if (d === null || d.name !== '[B') throw new JavaSerializationError(`unexpected array class ${d?.name ?? 'null'}`)
        const h = this.#handles.length
        this.#handles.push(null)
        const a = this.raw(this.i32())
        this.#handles[h] = a
        return a
      }
      case TC_OBJECT: {
        const d = this.desc()
        if (d === null) throw new JavaSerializationError('an object without a class')
        const obj: JavaObject = { cls: d, fields: new Map(), annotation: [] }
        this.#handles.push(obj)
        const chain: ReadDesc[] = []
        for (let c: ReadDesc | null = d; c !== null; c = c.superDesc) chain.unshift(c)
        for (const c of chain) {
          for (const f of c.fields) obj.fields.set(f.name, this.#value(f.code))
          if ((c.flags & SC_WRITE_METHOD) !== 0) {
            for (let item = this.#annotationItem(); item !== END; item = this.#annotationItem()) obj.annotation.push(item)
          }
        }
        return obj
      }
      default: throw new JavaSerializationError(`unsupported stream element 0x${tc.toString(16)}`)
    }
  }

  #value (code: string): unknown {
    switch (code) {
      case 'Z': return this.u8() !== 0
      case 'B': return (this.u8() << 24) >> 24
      case 'C': return this.u16()
      case 'S': return (this.u16() << 16) >> 16
      case 'I': return this.i32()
      case 'J': return this.i64()
      case 'F': { this.#need(4); const v = this.#dv.getFloat32(this.#pos); this.#pos += 4; return v }
      case 'D': { this.#need(8); const v = this.#dv.getFloat64(this.#pos); this.#pos += 8; return v }
      default: return this.object()
    }
  }
}

function isObject (v: unknown, cls: string): v is JavaObject {
  return typeof v === 'object' && v !== null && 'cls' in v && (v as JavaObject).cls.name === cls
}

/** The Option's content: null for None$, the value for Some. */
function option (v: unknown, what: string): unknown {
  if (isObject(v, 'scala.None$')) return null
  if (isObject(v, 'scala.Some')) return v.fields.get('value')
  throw new JavaSerializationError(`${what} is not a scala.Option`)
}

function kindOf (v: unknown): string {
  if (typeof v === 'string') return 'string'
  if (isObject(v, 'java.lang.Long')) return 'long'
  if (isObject(v, 'java.lang.Double')) return 'double'
  return typeof v === 'object' && v !== null && 'cls' in v ? (v as JavaObject).cls.name : typeof v
}

function boxed (v: unknown, type: ItemType | 'count'): Item {
  if (type !== 'count' && kindOf(v) !== type) throw new JavaSerializationError(`the IR holds ${kindOf(v)} items, expected ${type}`)
  if (type === 'string') return v as string
  if (type === 'double') return (v as JavaObject).fields.get('value') as number
  if (!isObject(v, 'java.lang.Long')) throw new JavaSerializationError('a histogram count is not a java.lang.Long')
  const n = v.fields.get('value') as bigint
  return n >= -(2n ** 53n) && n <= 2n ** 53n ? Number(n) : n
}

/** Whether the bytes are a Java serialization stream (as opposed to tilekiln's earlier APPROX_HISTOGRAM_K encoding). */
export function isJavaSerialization (b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0xac && b[1] === 0xed && b[2] === 0x00 && b[3] === VERSION
}

/** ObjectInputStream.readObject of an ApproxHistogramIrSerializable: its content, entries in stream order. */
export function readChrononApproxHistogramIr (bytes: Uint8Array, type: ItemType): ChrononApproxHistogramIr {
  if (!isJavaSerialization(bytes)) throw new JavaSerializationError('not a Java serialization stream (no aced0005 header)')
  const r = new Reader(bytes)
  r.u16(); r.u16()
  const top = r.object()
  if (!isObject(top, CHRONON_IR_CLASS)) throw new JavaSerializationError(`the object is not a ${CHRONON_IR_CLASS}`)
  if (!r.done) throw new JavaSerializationError('trailing bytes after the object')
  const isApprox = top.fields.get('isApprox') === true
  const map = option(top.fields.get('histogram'), 'histogram')
  const sketch = option(top.fields.get('sketch'), 'sketch')
  let hist: ChrononApproxHistogramIr['hist'] = null
  if (map !== null) {
    if (!isObject(map, 'java.util.HashMap')) throw new JavaSerializationError('the histogram is not a java.util.HashMap')
    const [head, ...objects] = map.annotation
    if (!(head instanceof BlockData) || head.bytes.length !== 8) throw new JavaSerializationError('a HashMap without its capacity and size')
    const dv = new DataView(head.bytes.buffer, head.bytes.byteOffset, 8)
    const capacity = dv.getInt32(0)
    const size = dv.getInt32(4)
    if (objects.length !== 2 * size) throw new JavaSerializationError(`a HashMap of ${size} entries holds ${objects.length} objects`)
    const entries: Array<[Item, number]> = []
    for (let i = 0; i < size; i++) entries.push([boxed(objects[2 * i], type), Number(boxed(objects[2 * i + 1], 'count'))])
    hist = { capacity, threshold: map.fields.get('threshold') as number, entries }
  }
  if (sketch !== null && !(sketch instanceof Uint8Array)) throw new JavaSerializationError('the sketch is not a byte[]')
  if ((hist === null) === (sketch === null)) throw new JavaSerializationError('exactly one of histogram and sketch must be set')
  return { isApprox, hist, sketch: sketch as Uint8Array | null }
}
