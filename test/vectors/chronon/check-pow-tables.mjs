// Compares the tables and constants src/agg/pow-tables.ts builds with those in OpenJDK's source of the stub, entry by
// entry, as bit patterns. Needs a build (npm run build) and a copy of the file, e.g. from a JDK source checkout:
//
//   node test/vectors/chronon/check-pow-tables.mjs path/to/src/hotspot/cpu/x86/macroAssembler_x86_pow.cpp
//
// Only the 64-bit (_LP64) tables are read. Exits 1 on any difference.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const t = await import(pathToFileURL(join(root, 'dist', 'src', 'agg', 'pow-tables.js')).href)
const source = readFileSync(process.argv[2], 'utf8')

/** The doubles of a `juint name[] = { lo, hi, lo, hi, … }` array, as 16-digit hex. */
function doubles (name) {
  const m = source.match(new RegExp(`juint ${name}\\[\\]\\s*=\\s*\\{([^}]*)\\}`))
  if (!m) throw new Error(`${name} not found`)
  const words = m[1].match(/0x[0-9a-f]+/gi).map(w => w.slice(2).toLowerCase().padStart(8, '0'))
  const out = []
  for (let i = 0; i < words.length; i += 2) out.push(words[i + 1] + words[i])
  return out
}
const view = new DataView(new ArrayBuffer(8))
function bits (x) { view.setFloat64(0, x); return view.getBigUint64(0).toString(16).padStart(16, '0') }

let differences = 0
function compare (what, ours, intel) {
  if (ours.length !== intel.length) { console.log(`${what}: ${ours.length} entries, Intel's has ${intel.length}`); differences++; return }
  let d = 0
  ours.forEach((x, i) => { if (bits(x) !== intel[i]) { d++; if (d <= 5) console.log(`${what}[${i}]: ${bits(x)}, Intel's ${intel[i]}`) } })
  console.log(`${what}: ${ours.length - d} of ${ours.length} identical`)
  differences += d
}
const coeff = doubles('_coeff_pow')
const eCoeff = doubles('_e_coeff')
const log2e = doubles('_LOG2_E')
compare('log table (_L_tbl_pow)', [...t.LOG2_TABLE], doubles('_L_tbl_pow'))
compare('exp table (_T_exp)', [...t.EXP2_TABLE], doubles('_T_exp'))
compare('log coefficients (_coeff_pow[0..7])',
  [t.LOG_R8, t.LOG_R6, t.LOG_R4, t.LOG_R2, t.LOG_R7, t.LOG_R5, t.LOG_R3, t.LOG2E_OVER_LH_MINUS_1], coeff.slice(0, 8))
compare('exp coefficients and ln 2 (_e_coeff[0..4])', [t.EXP_Z5, t.EXP_Z3, t.EXP_Z4, t.EXP_Z2, t.LN_2], eCoeff.slice(0, 5))
compare('LH and log2(e)/LH − 1 (_LOG2_E)', [t.LH, t.LOG2E_OVER_LH_MINUS_1], log2e)
process.exit(differences === 0 ? 0 : 1)
