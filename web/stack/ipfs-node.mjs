/**
 * A local IPFS node for development: Helia's UnixFS (@helia/unixfs) over a disk block store
 * (blockstore-fs) under `dir`, so blocks survive restarts, and a small HTTP API the web app
 * talks to. There is no libp2p and no block broker: nothing is ever fetched from the network.
 *
 * Why not a `helia` node object: the `helia` package's entry point statically imports its
 * libp2p/HTTP stack, whose undici 8 needs Node >= 22.19 and throws on import under Node 20
 * (even for createHeliaLight). @helia/unixfs only needs a block store, which is all a
 * network-less node is anyway.
 *
 *   POST /api/v0/add   body: the raw file (not multipart) → {"cid": "…"}
 *   GET  /ipfs/<cid>   → the file's bytes; 404 if this node does not hold it, 400 if malformed
 *   GET  /api/health   → {"ok": true}
 *
 * Files are added with kerafold's chunking (web/src/cid.js), and every CID is checked against
 * cidOf: a bounty is only provable if the node's CID is the one `kerafold cid` computes.
 *
 * Run directly: `node web/stack/ipfs-node.mjs --dir D [--port 5001] [--host 127.0.0.1]`
 * prints one JSON line `{"ipfs": url}` once it listens.
 *
 * @module
 */

import { setMaxListeners } from 'node:events'
import { mkdir, realpath } from 'node:fs/promises'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { unixfs } from '@helia/unixfs'
import { FsBlockstore } from 'blockstore-fs'
import { CID } from 'multiformats/cid'
import { cidOf, importerOptions } from '../src/cid.js'

/** Largest file accepted by POST /api/v0/add. */
export const MAX_ADD_BYTES = 64 * 1024 * 1024

/** A request refused with an HTTP status (anything else is a 500). */
class HttpError extends Error {
  /** @param {number} status @param {string} message */
  constructor (status, message) {
    super(message)
    this.status = status
  }
}

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, HEAD, POST, OPTIONS',
  'Access-Control-Max-Age': '600'
}

/**
 * @param {import('node:http').ServerResponse} res
 * @param {number} status
 * @param {unknown} body
 */
function sendJson (res, status, body) {
  const text = JSON.stringify(body) + '\n'
  res.writeHead(status, {
    ...CORS,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text)
  })
  res.end(text)
}

/**
 * Reads a request body, refusing it (413) as soon as it exceeds `limit`.
 *
 * @param {import('node:http').IncomingMessage} req
 * @param {number} limit
 * @returns {Promise<Uint8Array>}
 */
async function readBody (req, limit) {
  const declared = Number(req.headers['content-length'])
  const tooLarge = () => new HttpError(413, `the file exceeds ${limit} bytes`)
  // refuse before reading anything when the client says up front
  if (declared > limit) throw tooLarge()
  const parts = []
  let size = 0
  for await (const part of req) {
    size += part.length
    if (size > limit) throw tooLarge()
    parts.push(part)
  }
  return Buffer.concat(parts, size)
}

/**
 * The CID named by `/ipfs/<cid>`.
 *
 * @param {string} pathname
 * @returns {CID}
 */
function cidFromPath (pathname) {
  const rest = pathname.slice('/ipfs/'.length)
  if (rest === '' || rest.includes('/')) {
    throw new HttpError(400, 'expected /ipfs/<cid> (paths inside a CID are not served)')
  }
  try {
    return CID.parse(decodeURIComponent(rest))
  } catch (err) {
    throw new HttpError(400, `'${rest}' is not a CID: ${err.message}`)
  }
}

/**
 * Starts the node and its HTTP API.
 *
 * @param {object} options
 * @param {string} options.dir folder of the block store (created if missing)
 * @param {number} [options.port] 0 picks a free port
 * @param {string} [options.host] the only address it listens on
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function startIpfsNode ({ dir, port = 5001, host = '127.0.0.1' }) {
  if (typeof dir !== 'string' || dir === '') throw new Error('startIpfsNode needs a dir')
  await mkdir(dir, { recursive: true })
  const blockstore = new FsBlockstore(dir)
  await blockstore.open()
  // Nothing garbage-collects, so no pins are needed: every block added stays on disk.
  const fs = unixfs({ blockstore })

  /** @param {Uint8Array} bytes @returns {Promise<string>} */
  async function add (bytes) {
    const cid = (await fs.addBytes(bytes, importerOptions())).toString()
    const expected = await cidOf(bytes)
    if (cid !== expected) {
      // Never hand out a CID that kerafold would not prove against.
      const msg = `IPFS node stored ${bytes.length} bytes as ${cid} but kerafold's CID is ${expected}`
      console.error(`ipfs-node: BUG: ${msg}`)
      throw new Error(msg)
    }
    return cid
  }

  /**
   * Streams a file, sending headers only once its first bytes are read, so an unknown CID
   * still gets a clean 404.
   *
   * @param {CID} cid
   * @param {import('node:http').IncomingMessage} req
   * @param {import('node:http').ServerResponse} res
   */
  async function cat (cid, req, res) {
    // The block store is local only: a missing block is an error at once, never a search.
    if (!(await blockstore.has(cid))) {
      throw new HttpError(404, `this node does not hold ${cid}`)
    }
    const abort = new AbortController()
    setMaxListeners(Infinity, abort.signal) // the exporter listens once per block in flight
    res.on('close', () => abort.abort())
    const head = () => res.writeHead(200, {
      ...CORS,
      'Content-Type': 'application/octet-stream',
      'Cache-Control': 'public, max-age=31536000, immutable', // content-addressed
      ETag: `"${cid}"`
    })
    let started = false
    try {
      for await (const chunk of fs.cat(cid, { signal: abort.signal })) {
        if (!started) { head(); started = true }
        if (req.method === 'HEAD') break
        if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve))
      }
    } catch (err) {
      if (!started) {
        const missing = err.name === 'BlockNotFoundWhileOfflineError' || err.name === 'NotFoundError'
        throw missing ? new HttpError(404, `this node does not hold all of ${cid}: ${err.message}`) : err
      }
      // Mid-file: the status is sent; cut the connection so the client sees a truncated body.
      res.destroy(err)
      return
    }
    if (!started) head() // the empty file
    res.end()
  }

  /** @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res */
  async function handle (req, res) {
    // the request target as a path ('//x' is a path here, not a host as a relative URL would be)
    let pathname
    try {
      pathname = new URL(`http://localhost${req.url ?? '/'}`).pathname
    } catch {
      throw new HttpError(400, `a malformed request target: ${req.url}`)
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...CORS,
        'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? 'Content-Type',
        // Chrome's private network access preflight
        ...(req.headers['access-control-request-private-network'] ? { 'Access-Control-Allow-Private-Network': 'true' } : {})
      })
      res.end()
      return
    }
    if (pathname === '/api/health') {
      if (req.method !== 'GET') throw new HttpError(405, 'use GET')
      sendJson(res, 200, { ok: true })
      return
    }
    if (pathname === '/api/v0/add') {
      if (req.method !== 'POST') throw new HttpError(405, 'use POST with the file as the body')
      const bytes = await readBody(req, MAX_ADD_BYTES)
      sendJson(res, 200, { cid: await add(bytes) })
      return
    }
    if (pathname.startsWith('/ipfs/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'use GET')
      await cat(cidFromPath(pathname), req, res)
      return
    }
    throw new HttpError(404, `no route ${req.method} ${pathname}`)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      const status = err instanceof HttpError ? err.status : 500
      if (status === 500) console.error('ipfs-node:', err)
      if (res.headersSent) {
        res.destroy()
        return
      }
      // After a refused upload the rest of the body is unread: close rather than drain it.
      if (status === 413) res.setHeader('Connection', 'close')
      sendJson(res, status, { error: err.message })
    })
  })

  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve(undefined)
      })
    })
  } catch (err) {
    await blockstore.close()
    throw err
  }
  const address = /** @type {import('node:net').AddressInfo} */ (server.address())
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`

  let closing
  return {
    url,
    close () {
      closing ??= (async () => {
        await new Promise((resolve) => {
          server.close(() => resolve(undefined))
          server.closeAllConnections()
        })
        await blockstore.close()
      })()
      return closing
    }
  }
}

async function main () {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      port: { type: 'string', default: '5001' },
      host: { type: 'string', default: '127.0.0.1' }
    }
  })
  const port = Number(values.port)
  if (values.dir == null || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error('usage: node ipfs-node.mjs --dir DIR [--port 5001] [--host 127.0.0.1]')
    process.exit(2)
  }
  const node = await startIpfsNode({ dir: values.dir, port, host: values.host })
  process.stdout.write(JSON.stringify({ ipfs: node.url }) + '\n')
  const stop = () => node.close().then(() => process.exit(0), (err) => {
    console.error(err)
    process.exit(1)
  })
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

// Run as a program (not imported): argv[1] may be a symlink or relative path.
if (process.argv[1] != null &&
    fileURLToPath(import.meta.url) === await realpath(process.argv[1]).catch(() => null)) {
  main().catch((err) => {
    console.error('ipfs-node:', err.message)
    process.exit(1)
  })
}
