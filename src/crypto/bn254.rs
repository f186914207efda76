//! The BN254 scalar field as the three libraries involved see it: nova-snark's (halo2curves)
//! [`Fr`], arkworks' [`ark_bn254::Fr`] (also Baby Jubjub's base field), and decimal strings (what
//! circomlibjs, snarkjs and Solidity print).

use crate::{Error, Result};
use ark_ff::{BigInteger, PrimeField as _};
use ff::PrimeField;

/// The BN254 scalar field as nova-snark sees it: the field of every bounty circuit.
pub type Fr = nova_snark::provider::bn256_grumpkin::bn256::Scalar;

/// The BN254 scalar field modulus `r` (decimal).
pub const MODULUS_DEC: &str =
    "21888242871839275222246405745257275088548364400416034343698204186575808495617";

/// Panics unless `F` is the BN254 scalar field: circomlib's constants are defined over it only.
pub(crate) fn assert_bn254<F: PrimeField>() {
    assert_eq!(
        F::MODULUS,
        <Fr as PrimeField>::MODULUS,
        "circom-compatible primitives are defined over the BN254 scalar field only"
    );
}

/// arkworks → nova (`F` must be the BN254 scalar field).
pub(crate) fn from_ark<F: PrimeField>(x: &ark_bn254::Fr) -> F {
    let bytes = x.into_bigint().to_bytes_le();
    let mut repr = F::Repr::default();
    repr.as_mut().copy_from_slice(&bytes);
    Option::from(F::from_repr(repr)).expect("same modulus")
}

/// nova → arkworks (`F` must be the BN254 scalar field).
pub fn to_ark<F: PrimeField>(x: &F) -> ark_bn254::Fr {
    ark_bn254::Fr::from_le_bytes_mod_order(x.to_repr().as_ref())
}

/// Decimal string of a field element's canonical value.
pub fn to_dec<F: PrimeField>(x: &F) -> String {
    to_ark(x).into_bigint().to_string()
}

/// The canonical 32 big-endian bytes of a field element (the EVM's `uint256`).
pub fn to_be32<F: PrimeField>(x: &F) -> [u8; 32] {
    let mut b: [u8; 32] = x.to_repr().as_ref().try_into().expect("32 bytes");
    b.reverse();
    b
}

/// Parses a decimal (or `0x` hex) string as a field element, rejecting values `≥ r`.
pub fn from_dec<F: PrimeField>(s: &str, what: &str) -> Result<F> {
    let bytes = parse_uint_be(s).ok_or_else(|| {
        Error::Invalid(format!("{what}: '{s}' is not a decimal or 0x-hex integer"))
    })?;
    let mut repr = F::Repr::default();
    let n = repr.as_ref().len();
    if bytes.len() > n && bytes[..bytes.len() - n].iter().any(|&b| b != 0) {
        return Err(Error::Invalid(format!(
            "{what}: '{s}' is not below the field modulus"
        )));
    }
    for (i, b) in bytes.iter().rev().take(n).enumerate() {
        repr.as_mut()[i] = *b;
    }
    Option::from(F::from_repr(repr))
        .ok_or_else(|| Error::Invalid(format!("{what}: '{s}' is not below the field modulus")))
}

/// A non-negative integer in decimal or `0x` hex as big-endian bytes (at least 32).
fn parse_uint_be(s: &str) -> Option<Vec<u8>> {
    let mut out = vec![0u8; 32];
    let (digits, base) = match s.strip_prefix("0x") {
        Some(h) => (h, 16u32),
        None => (s, 10u32),
    };
    if digits.is_empty() || digits.len() > 100 {
        return None;
    }
    for c in digits.chars() {
        let d = c.to_digit(base)?;
        // out = out·base + d
        let mut carry = d;
        for b in out.iter_mut().rev() {
            let v = (*b as u32) * base + carry;
            *b = v as u8;
            carry = v >> 8;
        }
        if carry != 0 {
            out.insert(0, carry as u8);
        }
    }
    Some(out)
}

/// `x` as a field element (`x < 2^128`).
pub fn from_u128<F: PrimeField>(x: u128) -> F {
    F::from_u128(x)
}

/// Lowest 128 bits of the canonical value, if the value is below `2^128`.
pub(crate) fn to_u128<F: PrimeField>(x: &F) -> Option<u128> {
    let r = x.to_repr();
    let b = r.as_ref();
    if b[16..].iter().any(|&v| v != 0) {
        return None;
    }
    Some(u128::from_le_bytes(b[..16].try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::Field;

    #[test]
    fn conversions_round_trip() {
        for x in [
            Fr::ZERO,
            Fr::ONE,
            -Fr::ONE,
            Fr::from(5u64),
            Fr::from_u128(u128::MAX),
        ] {
            assert_eq!(from_ark::<Fr>(&to_ark(&x)), x);
            assert_eq!(from_dec::<Fr>(&to_dec(&x), "x").unwrap(), x);
        }
        assert_eq!(
            to_dec(&-Fr::ONE),
            "21888242871839275222246405745257275088548364400416034343698204186575808495616"
        );
        assert_eq!(to_dec(&Fr::ZERO), "0");
        assert!(from_dec::<Fr>(MODULUS_DEC, "r").is_err());
        assert!(from_dec::<Fr>("12a", "x").is_err());
        assert_eq!(from_dec::<Fr>("0x10", "x").unwrap(), Fr::from(16u64));
        assert_eq!(to_be32(&Fr::from(258u64))[30..], [1, 2]);
        assert_eq!(to_u128(&Fr::from_u128(7)), Some(7));
        assert_eq!(to_u128(&-Fr::ONE), None);
    }
}
