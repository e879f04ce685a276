// ICON estimator (the estimate of a merged sketch): the N whose expected coupon count is C, approximated as in
// DataSketches by C · P_lgK(C / 2K) · (1 + (C/K)^3 / 66.774757) with a degree-19 polynomial per lgK for C ≤ 5.7K
// (5.6K from lgK 14), and 0.7940236163830469 · K · 2^(C/K) above. Never below C; 0 and 1 map to themselves.

import { ICON_COEFFICIENTS } from './tables'

export function iconEstimate (lgK: i32, c: u64): f64 {
  if (c < 2) return c == 0 ? 0.0 : 1.0
  const k = <f64>(1 << lgK)
  const dc = <f64>c
  const threshold = lgK < 14 ? 5.7 : 5.6
  if (dc > threshold * k) return 0.7940236163830469 * k * Math.pow(2.0, dc / k)
  const base = changetype<usize>(ICON_COEFFICIENTS) + (<usize>(20 * (lgK - 4)) << 3)
  const x = dc / (2.0 * k)
  let total = load<f64>(base + (19 << 3))
  for (let j = 18; j >= 0; j--) {
    total *= x
    total += load<f64>(base + (<usize>j << 3))
  }
  const ratio = dc / k
  const term = 1.0 + (ratio * ratio * ratio) / 66.774757
  const result = dc * total * term
  return result >= dc ? result : dc
}
