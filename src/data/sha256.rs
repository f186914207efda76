//! SHA-256 block by block, as the circuit computes it (FIPS 180-4).
//!
//! A message `M` of `L` bytes is padded to a whole number of 64-byte blocks: `M ‖ 0x80 ‖ 0x00…
//! ‖ (8·L as a big-endian u64)`, with the fewest zero bytes that make the length a multiple of
//! 64. The state starts at [`IV`]; each block updates it with the compression function
//! ([`compress`]); the digest is the final state's eight words, big-endian ([`state_digest`]).
//!
//! The dataset layout (see [`super::dataset`]) makes every IPFS leaf a whole number of 64-byte
//! blocks, so its padding is a single extra block that depends only on the length:
//! [`final_block`]. The dag-pb nodes of larger files have arbitrary lengths and use the general
//! [`pad`].

use sha2::{Digest, Sha256};

/// Bytes per block.
pub(crate) const BLOCK_LEN: usize = 64;

/// The initial hash value H(0) of SHA-256.
pub(crate) const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// The 64 round constants K of SHA-256.
pub const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// Applies the compression function to `state` for one 64-byte block (FIPS 180-4 §6.2.2):
/// the message schedule `W[0..64]` from the block's sixteen big-endian words, 64 rounds, then
/// the word-wise sum with the previous state.
pub fn compress(state: &mut [u32; 8], block: &[u8; BLOCK_LEN]) {
    let mut w = [0u32; 64];
    for (t, word) in block.chunks_exact(4).enumerate() {
        w[t] = u32::from_be_bytes(word.try_into().expect("4 bytes"));
    }
    for t in 16..64 {
        let s0 = w[t - 15].rotate_right(7) ^ w[t - 15].rotate_right(18) ^ (w[t - 15] >> 3);
        let s1 = w[t - 2].rotate_right(17) ^ w[t - 2].rotate_right(19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16]
            .wrapping_add(s0)
            .wrapping_add(w[t - 7])
            .wrapping_add(s1);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for t in 0..64 {
        let big_s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = h
            .wrapping_add(big_s1)
            .wrapping_add(ch)
            .wrapping_add(K[t])
            .wrapping_add(w[t]);
        let big_s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = big_s0.wrapping_add(maj);
        h = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *s = s.wrapping_add(v);
    }
}

/// The digest of a final state: its words, big-endian.
pub(crate) fn state_digest(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// The padding block that follows a message of `len` bytes when `len` is a multiple of 64:
/// `0x80`, 55 zero bytes, then the message length in bits as a big-endian u64.
///
/// # Panics
/// If `len` is not a multiple of 64 (use [`pad`]) or `8·len` overflows a u64.
pub(crate) fn final_block(len: u64) -> [u8; BLOCK_LEN] {
    assert!(
        len.is_multiple_of(BLOCK_LEN as u64),
        "final_block: {len} bytes is not a whole number of blocks"
    );
    let bits = len
        .checked_mul(8)
        .expect("message length in bits fits a u64");
    let mut b = [0u8; BLOCK_LEN];
    b[0] = 0x80;
    b[56..].copy_from_slice(&bits.to_be_bytes());
    b
}

/// Number of blocks of the padded message of `len` bytes: `⌊(len + 8) / 64⌋ + 1`.
pub(crate) fn padded_blocks(len: u64) -> u64 {
    (len + 8) / BLOCK_LEN as u64 + 1
}

/// The padded message: `msg ‖ 0x80 ‖ zeros ‖ (8·len, big-endian u64)`, a multiple of 64 bytes.
pub(crate) fn pad(msg: &[u8]) -> Vec<u8> {
    let len = msg.len() as u64;
    let total = padded_blocks(len) as usize * BLOCK_LEN;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(msg);
    out.push(0x80);
    out.resize(total - 8, 0);
    out.extend_from_slice(&(len * 8).to_be_bytes());
    out
}

/// SHA-256 of `msg` (the `sha2` crate; [`digest_blockwise`] gives the same).
pub fn digest(msg: &[u8]) -> [u8; 32] {
    Sha256::digest(msg).into()
}

/// SHA-256 of `msg` computed block by block from [`IV`] with [`pad`] and [`compress`]: the
/// computation the circuit follows.
pub fn digest_blockwise(msg: &[u8]) -> [u8; 32] {
    let mut state = IV;
    for block in pad(msg).chunks_exact(BLOCK_LEN) {
        compress(&mut state, block.try_into().expect("64-byte block"));
    }
    state_digest(&state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blockwise_matches_sha2() {
        for len in (0usize..=200).chain([797, 1000, 4096]) {
            let msg: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            assert_eq!(digest_blockwise(&msg), digest(&msg), "length {len}");
            let p = pad(&msg);
            assert_eq!(
                p.len() as u64,
                padded_blocks(len as u64) * 64,
                "length {len}"
            );
            if len % 64 == 0 {
                assert_eq!(&p[len..], &final_block(len as u64)[..], "length {len}");
            }
        }
        // FIPS 180-2 example "abc".
        assert_eq!(
            hex::encode(digest_blockwise(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn final_block_layout() {
        let b = final_block(128);
        assert_eq!(b[0], 0x80);
        assert!(b[1..62].iter().all(|&x| x == 0));
        assert_eq!(&b[62..], &[0x04, 0x00]); // 1024 bits
        let empty = final_block(0);
        assert_eq!(empty[0], 0x80);
        assert!(empty[1..].iter().all(|&x| x == 0));
    }

    #[test]
    #[should_panic(expected = "not a whole number of blocks")]
    fn final_block_needs_whole_blocks() {
        final_block(65);
    }
}
