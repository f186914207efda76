//! circomlib's Poseidon over BN254 (x⁵ S-box, 8 full rounds, circomlib's partial rounds, its
//! round constants and MDS matrices as light-poseidon 0.5 ships them), natively: the permutation,
//! the hash `Poseidon(x_1..x_n)` of circomlib / circomlibjs (`n ≤ 12`), and kerafold's
//! [`chain_hash`] over any number of elements.
//!
//! This is *not* nova-snark's Poseidon (used for the Nova state and the model commitment): the
//! bounty's ciphertext, cipher and claim digests must be recomputable with the Ethereum
//! ecosystem's JS tools, which only know circomlib's.

use super::bn254::{assert_bn254, from_ark};
use ff::PrimeField;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Largest state width light-poseidon's circom parameters cover (12 inputs).
pub(crate) const MAX_WIDTH: usize = 13;

/// Elements absorbed per [`chain_hash`] call of Poseidon (12 inputs: the running hash and 11).
pub(crate) const CHAIN_RATE: usize = 11;

/// Poseidon parameters for one state width `t`.
#[derive(Debug)]
pub struct Params<F> {
    /// State width.
    pub t: usize,
    /// Full rounds (half before, half after the partial rounds).
    pub full_rounds: usize,
    /// Partial rounds.
    pub partial_rounds: usize,
    /// Round constants, `t` per round.
    pub ark: Vec<F>,
    /// MDS matrix: `new[i] = Σ_j mds[i][j]·old[j]`.
    pub mds: Vec<Vec<F>>,
}

impl<F> Params<F> {
    /// Whether round `r` applies the S-box to every element.
    pub fn is_full(&self, r: usize) -> bool {
        r < self.full_rounds / 2 || r >= self.full_rounds / 2 + self.partial_rounds
    }
    /// Total number of rounds.
    pub fn rounds(&self) -> usize {
        self.full_rounds + self.partial_rounds
    }
}

type Cache = Mutex<HashMap<(TypeId, usize), Arc<dyn Any + Send + Sync>>>;

/// The parameters of width `t` (2..=13) in field `F` (which must be BN254's scalar field).
pub fn params<F: PrimeField>(t: usize) -> Arc<Params<F>> {
    assert!(
        (2..=MAX_WIDTH).contains(&t),
        "Poseidon width {t} outside 2..=13"
    );
    assert_bn254::<F>();
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let mut map = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.entry((TypeId::of::<F>(), t))
        .or_insert_with(|| {
            let p = light_poseidon::parameters::bn254_x5::get_poseidon_parameters::<ark_bn254::Fr>(
                t as u8,
            )
            .expect("light-poseidon has circom parameters for widths 2..=13");
            assert_eq!(p.alpha, 5);
            Arc::new(Params::<F> {
                t,
                full_rounds: p.full_rounds,
                partial_rounds: p.partial_rounds,
                ark: p.ark.iter().map(from_ark).collect(),
                mds: p
                    .mds
                    .iter()
                    .map(|row| row.iter().map(from_ark).collect())
                    .collect(),
            })
        })
        .clone()
        .downcast::<Params<F>>()
        .expect("cache keyed by type")
}

fn pow5<F: PrimeField>(x: F) -> F {
    let x2 = x.square();
    x2.square() * x
}

/// The Poseidon permutation of a state of width 2..=13, in place.
pub fn permute<F: PrimeField>(state: &mut [F]) {
    let p = params::<F>(state.len());
    let t = p.t;
    for r in 0..p.rounds() {
        for (i, s) in state.iter_mut().enumerate() {
            *s += p.ark[r * t + i];
        }
        if p.is_full(r) {
            state.iter_mut().for_each(|s| *s = pow5(*s));
        } else {
            state[0] = pow5(state[0]);
        }
        let old = state.to_vec();
        for (i, s) in state.iter_mut().enumerate() {
            *s = old
                .iter()
                .zip(&p.mds[i])
                .fold(F::ZERO, |acc, (a, m)| acc + *a * m);
        }
    }
}

/// circomlib's `Poseidon(n)` of 1..=12 inputs: the first element of the permutation of
/// `[0, inputs…]`.
pub fn hash<F: PrimeField>(inputs: &[F]) -> F {
    assert!(
        (1..MAX_WIDTH).contains(&inputs.len()),
        "circom Poseidon takes 1..=12 inputs"
    );
    let mut state = vec![F::ZERO];
    state.extend_from_slice(inputs);
    permute(&mut state);
    state[0]
}

/// The initial value of [`chain_hash`]: `tag·2^64 + n`.
pub(crate) fn chain_init<F: PrimeField>(tag: u64, n: usize) -> F {
    F::from(tag) * F::from_u128(1u128 << 64) + F::from(n as u64)
}

/// kerafold's Poseidon chain over any number of elements, with a domain tag:
/// `h = tag·2^64 + n`, then for each chunk of [`CHAIN_RATE`] elements (the last one zero-padded;
/// one all-zero chunk if `n = 0`) `h = Poseidon(h, chunk…)` with circomlib's 12-input Poseidon.
/// Reproducible with circomlibjs (`tests/vectors/bjj/make_vectors.mjs` does).
pub fn chain_hash<F: PrimeField>(tag: u64, xs: &[F]) -> F {
    let mut h = chain_init::<F>(tag, xs.len());
    let chunks = xs.len().div_ceil(CHAIN_RATE).max(1);
    for c in 0..chunks {
        let mut input = vec![h];
        input.extend(xs.iter().skip(c * CHAIN_RATE).take(CHAIN_RATE));
        input.resize(CHAIN_RATE + 1, F::ZERO);
        h = hash(&input);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::bn254::{to_ark, Fr};
    use light_poseidon::{Poseidon, PoseidonHasher};

    #[test]
    fn matches_light_poseidon() {
        for n in 1..=12usize {
            let xs: Vec<Fr> = (0..n).map(|i| Fr::from(i as u64 * 1000 + 7)).collect();
            let ark: Vec<ark_bn254::Fr> = xs.iter().map(to_ark).collect();
            let want = Poseidon::<ark_bn254::Fr>::new_circom(n)
                .unwrap()
                .hash(&ark)
                .unwrap();
            assert_eq!(to_ark(&hash(&xs)), want, "n = {n}");
        }
    }

    #[test]
    fn circomlib_poseidon_1_2() {
        // circomlibjs poseidon([1, 2]) (also shared/notes/groth16-evm.md §4)
        let h = hash(&[Fr::from(1u64), Fr::from(2u64)]);
        assert_eq!(
            crate::crypto::bn254::to_dec(&h),
            "7853200120776062878684798364095072458815029376092732009249414926327459813530"
        );
    }
}
