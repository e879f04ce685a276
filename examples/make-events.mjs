// Writes the example event files in examples/events/ (committed; rerun after changing this script):
//   node examples/make-events.mjs
// Seeded, so the same files every time. Event times fall in November 2023, the last ones on 2023-11-30, so the
// README's fetches at 2023-12-01 see every window filled.
import { writeFileSync } from 'node:fs'

let seed = 20231201
/** xorshift32 in [0, 1) */
function rnd () { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) / 4294967296 }
const int = n => Math.floor(rnd() * n)
const pick = xs => xs[int(xs.length)]
const id = () => Array.from({ length: 4 }, () => int(65536).toString(16).padStart(4, '0')).join('-').toUpperCase()
const END = Date.UTC(2023, 10, 30, 23, 0, 0)
const DAY = 86_400_000
/** n event times spread over `days` days before END, in no particular order (files need not be sorted). */
const times = (n, days) => Array.from({ length: n }, () => END - int(days * DAY))
const dir = new URL('./events/', import.meta.url)

// returns.csv: the quickstart's shape (a refund per returned order), 40 users over 30 days.
{
  const lines = ['ts,return_id,user_id,product_id,refund_amt']
  for (const ts of times(300, 30)) lines.push(`${ts},${id()},${int(40)},${int(100)},${10 + int(490)}`)
  writeFileSync(new URL('returns.csv', dir), lines.join('\n') + '\n')
}

// orders.jsonl: 25 users over 10 days; amounts with cents, a product name, an item count.
{
  const products = ['kettle', 'lamp', 'mug', 'notebook', 'pen', 'plant', 'scarf', 'teapot', 'towel', 'vase']
  const lines = times(500, 10).map(ts => JSON.stringify({
    ts, order_id: id(), user_id: 100 + int(25), product: pick(products), amount: Math.round((2 + rnd() * 120) * 100) / 100, items: 1 + int(4)
  }))
  writeFileSync(new URL('orders.jsonl', dir), lines.join('\n') + '\n')
}

// page_views.jsonl: 20 users over 2 days, with what the wheres drop (no user, negative dwell time, health checks)
// and nulls the selects fill in (no device).
{
  const pages = ['Home', 'Search', 'Product', 'Cart', 'Checkout', 'Healthcheck']
  const devices = ['mobile', 'desktop', 'tablet', null]
  const lines = times(400, 2).map(ts => JSON.stringify({
    ts,
    user_id: rnd() < 0.03 ? null : 1000 + int(20),
    page: pick(pages),
    dwell_ms: rnd() < 0.03 ? -1 : 200 + int(60_000),
    device: pick(devices),
    scroll_depths: Array.from({ length: 1 + int(3) }, () => Math.round(rnd() * 100) / 100)
  }))
  writeFileSync(new URL('page_views.jsonl', dir), lines.join('\n') + '\n')
}
