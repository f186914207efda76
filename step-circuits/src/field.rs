//! Field helpers shared by the native twins and the gadgets: signed integers as field elements,
//! packing.

use ff::{PrimeField, PrimeFieldBits};
use serde::{de::DeserializeOwned, Serialize};

/// The scalar fields kerafold works over (BN254 and Pallas/Vesta scalars).
pub trait Field: PrimeField + PrimeFieldBits + Serialize + DeserializeOwned {}
impl<T: PrimeField + PrimeFieldBits + Serialize + DeserializeOwned> Field for T {}

/// Bits of a field element that packing may use. Fixed below every supported field's capacity
/// (BN254 and Pasta both exceed 2^253), so that circuit layouts do not depend on the curve.
pub const PACK_CAPACITY: u32 = 248;

/// A signed integer as a field element (`−x` is `p − x`).
pub fn from_i64<F: PrimeField>(x: i64) -> F {
    from_i128(x as i128)
}

/// A signed 128-bit integer as a field element.
pub fn from_i128<F: PrimeField>(x: i128) -> F {
    let mag = F::from_u128(x.unsigned_abs());
    if x < 0 {
        -mag
    } else {
        mag
    }
}

/// `2^k` as a field element.
pub fn pow2<F: PrimeField>(k: u32) -> F {
    F::from(2u64).pow_vartime([k as u64])
}

fn le_bytes<F: PrimeField>(f: &F) -> Vec<u8> {
    let repr = f.to_repr();
    let bytes = repr.as_ref().to_vec();
    // Every field kerafold supports has a little-endian representation; guard anyway.
    debug_assert_eq!(
        F::ONE.to_repr().as_ref()[0],
        1,
        "big-endian field representation"
    );
    bytes
}

/// The field element as a signed integer, if it is within `±2^126`.
pub fn to_i128<F: PrimeField>(f: &F) -> Option<i128> {
    let small = |g: &F| -> Option<u128> {
        let b = le_bytes(g);
        if b[16..].iter().any(|&x| x != 0) {
            return None;
        }
        let v = u128::from_le_bytes(b[..16].try_into().ok()?);
        (v < (1u128 << 126)).then_some(v)
    };
    if let Some(v) = small(f) {
        return Some(v as i128);
    }
    small(&-*f).map(|v| -(v as i128))
}

/// The field element as a signed 64-bit integer, if it is one.
pub fn to_i64<F: PrimeField>(f: &F) -> Option<i64> {
    to_i128(f).and_then(|v| i64::try_from(v).ok())
}

/// How many `bits`-bit values one field element holds when packed.
pub fn per_element(bits: u32) -> usize {
    (PACK_CAPACITY / bits) as usize
}

/// Packs activations (signed, `bits`-bit range) into field elements: each value is offset by
/// `2^(bits−1)` to `[0, 2^bits)` and `per_element(bits)` of them fill one element, the first value
/// in the lowest bits. Injective on in-range values; the caller range-checks.
pub fn pack_activations<F: PrimeField>(values: &[i64], bits: u32) -> Vec<F> {
    let offset = 1i128 << (bits - 1);
    values
        .chunks(per_element(bits))
        .map(|chunk| {
            let mut acc = F::ZERO;
            let mut scale = F::ONE;
            let step = pow2::<F>(bits);
            for &v in chunk {
                acc += from_i128::<F>(v as i128 + offset) * scale;
                scale *= step;
            }
            acc
        })
        .collect()
}

/// Packs signed integers as lanes of `lane_bits` bits: `Σ_j v[j]·2^(lane_bits·j)` (exact signed
/// arithmetic, no offset). Used for weights: a product of one input with a packed weight element
/// multiplies every lane at once; and for a tile's carried partial sums (`i128`).
pub fn pack_lanes<F: PrimeField, V: Copy + Into<i128>>(values: &[V], lane_bits: u32) -> F {
    let step = pow2::<F>(lane_bits);
    let mut acc = F::ZERO;
    let mut scale = F::ONE;
    for &v in values {
        acc += from_i128::<F>(v.into()) * scale;
        scale *= step;
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use nova_snark::provider::{Bn256EngineKZG, PallasEngine};
    use nova_snark::traits::Engine;
    type Fb = <Bn256EngineKZG as Engine>::Scalar;
    type Fp = <PallasEngine as Engine>::Scalar;

    #[test]
    fn signed_round_trip() {
        for v in [0i64, 1, -1, 12345, -98765, i64::MAX, i64::MIN + 1] {
            assert_eq!(to_i64(&from_i64::<Fb>(v)), Some(v));
            assert_eq!(to_i64(&from_i64::<Fp>(v)), Some(v));
        }
        assert_eq!(to_i128(&pow2::<Fb>(200)), None);
    }

    #[test]
    fn packing_is_positional() {
        let p: Vec<Fb> = pack_activations(&[-2, 1], 4);
        // (-2 + 8) + (1 + 8)·16
        assert_eq!(p, vec![Fb::from(6 + 9 * 16)]);
        assert_eq!(
            pack_lanes::<Fb, i64>(&[3, -1], 10),
            Fb::from(3) - Fb::from(1024)
        );
        assert_eq!(per_element(16), 15);
    }
}
