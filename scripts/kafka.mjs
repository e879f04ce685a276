// The local broker users run the daemon against: `npm run kafka:start` / `npm run kafka:stop` (and `status`).
// Same code as the test harness (dist/test/services/kafka.js), but detached, on 127.0.0.1:$KAFKA_PORT (default 9092),
// with its data, config and log under .kafka/ so topics survive a stop/start.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dir = join(root, '.kafka')
const pidFile = join(dir, 'kafka.pid')
const cmd = process.argv[2] ?? 'status'

function runningPid () {
  if (!existsSync(pidFile)) return null
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  if (!Number.isInteger(pid) || pid <= 0) return null
  try {
    // The pid file can outlive a reboot; only a live process that is our Kafka counts.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    return cmdline.includes('kafka.Kafka') && cmdline.includes(dir) ? pid : null
  } catch {
    return null
  }
}

const brokersFile = join(dir, 'brokers')
const services = await import(pathToFileURL(join(root, 'dist', 'test', 'services', 'kafka.js')).href)

if (cmd === 'start') {
  const pid = runningPid()
  if (pid !== null) {
    console.log(`Kafka is already running (pid ${pid}) on ${readFileSync(brokersFile, 'utf8').trim()}; log ${join(dir, 'server.log')}`)
    process.exit(0)
  }
  const port = Number(process.env.KAFKA_PORT ?? 9092)
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    console.error(`KAFKA_PORT must be a port number, not ${process.env.KAFKA_PORT}`)
    process.exit(2)
  }
  try {
    const k = await services.startKafka({ dir, port, detached: true })
    writeFileSync(pidFile, `${k.pid}\n`)
    writeFileSync(brokersFile, `${k.brokers}\n`)
    console.log(`Kafka is running on ${k.brokers} (pid ${k.pid}); data and log in ${dir}; stop it with: npm run kafka:stop`)
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e))
    process.exit(1)
  }
} else if (cmd === 'stop') {
  const pid = runningPid()
  if (pid === null) {
    console.log('Kafka is not running')
  } else {
    const { terminate } = await import(pathToFileURL(join(root, 'dist', 'test', 'services', 'process.js')).href)
    await terminate(pid, 30_000)
    console.log(`Kafka (pid ${pid}) stopped; its data stays in ${dir} (delete it for a fresh broker)`)
  }
  rmSync(pidFile, { force: true })
} else if (cmd === 'status') {
  const pid = runningPid()
  console.log(pid === null ? 'Kafka is not running' : `Kafka is running on ${readFileSync(brokersFile, 'utf8').trim()} (pid ${pid})`)
  process.exit(pid === null ? 1 : 0)
} else {
  console.error('usage: node scripts/kafka.mjs start|stop|status   (KAFKA_PORT, default 9092)')
  process.exit(2)
}
