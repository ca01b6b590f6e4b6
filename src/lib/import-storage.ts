// Durable storage of uploaded import files under IMPORT_DIR: streamed to a temporary name (never held in memory),
// fsynced, and renamed into the import's own folder before the import row is committed.
import { randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import createError from '@fastify/error'

/** A file over IMPORT_MAX_FILE_BYTES: 429, as HubSpot answers an import over its size or row limit. */
export const ImportFileTooLargeError = createError('IMPORT_FILE_TOO_LARGE', '%s', 429)

const INCOMING = '.incoming'

/** IMPORT_DIR, or `<DATA_DIR>/imports` (a folder under the OS temp dir when DATA_DIR is memory://). */
export function resolveImportDir (config: { IMPORT_DIR?: string, DATA_DIR: string }): string {
  if (config.IMPORT_DIR !== undefined) return resolve(config.IMPORT_DIR)
  if (config.DATA_DIR.startsWith('memory://')) return join(tmpdir(), 'associations-api-imports')
  return resolve(config.DATA_DIR, 'imports')
}

/** A file received and fsynced under a temporary name, not yet part of an import. */
export interface TempUpload {
  tempPath: string
  bytes: number
}

/** Counts bytes as they pass and fails the stream as soon as there are more than `max`. */
function byteLimit (max: number, fileName: string, counted: { bytes: number }): Transform {
  return new Transform({
    transform (chunk: Buffer, _encoding, done) {
      counted.bytes += chunk.length
      if (counted.bytes > max) {
        done(new ImportFileTooLargeError(`The file ${fileName} is larger than the limit of ${max} bytes (IMPORT_MAX_FILE_BYTES)`))
        return
      }
      done(null, chunk)
    }
  })
}

async function syncDir (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Streams `source` to `<dir>/.incoming/<uuid>.part` and fsyncs it. Over `maxBytes` it stops reading, removes the
 * partial file and throws ImportFileTooLargeError (429). `truncated` says whether the source was cut short by a
 * parser limit (a multipart fileSize limit set just above `maxBytes` shows as truncated).
 */
export async function storeTempUpload (dir: string, fileName: string, source: Readable, maxBytes: number, truncated: () => boolean = () => false): Promise<TempUpload> {
  const incoming = join(dir, INCOMING)
  await mkdir(incoming, { recursive: true })
  const tempPath = join(incoming, `${randomUUID()}.part`)
  const counted = { bytes: 0 }
  try {
    // flush: the file is fsynced before the stream closes.
    await pipeline(source, byteLimit(maxBytes, fileName, counted), createWriteStream(tempPath, { flush: true }))
    if (truncated()) throw new ImportFileTooLargeError(`The file ${fileName} is larger than the limit of ${maxBytes} bytes (IMPORT_MAX_FILE_BYTES)`)
  } catch (err) {
    await unlink(tempPath).catch(() => {})
    throw err
  }
  return { tempPath, bytes: counted.bytes }
}

/** Moves temporary uploads into a new folder of their own (`<dir>/<uuid>/<i>.csv`), durably; returns the paths. */
export async function commitUploads (dir: string, uploads: TempUpload[]): Promise<{ folder: string, paths: string[] }> {
  const folder = join(dir, randomUUID())
  await mkdir(folder, { recursive: true })
  const paths: string[] = []
  try {
    for (const [i, upload] of uploads.entries()) {
      const path = join(folder, `${i}.csv`)
      await rename(upload.tempPath, path)
      paths.push(path)
    }
    await syncDir(folder)
    await syncDir(dir)
  } catch (err) {
    await rm(folder, { recursive: true, force: true })
    throw err
  }
  return { folder, paths }
}

/** Removes temporary uploads (a failed request). */
export async function discardTempUploads (uploads: TempUpload[]): Promise<void> {
  await Promise.all(uploads.map(async (u) => { await unlink(u.tempPath).catch(() => {}) }))
}

/** Removes an import's stored files and their folder (once the import is finished). Never throws. */
export async function removeStoredFiles (paths: string[]): Promise<void> {
  const folders = new Set<string>()
  for (const path of paths) {
    await unlink(path).catch(() => {})
    folders.add(join(path, '..'))
  }
  for (const folder of folders) await rm(folder, { recursive: true, force: true }).catch(() => {})
}

/** Removes temporary uploads older than `maxAgeMs` (left by a process that died mid-upload). Never throws. */
export async function sweepIncoming (dir: string, maxAgeMs: number): Promise<number> {
  const incoming = join(dir, INCOMING)
  let removed = 0
  let names: string[]
  try {
    names = await readdir(incoming)
  } catch {
    return 0
  }
  for (const name of names) {
    const path = join(incoming, name)
    try {
      if (Date.now() - (await stat(path)).mtimeMs > maxAgeMs) {
        await unlink(path)
        removed++
      }
    } catch {}
  }
  return removed
}
