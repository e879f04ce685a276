// get_json_object: Spark's JSON path subset ($, .name, ['name'], [n], [*]) over a JSON text. Scalars come back
// as Spark prints them (strings unquoted, integers as written, fractions through Java's Double.toString), objects
// and arrays as compact JSON. Invalid JSON or a path that matches nothing is NULL. The parser is bounded in
// depth, so hostile event data cannot exhaust the stack.

import { doubleToString } from './numbers.ts'

type Json =
  | { t: 'str', v: string }
  | { t: 'num', raw: string, int: boolean }
  | { t: 'bool', v: boolean }
  | { t: 'null' }
  | { t: 'arr', v: Json[] }
  | { t: 'obj', v: [string, Json][] }

const MAX_DEPTH = 512

class JsonReader {
  i = 0
  constructor (readonly s: string) {}

  ws (): void {
    const s = this.s
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i)
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++
      else break
    }
  }

  value (depth: number): Json | null {
    if (depth > MAX_DEPTH) return null
    this.ws()
    const c = this.s[this.i]
    switch (c) {
      case '{': return this.object(depth)
      case '[': return this.array(depth)
      case '"': { const v = this.string(); return v === null ? null : { t: 'str', v } }
      case 't': return this.word('true', { t: 'bool', v: true })
      case 'f': return this.word('false', { t: 'bool', v: false })
      case 'n': return this.word('null', { t: 'null' })
      default: return this.number()
    }
  }

  word (w: string, v: Json): Json | null {
    if (!this.s.startsWith(w, this.i)) return null
    this.i += w.length
    return v
  }

  number (): Json | null {
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.i, this.i + 400))
    if (m === null || m[0] === '' || m[0] === '-') return null
    this.i += m[0].length
    return { t: 'num', raw: m[0], int: m[1] === undefined && m[2] === undefined }
  }

  string (): string | null {
    const s = this.s
    let out = ''
    let j = this.i + 1
    for (;;) {
      if (j >= s.length) return null
      const c = s[j]!
      if (c === '"') { this.i = j + 1; return out }
      if (c !== '\\') {
        let k = j + 1
        while (k < s.length && s[k] !== '"' && s[k] !== '\\') k++
        out += s.slice(j, k)
        j = k
        continue
      }
      const e = s[j + 1]
      switch (e) {
        case '"': case '\\': case '/': out += e; break
        case 'b': out += '\b'; break
        case 'f': out += '\f'; break
        case 'n': out += '\n'; break
        case 'r': out += '\r'; break
        case 't': out += '\t'; break
        case 'u': {
          const h = s.slice(j + 2, j + 6)
          if (!/^[0-9a-fA-F]{4}$/.test(h)) return null
          out += String.fromCharCode(parseInt(h, 16))
          j += 4
          break
        }
        default: return null
      }
      j += 2
    }
  }

  array (depth: number): Json | null {
    this.i++
    const v: Json[] = []
    this.ws()
    if (this.s[this.i] === ']') { this.i++; return { t: 'arr', v } }
    for (;;) {
      const x = this.value(depth + 1)
      if (x === null) return null
      v.push(x)
      this.ws()
      const c = this.s[this.i++]
      if (c === ']') return { t: 'arr', v }
      if (c !== ',') return null
    }
  }

  object (depth: number): Json | null {
    this.i++
    const v: [string, Json][] = []
    this.ws()
    if (this.s[this.i] === '}') { this.i++; return { t: 'obj', v } }
    for (;;) {
      this.ws()
      if (this.s[this.i] !== '"') return null
      const k = this.string()
      if (k === null) return null
      this.ws()
      if (this.s[this.i++] !== ':') return null
      const x = this.value(depth + 1)
      if (x === null) return null
      v.push([k, x])
      this.ws()
      const c = this.s[this.i++]
      if (c === '}') return { t: 'obj', v }
      if (c !== ',') return null
    }
  }
}

export type PathStep = { key: string } | { index: number } | { wildcard: true }

/** Parses a JSON path, or returns null (Spark's get_json_object returns NULL for an invalid path). */
export function parseJsonPath (path: string): PathStep[] | null {
  if (!path.startsWith('$')) return null
  const steps: PathStep[] = []
  let i = 1
  while (i < path.length) {
    if (path[i] === '.') {
      const m = /^\.([^.[\]]+)/.exec(path.slice(i))
      if (m === null) return null
      steps.push(m[1] === '*' ? { wildcard: true } : { key: m[1]! })
      i += m[0].length
    } else if (path[i] === '[') {
      const m = /^\[(?:(\d+)|(\*)|'([^']*)')\]/.exec(path.slice(i))
      if (m === null) return null
      steps.push(m[1] !== undefined ? { index: Number(m[1]) } : m[2] !== undefined ? { wildcard: true } : { key: m[3]! })
      i += m[0].length
    } else {
      return null
    }
  }
  return steps
}

export function getJsonObject (text: string, steps: readonly PathStep[]): string | null {
  const root = new JsonReader(text).value(0)
  if (root === null) return null
  let current: Json[] = [root]
  let wild = false
  for (const step of steps) {
    const next: Json[] = []
    for (const node of current) {
      if ('key' in step) {
        if (node.t === 'obj') { const e = node.v.find(([k]) => k === step.key); if (e !== undefined) next.push(e[1]) }
      } else if ('index' in step) {
        if (node.t === 'arr' && step.index < node.v.length) next.push(node.v[step.index]!)
      } else {
        wild = true
        if (node.t === 'arr') next.push(...node.v)
        else if (node.t === 'obj') next.push(...node.v.map(([, x]) => x))
      }
    }
    current = next
  }
  if (current.length === 0) return null
  if (wild && current.length > 1) return '[' + current.map(render).join(',') + ']'
  const v = current[0]!
  switch (v.t) {
    case 'str': return v.v
    case 'null': return null
    default: return render(v)
  }
}

function render (v: Json): string {
  switch (v.t) {
    case 'str': return quote(v.v)
    case 'num': return v.int ? v.raw : doubleToString(Number(v.raw))
    case 'bool': return v.v ? 'true' : 'false'
    case 'null': return 'null'
    case 'arr': return '[' + v.v.map(render).join(',') + ']'
    case 'obj': return '{' + v.v.map(([k, x]) => quote(k) + ':' + render(x)).join(',') + '}'
  }
}

function quote (s: string): string {
  return JSON.stringify(s)
}

/** json_array_length: number of elements of a top-level JSON array, NULL for anything else. */
export function jsonArrayLength (text: string): number | null {
  const v = new JsonReader(text).value(0)
  return v !== null && v.t === 'arr' ? v.v.length : null
}
