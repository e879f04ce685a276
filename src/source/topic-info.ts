// Chronon's topic strings (§8, DataStreamBuilder / Zipline TopicInfo): `kafka://name/k=v/k=v`, `name/k=v`, or
// `name`. Zipline lets a parameter value contain a slash written as `//`.

export interface TopicInfo {
  readonly name: string
  readonly type: string
  readonly params: Readonly<Record<string, string>>
}

export function parseTopicInfo (topic: string): TopicInfo {
  let type = 'kafka'
  let rest = topic
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(topic)
  if (scheme !== null) {
    type = scheme[1]!
    rest = topic.slice(scheme[0].length)
  }
  // Split on single slashes only; `//` stands for a literal `/`.
  const parts: string[] = []
  let cur = ''
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '/') {
      if (rest[i + 1] === '/') { cur += '/'; i++; continue }
      parts.push(cur)
      cur = ''
    } else {
      cur += rest[i]
    }
  }
  parts.push(cur)
  const [name, ...kvs] = parts
  const params: Record<string, string> = {}
  for (const kv of kvs) {
    if (kv === '') continue
    const eq = kv.indexOf('=')
    if (eq < 0) params[kv] = ''
    else params[kv.slice(0, eq)] = kv.slice(eq + 1)
  }
  return { name: name ?? '', type, params }
}
