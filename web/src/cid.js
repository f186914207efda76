/**
 * IPFS CIDs of files, identical to what `kerafold cid FILE` prints (src/data/cid.rs), so the
 * CID a bounty names on chain, the CID the IPFS node stores a file under and the CID a proof
 * commits to are one and the same.
 *
 * The settings are those of `ipfs add --cid-version 1 --raw-leaves`: fixed 262144-byte chunks,
 * raw leaves, the balanced layout with at most 174 links per node, CIDv1, sha2-256. A file of
 * one chunk (including the empty file, which is one empty chunk) is that raw block
 * (`bafkrei…`); a larger file is a dag-pb root (`bafybei…`).
 *
 * Runs in browsers and in Node: no `node:` imports (multiformats picks WebCrypto or
 * node:crypto for sha2-256 through its own `browser` field).
 *
 * @module
 */

import { importBytes } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { CID } from 'multiformats/cid'
import { fromHex, toHex } from 'multiformats/bytes'

/** Bytes per leaf (IPFS' default chunker, kerafold's `CHUNK_SIZE`). */
export const CHUNK_SIZE = 262144
/** Most links per dag-pb node (IPFS' default balanced layout, kerafold's `MAX_LINKS`). */
export const MAX_LINKS = 174

const RAW = 0x55
const DAG_PB = 0x70
const SHA2_256 = 0x12

/**
 * Importer options that give kerafold's DAG. Every option is spelled out because the defaults
 * differ between packages (@helia/unixfs defaults to 1 MiB chunks and 1024 links). A fresh
 * object each call: the importer may write into the options it is given.
 *
 * @param {{ chunkSize?: number, maxLinks?: number }} [chunking] only tests use other values
 * @returns {import('ipfs-unixfs-importer').ImporterOptions}
 */
export function importerOptions ({ chunkSize = CHUNK_SIZE, maxLinks = MAX_LINKS } = {}) {
  return {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    wrapWithDirectory: false,
    chunker: fixedSize({ chunkSize }),
    layout: balanced({ maxChildrenPerNode: maxLinks })
  }
}

/** Computing a CID needs no storage: the importer's blocks are hashed and dropped. */
const discard = { put: async (cid) => cid }

/**
 * The CID of a file's bytes, as `kerafold cid FILE` prints it.
 *
 * @param {Uint8Array} bytes the whole file
 * @param {{ chunkSize?: number, maxLinks?: number }} [chunking] IPFS' defaults unless given
 * @returns {Promise<string>} `bafkrei…` (one chunk) or `bafybei…`
 */
export async function cidOf (bytes, chunking) {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`cidOf takes a Uint8Array, not ${Object.prototype.toString.call(bytes)}`)
  }
  const { cid } = await importBytes(bytes, discard, importerOptions(chunking))
  return cid.toString()
}

/**
 * Parses a CID in the only form kerafold and Bounty.sol use: CIDv1, raw or dag-pb, sha2-256.
 *
 * @param {string} text `b…` (base32; upper case `B…` accepted as kerafold does)
 * @returns {CID}
 */
export function parseCid (text) {
  if (typeof text !== 'string') throw new TypeError(`a CID is a string, not ${typeof text}`)
  // kerafold accepts upper case base32; multiformats only decodes the lower case alphabet
  const s = text.startsWith('B') ? text.toLowerCase() : text
  if (!s.startsWith('b')) {
    throw new Error(`'${text}' is not a base32 CIDv1 (it should start with 'b', as bafkrei… or bafybei…)`)
  }
  // as kerafold: RFC 4648 lower case only (multiformats would also take mixed case)
  if (!/^b[a-z2-7]*$/.test(s)) {
    throw new Error(`'${text}' is not a valid CID: not base32 (lower case a–z and 2–7 after the 'b')`)
  }
  let cid
  try {
    // decoded again from its bytes, so its text form is the canonical one, not the input's
    cid = CID.decode(CID.parse(s).bytes)
  } catch (err) {
    throw new Error(`'${text}' is not a valid CID: ${err.message}`)
  }
  if (cid.version !== 1) throw new Error(`'${text}': only CIDv1 is supported`)
  if (cid.code !== RAW && cid.code !== DAG_PB) {
    throw new Error(`'${text}': codec 0x${cid.code.toString(16)}, expected raw (0x55) or dag-pb (0x70)`)
  }
  if (cid.multihash.code !== SHA2_256 || cid.multihash.digest.length !== 32) {
    throw new Error(`'${text}': the multihash is not sha2-256`)
  }
  return cid
}

/**
 * Refuses bytes that are not the file `cid` names: whatever served them (a gateway, a peer, a
 * cache) is not trusted.
 *
 * @param {Uint8Array} bytes the bytes fetched
 * @param {string} cid the CID they were fetched for
 * @returns {Promise<string>} the CID (canonical text form) when they match
 * @throws {Error} when they hash to another CID
 */
export async function checkCid (bytes, cid) {
  const want = parseCid(cid).toString()
  const got = await cidOf(bytes)
  if (got !== want) {
    throw new Error(`the bytes fetched for CID ${cid} hash to ${got}: refused`)
  }
  return want
}

/**
 * The binary CID as Bounty.sol's `createBounty` takes it (kerafold's `Cid::to_bytes`):
 * `0x01 codec 0x12 0x20 digest`, 36 bytes, codec 0x55 (raw) or 0x70 (dag-pb).
 *
 * @param {string} cid text form `b…`
 * @returns {`0x${string}`} 0x-prefixed lower-case hex of the 36 bytes
 */
export function cidBytes (cid) {
  return /** @type {`0x${string}`} */ (`0x${toHex(parseCid(cid).bytes)}`)
}

/**
 * The text form of a binary CID as the contract stores and emits it (the inverse of
 * {@link cidBytes}). Not held to what kerafold accepts: that is checked where the CID is used.
 *
 * @param {string} hex 0x-prefixed hex of the binary CID
 * @returns {string} the CID's text form `b…`
 */
export function cidFromBytes (hex) {
  const digits = typeof hex === 'string' ? hex.replace(/^0x/, '') : ''
  if (!/^([0-9a-fA-F]{2})+$/.test(digits)) {
    throw new Error(`${JSON.stringify(hex)} is not the hex of a binary CID`)
  }
  try {
    return CID.decode(fromHex(digits)).toString()
  } catch (err) {
    throw new Error(`0x${digits} is not a binary CID: ${err.message}`)
  }
}
