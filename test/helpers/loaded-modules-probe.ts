// Loaded with `node --import` ahead of the code under test: records the URL of every ES module the process resolves
// and writes them, one a line, to LOADED_MODULES_FILE when the process exits. Tests use it to show what was NOT loaded.
import { writeFileSync } from 'node:fs'
import { register } from 'node:module'
import { MessageChannel } from 'node:worker_threads'

const output = process.env.LOADED_MODULES_FILE
if (output === undefined) throw new Error('LOADED_MODULES_FILE is not set')
const urls = new Set<string>()
const { port1, port2 } = new MessageChannel()
port1.on('message', (url: string) => { urls.add(url) })
port1.unref()
register('./loaded-modules-hooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] })
process.on('exit', () => { writeFileSync(output, [...urls].join('\n')) })
