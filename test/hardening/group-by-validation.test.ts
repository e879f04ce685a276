// Hardening, GroupBy validation (issue 12, item 9): of 119 malformed GroupBys, 14 failed with untagged internal
// errors and no JSON path (`windows: "x"` → "(a.windows ?? []).map is not a function", `sources: [null]`,
// `operation: 1.5`, a 100k-deep ignored field overflowing the stack), windows of length 0 or −3 silently became
// unbounded and 1e308 was accepted. Here a generator mutates every field of the real GroupBys (Chronon's compiled
// samples and examples/) into wrong shapes and values; each mutant must either run (plan, bind, clone to a worker)
// or be refused with a TK code and the JSON path of what is wrong — never a TypeError, RangeError or stack overflow.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { bindGroupBy } from '../../src/config/bind.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { isTilekilnError } from '../../src/errors.ts'
import { queryCompiler } from '../../src/expr/index.ts'
import { DEFAULT_GENERATOR, generatorSchema } from '../../src/source/generator.ts'
import { tilekiln } from '../helpers/cli.ts'
import { referencePath, repoRoot } from '../helpers/reference.ts'

function filesUnder (dir: string): string[] {
  const out: string[] = []
  for (const f of readdirSync(dir)) {
    const p = join(dir, f)
    if (statSync(p).isDirectory()) out.push(...filesUnder(p))
    else if (!p.endsWith('.py')) out.push(p)
  }
  return out
}

const REAL = [...filesUnder(referencePath('chronon', 'group_bys')), join(repoRoot, 'examples', 'group_bys', 'clicks.v1.json')]
  .map(path => ({ path, json: JSON.parse(readFileSync(path, 'utf8')) as unknown }))

type Path = (string | number)[]

/** Every path to a value inside `v` (objects and arrays, depth first), the root excluded. */
function paths (v: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const p = [...at, Array.isArray(v) ? Number(k) : k]
      out.push(p)
      paths(x, p, out)
    }
  }
  return out
}

/** A deep copy of `root` with the value at `path` replaced (or deleted when `value` is DELETE). */
const DELETE = Symbol('delete')
function mutate (root: unknown, path: Path, value: unknown): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>
  let o = copy
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>
  const last = path[path.length - 1]!
  if (value === DELETE) { if (Array.isArray(o)) o.splice(Number(last), 1); else delete o[last] } else o[last] = value
  return copy
}

function deep (levels: number): unknown {
  let v: unknown = 1
  for (let i = 0; i < levels; i++) v = [v]
  return v
}

const WRONG: unknown[] = [DELETE, null, 'x', '', 1.5, -3, 0, 1e308, true, [], {}, [null], [1.5], { a: {} }]

/** What the engine does with a GroupBy before any record: plan, bind to an input schema, clone to a worker. */
function start (groupBy: unknown): void {
  const plan = compilePlan(groupBy)
  structuredClone(groupBy)
  JSON.stringify(groupBy)
  // The input schema the generator derives from the plan (a computed key leaves it none to derive: then the
  // GroupBy is only planned, which is where its shape is judged).
  let schema
  try {
    schema = generatorSchema(plan, DEFAULT_GENERATOR).schema
  } catch (e) {
    if (isTilekilnError(e) && e.code === 'TK_USAGE') return
    throw e
  }
  bindGroupBy(plan, schema, queryCompiler('spark'))
}

/** Runs `start` and returns null when it ran or was refused properly, else what went wrong. */
function judge (groupBy: unknown): string | null {
  try {
    start(groupBy)
    return null
  } catch (e) {
    if (!isTilekilnError(e)) return `untagged ${(e as Error).name}: ${(e as Error).message}`
    const path = e.context.path
    if (typeof path !== 'string' || path.length === 0) return `${e.code} without a JSON path: ${e.message}`
    if (!['TK_CONFIG', 'TK_EXPR_PARSE', 'TK_EXPR_TYPE'].includes(e.code)) return `code ${e.code}: ${e.message}`
    return null
  }
}

test('every mutation of every field of the real GroupBys runs or is refused with a TK code and its JSON path', () => {
  let mutants = 0
  const failures: string[] = []
  for (const { path, json } of REAL) {
    for (const p of paths(json)) {
      for (const value of WRONG) {
        mutants++
        const why = judge(mutate(json, p, value))
        if (why !== null && failures.length < 40) failures.push(`${path.split('/').slice(-2).join('/')} ${p.join('.')} = ${typeof value === 'symbol' ? '(deleted)' : JSON.stringify(value)}: ${why}`)
      }
    }
  }
  assert.ok(mutants > 5000, `${mutants} mutants`)
  assert.deepEqual(failures, [])
})

test('the reported shapes are refused with their paths; windows of length 0, −3, 1.5 or 1e308 are never unbounded', () => {
  const base = JSON.parse(readFileSync(join(repoRoot, 'examples', 'group_bys', 'clicks.v1.json'), 'utf8')) as Record<string, any>
  const cases: [Path, unknown, RegExp, string][] = [
    [['aggregations', 0, 'windows'], 'x', /windows must be a list/, 'aggregations[0].windows'],
    [['sources'], [null], /a source must be an object/, 'sources[0]'],
    [['aggregations', 0, 'operation'], 1.5, /operation must be an integer/, 'aggregations[0].operation'],
    [['aggregations', 0, 'windows', 0, 'length'], 0, /window length must be a positive integer/, 'aggregations[0].windows[0].length'],
    [['aggregations', 0, 'windows', 0, 'length'], -3, /window length must be a positive integer/, 'aggregations[0].windows[0].length'],
    [['aggregations', 0, 'windows', 0, 'length'], 1.5, /window length must be a positive integer/, 'aggregations[0].windows[0].length'],
    [['aggregations', 0, 'windows', 0, 'length'], 1e308, /window length must be a positive integer/, 'aggregations[0].windows[0].length'],
    [['aggregations', 0, 'windows', 0, 'length'], 2147483646, /longer than 10,000 years/, 'aggregations[0].windows[0].length'],
    [['metaData', 'extra'], deep(100_000), /nested deeper than 64 levels/, 'metaData.extra[0][0]']
  ]
  for (const [p, value, message, at] of cases) {
    assert.throws(() => start(mutate(base, p, value)), (e: unknown) => {
      assert.ok(isTilekilnError(e), `${p.join('.')}: ${String(e)}`)
      assert.equal(e.code, 'TK_CONFIG')
      assert.match(e.message, message)
      assert.ok(String(e.context.path).startsWith(at), `${String(e.context.path)} starts with ${at}`)
      return true
    }, p.join('.'))
  }
  // Chronon's marker for an unbounded window (Int.MaxValue) still is one.
  const unbounded = compilePlan(mutate(base, ['aggregations', 0, 'windows', 0, 'length'], 2147483647))
  assert.equal(unbounded.aggregations[0]!.windows[0]!.unbounded, true)
})

test('tilekiln constructor --help (an Object.prototype name) is an unknown command, not a TypeError', async () => {
  for (const name of ['constructor', '__proto__', 'toString']) {
    const r = await tilekiln([name, '--help'])
    assert.equal(r.code, 2, `${name}: ${r.stderr}`)
    assert.match(r.stderr, new RegExp(`unknown command '${name}'`))
    assert.doesNotMatch(r.stderr, /TypeError/)
  }
})
