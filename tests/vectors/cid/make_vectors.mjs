// Test vectors for kerafold's IPFS CIDs (src/data/cid.rs), computed by a real IPFS
// implementation: ipfs-unixfs-importer, the importer of Helia/js-ipfs, with the settings of
// `ipfs add --cid-version 1 --raw-leaves` (Kubo): CIDv1, raw leaves, fixed-size chunks of
// 262144 bytes, balanced layout with at most 174 links per node, a single-chunk file reduced
// to its raw leaf.
//
// Regenerate (from this directory; the output is committed, tests never run Node):
//
//     npm ci && node make_vectors.mjs > vectors.json
//
// File contents come from a deterministic byte generator that the Rust tests reproduce
// (tests/suite/cid.rs), so no large file is committed. Stream: a 32-bit LCG,
//
//     state_0 = 1
//     state_{i+1} = (1664525 * state_i + 1013904223) mod 2^32
//     byte_i = state_{i+1} >> 24                  (i = 0, 1, 2, ...)
//
// and a file of n bytes holds byte_0 .. byte_{n-1}. Files named in `files` are read as they are
// (the committed dataset fixtures).
//
// `datasets`: the multi-leaf dataset files the accuracy proofs are tested on, at the chunk sizes
// those tests name them with. The Rust tests make them (tests/common/datasets.rs); write them
// first, then pass their folder:
//
//     KERAFOLD_VECTOR_DATASETS=/tmp/kfd cargo test --release --test suite cid::dataset_cids
//     npm ci && node make_vectors.mjs --datasets /tmp/kfd tests/fixtures/*.kfd > vectors.json

import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import * as dagPb from '@ipld/dag-pb'
import { MemoryBlockstore } from 'blockstore-core'
import { importer } from 'ipfs-unixfs-importer'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import * as raw from 'multiformats/codecs/raw'

export function lcgBytes (n) {
  const out = new Uint8Array(n)
  let state = 1
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    out[i] = state >>> 24
  }
  return out
}

function hex (bytes) {
  return Buffer.from(bytes).toString('hex')
}

async function getBlock (blockstore, cid) {
  const parts = []
  for await (const part of blockstore.get(cid)) parts.push(part)
  return Buffer.concat(parts)
}

// Adds `bytes` as one file and describes the resulting DAG.
async function add (bytes, chunkSize, maxLinks) {
  const blockstore = new MemoryBlockstore()
  const options = {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    wrapWithDirectory: false,
    chunker: fixedSize({ chunkSize }),
    layout: balanced({ maxChildrenPerNode: maxLinks })
  }
  let root
  for await (const entry of importer([{ content: bytes }], blockstore, options)) {
    root = entry.cid
  }
  // Walk the DAG: count raw leaves and dag-pb nodes, measure the depth.
  let leaves = 0
  let nodes = 0
  let depth = 0
  async function walk (cid, level) {
    depth = Math.max(depth, level)
    if (cid.code === raw.code) {
      leaves++
      return
    }
    nodes++
    const node = dagPb.decode(await getBlock(blockstore, cid))
    for (const link of node.Links) await walk(link.Hash, level + 1)
  }
  await walk(root, 0)
  const out = { size: bytes.length, chunk_size: chunkSize, max_links: maxLinks, cid: root.toString(), leaves, nodes, depth }
  if (root.code === dagPb.code) out.root_block = hex(await getBlock(blockstore, root))
  return out
}

const KIB = 1024
// IPFS defaults: sizes named by the issue, plus a two-level tree (175 leaves > 174 links).
const defaults = [0, 1, 797, 256 * KIB, 256 * KIB + 1, 3 * 1000 * 1000, 174 * 256 * KIB + 1]
// Small chunks and few links per node: deep trees, partial last nodes, exact fills.
const small = []
for (const n of [0, 1, 64, 65, 3 * 64, 3 * 64 + 1, 9 * 64, 9 * 64 + 1, 10 * 64 + 5, 27 * 64, 27 * 64 + 1, 40 * 64 + 63]) {
  small.push([n, 64, 3])
}
for (const n of [1000, 4096, 5000]) small.push([n, 100, 2])

const vectors = {
  generator: 'ipfs-unixfs-importer 17.1.1 (cidVersion 1, rawLeaves, fixedSize chunker, balanced layout, reduceSingleLeafToSelf)',
  stream: 'lcg32: state_0 = 1, state_{i+1} = (1664525 * state_i + 1013904223) mod 2^32, byte_i = state_{i+1} >> 24',
  lcg: [],
  files: []
}
for (const n of defaults) vectors.lcg.push(await add(lcgBytes(n), 262144, 174))
for (const [n, c, m] of small) vectors.lcg.push(await add(lcgBytes(n), c, m))
// name, chunk size: as tests/common/datasets.rs and the tests that prove them
const datasets = [['shards_16', 256], ['deep_174', 64], ['ray_520', 262144]]
const args = process.argv.slice(2)
const at = args.indexOf('--datasets')
const datasetDir = at >= 0 ? args.splice(at, 2)[1] : undefined
vectors.datasets = []
if (datasetDir !== undefined) {
  for (const [name, chunkSize] of datasets) {
    const v = await add(readFileSync(`${datasetDir}/${name}.kfd`), chunkSize, 174)
    delete v.root_block
    vectors.datasets.push({ name, ...v })
  }
}
for (const path of args) {
  const v = await add(readFileSync(path), 262144, 174)
  vectors.files.push({ file: basename(path), ...v })
}
process.stdout.write(JSON.stringify(vectors, null, 1) + '\n')
