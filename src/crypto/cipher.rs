//! The Poseidon cipher of `@zk-kit/poseidon-cipher` (`poseidonEncrypt` / `poseidonDecrypt`,
//! MACI's construction): a duplex over circomlib's width-4 Poseidon permutation.
//!
//! Key `(k0, k1)` (an ECDH shared point), nonce `N < 2^128`, message `m` of length `L`:
//! the state starts as `(0, k0, k1, N + L·2^128)`; the message is zero-padded to a multiple of
//! 3; for each triple the state is permuted, the triple is added to `state[1..4]` and those
//! three elements are the ciphertext's; a last permutation gives the authentication element
//! `state[1]`. The ciphertext has `3·⌈L/3⌉ + 1` elements.

use super::poseidon::permute;
use crate::{Error, Result};
use ff::PrimeField;

/// Ciphertext length for a message of `len` elements.
pub(crate) fn ciphertext_len(len: usize) -> usize {
    3 * len.div_ceil(3) + 1
}

/// The cipher's initial state.
pub(crate) fn initial_state<F: PrimeField>(key: (F, F), nonce: u128, len: usize) -> [F; 4] {
    [
        F::ZERO,
        key.0,
        key.1,
        F::from_u128(nonce) + F::from(len as u64) * F::from_u128(1u128 << 127).double(),
    ]
}

/// `poseidonEncrypt(message, key, nonce)`.
pub fn encrypt<F: PrimeField>(message: &[F], key: (F, F), nonce: u128) -> Vec<F> {
    let mut padded = message.to_vec();
    padded.resize(3 * message.len().div_ceil(3), F::ZERO);
    let mut state = initial_state(key, nonce, message.len());
    let mut out = Vec::with_capacity(ciphertext_len(message.len()));
    for triple in padded.chunks(3) {
        permute(&mut state);
        for j in 0..3 {
            state[j + 1] += triple[j];
            out.push(state[j + 1]);
        }
    }
    permute(&mut state);
    out.push(state[1]);
    out
}

/// `poseidonDecrypt(ciphertext, key, nonce, len)`: the message, or an error if the ciphertext
/// has the wrong length, its padding is not zero, or its authentication element does not match
/// (the wrong key or nonce, or an altered ciphertext). Stricter than the JS function, which skips
/// the padding check for `len ≤ 3`; every ciphertext [`encrypt`] makes passes both.
pub fn decrypt<F: PrimeField>(
    ciphertext: &[F],
    key: (F, F),
    nonce: u128,
    len: usize,
) -> Result<Vec<F>> {
    if ciphertext.len() != ciphertext_len(len) {
        return Err(Error::Invalid(format!(
            "a ciphertext of {len} elements has {} elements, not {}",
            ciphertext_len(len),
            ciphertext.len()
        )));
    }
    let mut state = initial_state(key, nonce, len);
    let mut message = Vec::with_capacity(ciphertext.len() - 1);
    for triple in ciphertext[..ciphertext.len() - 1].chunks(3) {
        permute(&mut state);
        for j in 0..3 {
            message.push(triple[j] - state[j + 1]);
            state[j + 1] = triple[j];
        }
    }
    if message[len..].iter().any(|m| !bool::from(m.is_zero())) {
        return Err(Error::Invalid(
            "the decrypted padding is not zero: wrong key, wrong nonce or altered ciphertext"
                .into(),
        ));
    }
    permute(&mut state);
    if state[1] != ciphertext[ciphertext.len() - 1] {
        return Err(Error::Invalid(
            "the ciphertext does not authenticate: wrong key, wrong nonce or altered ciphertext"
                .into(),
        ));
    }
    message.truncate(len);
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::bn254::Fr;
    use ff::Field;

    #[test]
    fn round_trip_and_tamper() {
        let key = (Fr::from(11u64), Fr::from(22u64));
        for len in [1usize, 2, 3, 4, 9] {
            let m: Vec<Fr> = (0..len as u64).map(|i| Fr::from(i * 31 + 5)).collect();
            let c = encrypt(&m, key, 77);
            assert_eq!(c.len(), ciphertext_len(len));
            assert_eq!(decrypt(&c, key, 77, len).unwrap(), m);
            assert!(decrypt(&c, key, 78, len).is_err());
            assert!(decrypt(&c, (key.0, key.1 + Fr::ONE), 77, len).is_err());
            let mut bad = c.clone();
            bad[0] += Fr::ONE;
            assert!(decrypt(&bad, key, 77, len).is_err());
        }
    }
}
