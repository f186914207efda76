//! The HyperKZG key of a tau drawn on this machine (`--insecure-random-tau`, tests and demos).
//!
//! nova-snark's `CommitmentKey::setup_from_rng` multiplies the generator by each power of tau
//! with a full double-and-add (and an inversion per point) below 100,000 powers: a third of a
//! small model's whole prove-and-verify. Here each power costs one mixed addition per byte of
//! the scalar, from a table of the generator's byte multiples, and the points are normalized in
//! one batch. The key is the same one nova-snark makes from that tau (tested below).

use ff::{Field, PrimeField};
use group::{Curve, Group};
use nova_snark::provider::bn256_grumpkin::bn256::{Affine, Point, Scalar};
use nova_snark::provider::hyperkzg::CommitmentKey;
use nova_snark::provider::traits::{DlogGroup, PairingGroup};
use nova_snark::provider::Bn256EngineKZG;
use rayon::prelude::*;

/// Bits per table window: a scalar's little-endian bytes index the windows directly.
const WINDOW_BITS: usize = 8;
/// Windows covering a 256-bit representation.
const WINDOWS: usize = 256 / WINDOW_BITS;

/// The key of powers `tau^0 .. tau^(n-1)` (n rounded up to a power of two, as nova-snark does),
/// its blinding generator hashed from `label`.
pub(crate) fn key_of_tau(
    label: &'static [u8],
    tau: Scalar,
    n: usize,
) -> std::result::Result<CommitmentKey<Bn256EngineKZG>, nova_snark::errors::NovaError> {
    let n = n.next_power_of_two();
    let mut powers = Vec::with_capacity(n);
    let mut p = Scalar::ONE;
    for _ in 0..n {
        powers.push(p);
        p *= tau;
    }
    let ck = generator_multiples(&powers);
    let h = Point::from_label(label, 1)[0];
    let tau_h = (<<Point as PairingGroup>::G2 as DlogGroup>::gen() * tau).affine();
    CommitmentKey::new(ck, h, tau_h)
}

/// `g·s` for every scalar `s`, `g` the group's generator, in affine form.
fn generator_multiples(scalars: &[Scalar]) -> Vec<Affine> {
    // table[j][d - 1] = g · d · 2^(8j), for d in 1..256
    let table: Vec<Vec<Affine>> = {
        let mut rows = Vec::with_capacity(WINDOWS);
        let mut base = Point::generator();
        for _ in 0..WINDOWS {
            let mut row = Vec::with_capacity((1 << WINDOW_BITS) - 1);
            let mut acc = base;
            for _ in 1..(1 << WINDOW_BITS) {
                row.push(acc);
                acc += base;
            }
            base = acc; // g · 2^(8(j+1))
            let mut affine = vec![Affine::default(); row.len()];
            Point::batch_normalize(&row, &mut affine);
            rows.push(affine);
        }
        rows
    };
    let projective: Vec<Point> = scalars
        .par_iter()
        .map(|s| {
            let repr = s.to_repr();
            let mut acc = Point::identity();
            for (j, &d) in repr.as_ref().iter().enumerate() {
                if d != 0 {
                    acc += table[j][d as usize - 1];
                }
            }
            acc
        })
        .collect();
    let mut affine = vec![Affine::default(); projective.len()];
    projective
        .par_chunks(1 << 12)
        .zip(affine.par_chunks_mut(1 << 12))
        .for_each(|(p, a)| Point::batch_normalize(p, a));
    affine
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::RngCore;

    /// A fixed byte stream, so that nova-snark and this module draw the same tau.
    struct Counter(u64);

    impl RngCore for Counter {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for chunk in dest.chunks_mut(8) {
                let v = self.next_u64().to_le_bytes();
                chunk.copy_from_slice(&v[..chunk.len()]);
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    #[test]
    fn the_key_is_nova_snarks_key_of_that_tau() {
        const LABEL: &[u8] = b"random tau test";
        for (seed, n) in [(1, 1usize), (2, 5), (3, 300)] {
            let nova = CommitmentKey::<Bn256EngineKZG>::setup_from_rng(LABEL, n, Counter(seed));
            let tau = Scalar::random(Counter(seed));
            let ours = key_of_tau(LABEL, tau, n).unwrap();
            assert_eq!(ours.ck(), nova.ck(), "n = {n}");
            assert_eq!(ours.h(), nova.h());
            assert_eq!(ours.tau_H(), nova.tau_H());
        }
    }

    #[test]
    fn every_byte_of_a_scalar_reaches_its_window() {
        let scalars = [
            Scalar::ZERO,
            Scalar::ONE,
            -Scalar::ONE,
            Scalar::from(255),
            Scalar::from(256),
            Scalar::from(u64::MAX),
        ];
        let ours = generator_multiples(&scalars);
        for (s, p) in scalars.iter().zip(&ours) {
            assert_eq!(*p, (Point::generator() * s).to_affine(), "{s:?}");
        }
    }
}
