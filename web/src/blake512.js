// BLAKE-512 (the SHA-3 finalist, 16 rounds; not BLAKE2b): the hash @zk-kit/eddsa-poseidon 1.x
// and circomlibjs derive Baby Jubjub secret scalars with. Written here because that package's
// ES module build does not load in Node 20 (it imports named exports from the CommonJS blakejs)
// and no installed ES module provides BLAKE-512. It only hashes 32-byte private keys, so plain
// BigInt arithmetic is fast enough.

const MASK = (1n << 64n) - 1n;

/** Initial chaining value (SHA-512's). */
const IV = [
  0x6a09e667f3bcc908n, 0xbb67ae8584caa73bn, 0x3c6ef372fe94f82bn, 0xa54ff53a5f1d36f1n,
  0x510e527fade682d1n, 0x9b05688c2b3e6c1fn, 0x1f83d9abfb41bd6bn, 0x5be0cd19137e2179n,
];

/** The round constants: the first 1024 fractional bits of π. */
const C = [
  0x243f6a8885a308d3n, 0x13198a2e03707344n, 0xa4093822299f31d0n, 0x082efa98ec4e6c89n,
  0x452821e638d01377n, 0xbe5466cf34e90c6cn, 0xc0ac29b7c97c50ddn, 0x3f84d5b5b5470917n,
  0x9216d5d98979fb1bn, 0xd1310ba698dfb5acn, 0x2ffd72dbd01adfb7n, 0xb8e1afed6a267e96n,
  0xba7c9045f12c7f99n, 0x24a19947b3916cf7n, 0x0801f2e2858efc16n, 0x636920d871574e69n,
];

/** The message-word permutations σ_0 … σ_9 (round r uses σ_{r mod 10}). */
const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/** The state indices G works on: four columns, then four diagonals. */
const LANES = [
  [0, 4, 8, 12], [1, 5, 9, 13], [2, 6, 10, 14], [3, 7, 11, 15],
  [0, 5, 10, 15], [1, 6, 11, 12], [2, 7, 8, 13], [3, 4, 9, 14],
];

const rotr = (x, n) => ((x >> n) | (x << (64n - n))) & MASK;

/**
 * Compresses one 128-byte block into the chaining value `h` (salt zero).
 * @param {bigint[]} h chaining value, updated in place
 * @param {Uint8Array} block 128 bytes
 * @param {bigint} t message bits counted up to the end of this block (0 for a padding-only block)
 */
function compress(h, block, t) {
  const m = new Array(16);
  for (let i = 0; i < 16; i++) {
    let w = 0n;
    for (let j = 0; j < 8; j++) w = (w << 8n) | BigInt(block[8 * i + j]);
    m[i] = w;
  }
  const t0 = t & MASK;
  const t1 = (t >> 64n) & MASK;
  const v = [
    ...h,
    C[0], C[1], C[2], C[3],
    t0 ^ C[4], t0 ^ C[5], t1 ^ C[6], t1 ^ C[7],
  ];
  for (let r = 0; r < 16; r++) {
    const s = SIGMA[r % 10];
    for (let i = 0; i < 8; i++) {
      const [a, b, c, d] = LANES[i];
      const x = s[2 * i];
      const y = s[2 * i + 1];
      v[a] = (v[a] + v[b] + (m[x] ^ C[y])) & MASK;
      v[d] = rotr(v[d] ^ v[a], 32n);
      v[c] = (v[c] + v[d]) & MASK;
      v[b] = rotr(v[b] ^ v[c], 25n);
      v[a] = (v[a] + v[b] + (m[y] ^ C[x])) & MASK;
      v[d] = rotr(v[d] ^ v[a], 16n);
      v[c] = (v[c] + v[d]) & MASK;
      v[b] = rotr(v[b] ^ v[c], 11n);
    }
  }
  for (let i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

/**
 * BLAKE-512 of `msg`.
 * @param {Uint8Array} msg
 * @returns {Uint8Array} the 64-byte digest
 */
export function blake512(msg) {
  const n = msg.length;
  // padding: a 1 bit, zeros, a 1 bit just before the 128-bit big-endian bit length
  const total = Math.ceil((n + 17) / 128) * 128;
  const buf = new Uint8Array(total);
  buf.set(msg);
  buf[n] = 0x80;
  buf[total - 17] |= 0x01;
  let bits = BigInt(n) * 8n;
  for (let i = total - 1; i >= total - 16; i--) {
    buf[i] = Number(bits & 0xffn);
    bits >>= 8n;
  }
  const h = IV.slice();
  for (let off = 0; off < total; off += 128) {
    // the counter is the message bits so far; a block of padding alone counts 0
    const t = off < n ? BigInt(Math.min(n, off + 128)) * 8n : 0n;
    compress(h, buf.subarray(off, off + 128), t);
  }
  const out = new Uint8Array(64);
  h.forEach((w, i) => {
    for (let j = 7; j >= 0; j--) {
      out[8 * i + j] = Number(w & 0xffn);
      w >>= 8n;
    }
  });
  return out;
}
