// web/src/cid.js and web/stack/ipfs-node.mjs against kerafold itself: every CID must be the one
// `kerafold cid FILE` prints, because that is the CID bounties name and proofs commit to.
//
// Run: cd web && node --test test/   (KERAFOLD_BIN overrides ../target/release/kerafold)

import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CHUNK_SIZE, MAX_LINKS, checkCid, cidBytes, cidFromBytes, cidOf } from '../src/cid.js'
import { MAX_ADD_BYTES, startIpfsNode } from '../stack/ipfs-node.mjs'

const WEB = fileURLToPath(new URL('..', import.meta.url))
const REPO = resolve(WEB, '..')
const KERAFOLD = resolve(WEB, process.env.KERAFOLD_BIN ?? '../target/release/kerafold')
const VECTORS = JSON.parse(await readFile(join(REPO, 'tests/vectors/cid/vectors.json'), 'utf8'))
const run = promisify(execFile)

/**
 * The deterministic byte stream of tests/vectors/cid/make_vectors.mjs, so the sizes below can
 * also be checked against the committed vectors.
 *
 * @param {number} n
 */
function lcgBytes (n) {
  const out = new Uint8Array(n)
  let state = 1
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    out[i] = state >>> 24
  }
  return out
}

const hex = (bytes) => Buffer.from(bytes).toString('hex')
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex')

/** RFC 4648 base32 (lower case, unpadded) decoder, independent of multiformats. */
function base32Decode (s) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
  const out = []
  let acc = 0
  let bits = 0
  for (const c of s) {
    const v = alphabet.indexOf(c)
    assert.ok(v >= 0, `base32 character ${c}`)
    acc = ((acc << 5) | v) & 0xffff
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out.push((acc >> bits) & 0xff)
    }
  }
  return Uint8Array.from(out)
}

/** @param {string} path */
async function kerafoldCid (path) {
  const { stdout } = await run(KERAFOLD, ['cid', path])
  return stdout.trim()
}

// 0 and 1 byte, one partial and one full leaf, one byte over, several leaves with a short last
// one, and 175 leaves: one more than a node holds, so a two-level tree (about 45 MB, ~1 s).
const SIZES = [0, 1, 1000, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 17, MAX_LINKS * CHUNK_SIZE + 1]

let work
/** @type {Map<number, { path: string, bytes: Uint8Array, cid: string }>} size → file */
const files = new Map()

before(async () => {
  assert.ok(existsSync(KERAFOLD), `no kerafold binary at ${KERAFOLD} (set KERAFOLD_BIN)`)
  work = await mkdtemp(join(tmpdir(), 'kerafold-cid-test-'))
  for (const size of SIZES) {
    const bytes = lcgBytes(size)
    const path = join(work, `lcg_${size}.bin`)
    await writeFile(path, bytes)
    files.set(size, { path, bytes, cid: await kerafoldCid(path) })
  }
})

after(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

describe('cidOf equals kerafold cid', () => {
  for (const size of SIZES) {
    it(`${size} bytes`, async () => {
      const { bytes, cid } = files.get(size)
      assert.equal(await cidOf(bytes), cid)
      // one leaf is a raw block, more leaves a dag-pb root
      assert.match(cid, size <= CHUNK_SIZE ? /^bafkrei[a-z2-7]{52}$/ : /^bafybei[a-z2-7]{52}$/)
      // the same stream in the committed importer vectors, where there is one
      const v = VECTORS.lcg.find((x) => x.size === size && x.chunk_size === CHUNK_SIZE && x.max_links === MAX_LINKS)
      if (v) assert.equal(cid, v.cid)
    })
  }

  it('the empty file is the empty raw block', async () => {
    assert.equal(await cidOf(new Uint8Array(0)), 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')
  })

  it('refuses what is not a Uint8Array', async () => {
    await assert.rejects(cidOf('hello'), TypeError)
  })
})

describe('committed vectors (tests/vectors/cid, as tests/suite/cid.rs uses them)', () => {
  it('every LCG vector, at its chunk size and fan-out', async () => {
    assert.ok(VECTORS.lcg.length >= 20)
    for (const v of VECTORS.lcg) {
      const got = await cidOf(lcgBytes(v.size), { chunkSize: v.chunk_size, maxLinks: v.max_links })
      assert.equal(got, v.cid, `${v.size} bytes, chunks of ${v.chunk_size}, ${v.max_links} links`)
    }
  })

  it('the committed dataset files, by cidOf and by the CLI', async () => {
    assert.ok(VECTORS.files.length > 0)
    for (const v of VECTORS.files) {
      const path = join(REPO, 'tests/fixtures', v.file)
      const bytes = await readFile(path)
      assert.equal(bytes.length, v.size, v.file)
      assert.equal(await cidOf(bytes), v.cid, v.file)
      assert.equal(await kerafoldCid(path), v.cid, v.file)
      assert.equal(cidBytes(v.cid), '0x01551220' + sha256(bytes), v.file)
    }
  })
})

describe('cidBytes (Bounty.sol createBounty, kerafold Cid::to_bytes)', () => {
  it('a raw CID is 0x01 0x55 0x12 0x20 sha256(file)', () => {
    for (const size of SIZES.filter((s) => s <= CHUNK_SIZE)) {
      const { bytes, cid } = files.get(size)
      assert.equal(cidBytes(cid), '0x01551220' + sha256(bytes))
    }
  })

  it('a dag-pb CID is 0x01 0x70 0x12 0x20 sha256(root node)', () => {
    const v = VECTORS.lcg.find((x) => x.size === CHUNK_SIZE + 1 && x.chunk_size === CHUNK_SIZE)
    assert.equal(cidBytes(v.cid), '0x01701220' + sha256(Buffer.from(v.root_block, 'hex')))
  })

  it('is the base32 body of the text form, 36 bytes', () => {
    for (const { cid } of files.values()) {
      const b = cidBytes(cid)
      assert.match(b, /^0x01(55|70)1220[0-9a-f]{64}$/)
      assert.equal(b, '0x' + hex(base32Decode(cid.slice(1))))
    }
    // kerafold accepts upper case too
    const { cid } = files.get(1)
    assert.equal(cidBytes(cid.toUpperCase()), cidBytes(cid))
  })

  it('cidFromBytes is its inverse (the contract bytes back to the text form)', () => {
    for (const { cid } of files.values()) assert.equal(cidFromBytes(cidBytes(cid)), cid)
  })

  it('refuses CIDs kerafold cannot prove', () => {
    assert.throws(() => cidBytes('QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR'), /CIDv1/)
    assert.throws(() => cidBytes('bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'), /codec 0x71/) // dag-cbor
    assert.throws(() => cidBytes('bnotbase32!'), /not a valid CID/)
    assert.throws(() => cidBytes(''), /base32 CIDv1/)
  })
})

describe('checkCid', () => {
  it('accepts the bytes of the CID and refuses a flipped byte', async () => {
    for (const size of [1, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 17]) {
      const { bytes, cid } = files.get(size)
      assert.equal(await checkCid(bytes, cid), cid)
      const bad = Uint8Array.from(bytes)
      bad[bad.length - 1] ^= 1
      const badCid = await cidOf(bad)
      assert.notEqual(badCid, cid)
      await assert.rejects(checkCid(bad, cid), {
        message: `the bytes fetched for CID ${cid} hash to ${badCid}: refused`
      })
    }
  })

  it('refuses a truncated file and a malformed CID', async () => {
    const { bytes, cid } = files.get(3 * CHUNK_SIZE + 17)
    await assert.rejects(checkCid(bytes.subarray(0, CHUNK_SIZE), cid), /: refused$/)
    await assert.rejects(checkCid(bytes, 'bafy-not-a-cid'), /not a valid CID/)
  })
})

describe('IPFS node', () => {
  let dir
  let node

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kerafold-ipfs-test-'))
    node = await startIpfsNode({ dir, port: 0 })
  })

  after(async () => {
    await node?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('is healthy, on loopback', async () => {
    assert.match(node.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    const res = await fetch(`${node.url}/api/health`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('access-control-allow-origin'), '*')
    assert.deepEqual(await res.json(), { ok: true })
  })

  it('adds each file under kerafold\'s CID and serves it back byte for byte', async () => {
    for (const size of SIZES) {
      const { bytes, cid } = files.get(size)
      const add = await fetch(`${node.url}/api/v0/add`, { method: 'POST', body: bytes })
      assert.equal(add.status, 200, `add ${size} bytes`)
      assert.match(add.headers.get('content-type'), /^application\/json/)
      assert.deepEqual(await add.json(), { cid }, `add ${size} bytes`)
      const get = await fetch(`${node.url}/ipfs/${cid}`)
      assert.equal(get.status, 200, `get ${size} bytes`)
      assert.equal(get.headers.get('content-type'), 'application/octet-stream')
      assert.equal(get.headers.get('access-control-allow-origin'), '*')
      const back = new Uint8Array(await get.arrayBuffer())
      assert.equal(back.length, size)
      assert.ok(Buffer.from(back).equals(Buffer.from(bytes)), `get ${size} bytes: same bytes`)
      await checkCid(back, cid)
    }
  })

  it('adding the same file again gives the same CID', async () => {
    const { bytes, cid } = files.get(1000)
    const res = await fetch(`${node.url}/api/v0/add`, { method: 'POST', body: bytes })
    assert.deepEqual(await res.json(), { cid })
  })

  it('answers 404 at once for a CID it does not hold', async () => {
    const unknown = await cidOf(new TextEncoder().encode('never added to this node'))
    const t0 = performance.now()
    const res = await fetch(`${node.url}/ipfs/${unknown}`, { signal: AbortSignal.timeout(5000) })
    assert.ok(performance.now() - t0 < 2000, 'no network search')
    assert.equal(res.status, 404)
    assert.equal(res.headers.get('access-control-allow-origin'), '*')
    assert.match((await res.json()).error, new RegExp(unknown))
  })

  it('answers 400 for a malformed CID', async () => {
    for (const bad of ['not-a-cid', 'bafy!!', '']) {
      const res = await fetch(`${node.url}/ipfs/${bad}`)
      assert.equal(res.status, 400, bad)
      assert.equal(typeof (await res.json()).error, 'string')
    }
  })

  it('answers CORS preflights', async () => {
    const res = await fetch(`${node.url}/api/v0/add`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'http://127.0.0.1:5173',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type'
      }
    })
    assert.equal(res.status, 204)
    assert.equal(res.headers.get('access-control-allow-origin'), '*')
    assert.match(res.headers.get('access-control-allow-methods'), /POST/)
    assert.match(res.headers.get('access-control-allow-headers'), /content-type/i)
  })

  it('refuses a file over the limit with 413', async () => {
    const res = await fetch(`${node.url}/api/v0/add`, { method: 'POST', body: new Uint8Array(MAX_ADD_BYTES + 1) })
    assert.equal(res.status, 413)
    assert.match((await res.json()).error, /exceeds/)
  })

  it('answers 404 for other routes and 405 for a wrong method', async () => {
    assert.equal((await fetch(`${node.url}/nothing-here`)).status, 404)
    assert.equal((await fetch(`${node.url}/api/v0/add`)).status, 405)
  })

  it('keeps its blocks across a restart', async () => {
    await node.close()
    node = await startIpfsNode({ dir, port: 0 })
    const { bytes, cid } = files.get(3 * CHUNK_SIZE + 17)
    const res = await fetch(`${node.url}/ipfs/${cid}`)
    assert.equal(res.status, 200)
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(bytes)))
  })
})

describe('ipfs-node.mjs as a program', () => {
  it('prints {"ipfs": url} when ready, serves, and exits on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kerafold-ipfs-cli-test-'))
    const child = spawn(process.execPath, [join(WEB, 'stack/ipfs-node.mjs'), '--dir', dir, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe']
    })
    try {
      const line = await new Promise((resolve, reject) => {
        let out = ''
        let err = ''
        child.stdout.on('data', (d) => {
          out += d
          if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')))
        })
        child.stderr.on('data', (d) => { err += d })
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${err}`)))
        setTimeout(() => reject(new Error('not ready within 10 s')), 10_000).unref()
      })
      const { ipfs } = JSON.parse(line)
      assert.match(ipfs, /^http:\/\/127\.0\.0\.1:\d+$/)
      const { bytes, cid } = files.get(CHUNK_SIZE + 1)
      const res = await fetch(`${ipfs}/api/v0/add`, { method: 'POST', body: bytes })
      assert.deepEqual(await res.json(), { cid })
      const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
      child.kill('SIGTERM')
      assert.equal(await exited, 0)
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await rm(dir, { recursive: true, force: true })
    }
  })
})
