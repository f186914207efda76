//! BLAKE-512 (the SHA-3 finalist, not BLAKE2): the hash that circomlibjs and
//! `@zk-kit/eddsa-poseidon` use to derive a Baby Jubjub secret scalar from a private key.
//! Written from the BLAKE specification (Aumasson et al., v1.3); checked against the JS
//! `blake-hash` package in `tests/vectors/bjj/vectors.json`.

/// Initial value: the same as SHA-512's.
const IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

/// Constants: the first digits of π.
const C: [u64; 16] = [
    0x243f6a8885a308d3,
    0x13198a2e03707344,
    0xa4093822299f31d0,
    0x082efa98ec4e6c89,
    0x452821e638d01377,
    0xbe5466cf34e90c6c,
    0xc0ac29b7c97c50dd,
    0x3f84d5b5b5470917,
    0x9216d5d98979fb1b,
    0xd1310ba698dfb5ac,
    0x2ffd72dbd01adfb7,
    0xb8e1afed6a267e96,
    0xba7c9045f12c7f99,
    0x24a19947b3916cf7,
    0x0801f2e2858efc16,
    0x636920d871574e69,
];

/// Message word permutations (round `r` uses `SIGMA[r % 10]`).
const SIGMA: [[usize; 16]; 10] = [
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

const ROUNDS: usize = 16;

fn compress(h: &mut [u64; 8], block: &[u8; 128], t: u128) {
    let m: [u64; 16] =
        std::array::from_fn(|i| u64::from_be_bytes(block[8 * i..8 * i + 8].try_into().unwrap()));
    let (t0, t1) = (t as u64, (t >> 64) as u64);
    let mut v = [0u64; 16];
    v[..8].copy_from_slice(h);
    v[8..12].copy_from_slice(&C[..4]); // salt is zero
    v[12] = t0 ^ C[4];
    v[13] = t0 ^ C[5];
    v[14] = t1 ^ C[6];
    v[15] = t1 ^ C[7];
    for r in 0..ROUNDS {
        let s = &SIGMA[r % 10];
        let mut g = |a: usize, b: usize, c: usize, d: usize, i: usize| {
            let (x, y) = (s[2 * i], s[2 * i + 1]);
            v[a] = v[a].wrapping_add(v[b]).wrapping_add(m[x] ^ C[y]);
            v[d] = (v[d] ^ v[a]).rotate_right(32);
            v[c] = v[c].wrapping_add(v[d]);
            v[b] = (v[b] ^ v[c]).rotate_right(25);
            v[a] = v[a].wrapping_add(v[b]).wrapping_add(m[y] ^ C[x]);
            v[d] = (v[d] ^ v[a]).rotate_right(16);
            v[c] = v[c].wrapping_add(v[d]);
            v[b] = (v[b] ^ v[c]).rotate_right(11);
        };
        g(0, 4, 8, 12, 0);
        g(1, 5, 9, 13, 1);
        g(2, 6, 10, 14, 2);
        g(3, 7, 11, 15, 3);
        g(0, 5, 10, 15, 4);
        g(1, 6, 11, 12, 5);
        g(2, 7, 8, 13, 6);
        g(3, 4, 9, 14, 7);
    }
    for i in 0..8 {
        h[i] ^= v[i] ^ v[i + 8];
    }
}

/// The 64-byte BLAKE-512 digest of `msg`.
pub fn blake512(msg: &[u8]) -> [u8; 64] {
    let len = msg.len();
    // Padding: a 1 bit, zeros, a 1 bit ending the 112th byte of a block, the 128-bit length.
    let mut padded = msg.to_vec();
    padded.push(0x80);
    while padded.len() % 128 != 112 {
        padded.push(0);
    }
    *padded.last_mut().expect("nonempty") |= 0x01;
    padded.extend_from_slice(&((len as u128) * 8).to_be_bytes());
    let mut h = IV;
    for (k, block) in padded.chunks(128).enumerate() {
        // The counter holds the message bits up to and including this block; a block with no
        // message bits (padding only) has counter 0.
        let t = if len > 128 * k {
            (len.min(128 * (k + 1)) as u128) * 8
        } else {
            0
        };
        compress(&mut h, block.try_into().expect("128-byte block"), t);
    }
    let mut out = [0u8; 64];
    for (i, w) in h.iter().enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&w.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_message() {
        // BLAKE-512("") from the specification's reference implementation.
        assert_eq!(
            hex::encode(blake512(b"")),
            "a8cfbbd73726062df0c6864dda65defe58ef0cc52a5625090fa17601e1eecd1b\
             628e94f396ae402a00acc9eab77b4d4c2e852aaaa25a636d80af3fc7913ef5b8"
        );
    }
}
