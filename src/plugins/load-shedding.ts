// Load shedding (@fastify/under-pressure): while the event loop lags or memory is past its threshold, API calls get a
// 503 with Retry-After and the HubSpot error body at once, instead of queueing until everything times out.
// Registered inside the API scope, so the health probes and the docs keep answering.
import { getHeapStatistics } from 'node:v8'
import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import type { Config } from '../config.js'

export default fp<{ config: Config }>(async (app, { config }) => {
  await app.register(underPressure, {
    maxEventLoopDelay: config.LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS,
    maxHeapUsedBytes: config.LOAD_SHED_MAX_HEAP_BYTES ?? Math.floor(getHeapStatistics().heap_size_limit * 0.9),
    maxRssBytes: config.LOAD_SHED_MAX_RSS_BYTES,
    sampleInterval: config.LOAD_SHED_SAMPLE_INTERVAL_MS,
    retryAfter: 5,
    message: 'The service is under heavy load; retry later'
  })
}, { name: 'load-shedding' })
