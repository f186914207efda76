//! Bit decompositions and range checks, the fixed-point building blocks of every gadget.
//!
//! A value `v` is range-checked to `n` bits by allocating `n` bits `b_i` (each constrained by
//! `b·(1 − b) = 0`) and one recomposition constraint `v = Σ b_i·2^i`: `n + 1` constraints.
//! Signed `B`-bit activations are checked as `v + 2^(B−1)` in `B` bits; the top bit is then the
//! sign (`1` ⟺ `v ≥ 0`). This is alias-free because `B ≤ 40 ≪ log2 p`: `Σ b_i·2^i < 2^B` is a
//! small integer, so no second decomposition (such as the bits of `v + p`) exists.
//!
//! Naming: bit `i` of a decomposition is the variable `b{i}` and the booleanity constraint
//! `bit{i}`; the recomposition constraint is `recompose`. Callers put each decomposition in its
//! own namespace (`out12/r/bit3`).

use crate::field::{from_i64, pow2, to_i64};
use crate::spec::FixedPoint;
use ff::PrimeField;
use nova_snark::frontend::{
    num::AllocatedNum, AllocatedBit, ConstraintSystem, Index, LinearCombination, SynthesisError,
    Variable,
};

/// The constant-one variable (input 0 in every nova-snark constraint system).
pub(crate) fn one() -> Variable {
    Variable::new_unchecked(Index::Input(0))
}

/// A synthesis error carrying a message (a failed native twin, an invalid parameter).
pub(crate) fn unsat(msg: impl Into<String>) -> SynthesisError {
    SynthesisError::Unsatisfiable(msg.into())
}

/// Allocates one boolean-constrained bit: variable `b{i}`, constraint `bit{i}`.
pub fn alloc_bit<F: PrimeField, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    i: usize,
    value: Option<bool>,
) -> Result<AllocatedBit, SynthesisError> {
    let var = cs.alloc(
        || format!("b{i}"),
        || {
            value
                .map(|b| if b { F::ONE } else { F::ZERO })
                .ok_or(SynthesisError::AssignmentMissing)
        },
    )?;
    cs.enforce(
        || format!("bit{i}"),
        |lc| lc + var,
        |lc| lc + CS::one() - var,
        |lc| lc,
    );
    Ok(AllocatedBit::from_parts_unchecked(var, value))
}

/// Allocates the `n` low bits of `value`, least significant first (`n` constraints). Errors if
/// `value` does not fit in `n` bits (the witness would not satisfy the caller's constraints).
pub fn alloc_bits<F: PrimeField, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    value: Option<u128>,
    n: u32,
) -> Result<Vec<AllocatedBit>, SynthesisError> {
    if let Some(v) = value {
        if n < 128 && v >> n != 0 {
            return Err(unsat(format!("witness {v} does not fit in {n} bits")));
        }
    }
    (0..n as usize)
        .map(|i| alloc_bit(cs, i, value.map(|v| (v >> i) & 1 == 1)))
        .collect()
}

/// `lc + scale·Σ b_i·2^i`.
pub fn add_bits<F: PrimeField>(
    mut lc: LinearCombination<F>,
    bits: &[AllocatedBit],
    scale: F,
) -> LinearCombination<F> {
    let mut c = scale;
    for b in bits {
        lc = lc + (c, b.get_variable());
        c = c.double();
    }
    lc
}

/// `Σ b_i·2^i`.
pub fn bits_lc<F: PrimeField>(bits: &[AllocatedBit]) -> LinearCombination<F> {
    add_bits(LinearCombination::zero(), bits, F::ONE)
}

/// The integer `Σ b_i·2^i` of the bits' values, if known.
pub fn bits_value(bits: &[AllocatedBit]) -> Option<u128> {
    bits.iter().enumerate().try_fold(0u128, |acc, (i, b)| {
        b.get_value().map(|v| acc | ((v as u128) << i))
    })
}

/// Range-checks the linear combination `v` to `[0, 2^n)`: `n` bits and the constraint
/// `recompose: v = Σ b_i·2^i` (`n + 1` constraints). `value` is the integer value of `v`.
pub fn range_check<F: PrimeField, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    v: &LinearCombination<F>,
    value: Option<u128>,
    n: u32,
) -> Result<Vec<AllocatedBit>, SynthesisError> {
    let bits = alloc_bits(cs, value, n)?;
    cs.enforce(
        || "recompose",
        |lc| lc + CS::one(),
        |lc| lc + v,
        |_| bits_lc(&bits),
    );
    Ok(bits)
}

/// A value proven to lie in the signed activation range `[−2^(B−1), 2^(B−1))`, as a linear
/// combination, with its sign bit when one has been computed.
///
/// Every gadget output in this crate is a `Signed`: the range is enforced by the constraints
/// that produced it (a bit decomposition, or equality with a range-checked input).
#[derive(Clone, Debug)]
pub struct Signed<F: PrimeField> {
    /// The value.
    pub lc: LinearCombination<F>,
    /// Its integer value, if known (`None` at shape synthesis).
    pub value: Option<i64>,
    /// A variable that equals the value, if there is one (then no constraint is needed to
    /// materialise it).
    pub num: Option<AllocatedNum<F>>,
    /// The top bit of the value's offset decomposition: `1` ⟺ value `≥ 0`.
    pub sign: Option<AllocatedBit>,
}

impl<F: PrimeField> Signed<F> {
    /// Wraps a variable already known to be in range (a caller-range-checked input, or a value
    /// constrained equal to one); no sign bit yet.
    pub fn from_num(x: &AllocatedNum<F>) -> Result<Self, SynthesisError> {
        Ok(Self {
            lc: LinearCombination::from_variable(x.get_variable()),
            value: value_i64(x)?,
            num: Some(x.clone()),
            sign: None,
        })
    }

    /// The value as a field element, if known.
    pub fn field_value(&self) -> Option<F> {
        self.value.map(from_i64)
    }
}

/// The signed integer value of an allocated number: `Ok(None)` when unknown (shape synthesis),
/// an error when known but not a 64-bit integer.
pub fn value_i64<F: PrimeField>(x: &AllocatedNum<F>) -> Result<Option<i64>, SynthesisError> {
    match x.get_value() {
        None => Ok(None),
        Some(v) => to_i64(&v)
            .map(Some)
            .ok_or_else(|| unsat("witness value is not a 64-bit integer")),
    }
}

/// The values of `xs` as integers, or `None` if any is unknown.
pub fn values_i64<F: PrimeField>(
    xs: &[AllocatedNum<F>],
) -> Result<Option<Vec<i64>>, SynthesisError> {
    let mut out = Vec::with_capacity(xs.len());
    for x in xs {
        match value_i64(x)? {
            Some(v) => out.push(v),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

/// The offset form `v + 2^(B−1)` of a signed activation, as the `B`-bit unsigned integer its bits
/// encode. Errors if `v` is out of range.
pub fn offset_value(fp: &FixedPoint, v: i64) -> Result<u128, SynthesisError> {
    if !fp.in_range(v) {
        return Err(unsat(format!(
            "value {v} outside the {}-bit activation range",
            fp.bits
        )));
    }
    Ok((v as i128 + (1i128 << (fp.bits - 1))) as u128)
}

/// Signed value from the `B` bits of its offset form: `Σ b_i·2^i − 2^(B−1)`, sign = top bit.
pub fn signed_from_bits<F: PrimeField>(
    bits: Vec<AllocatedBit>,
    value: Option<i64>,
    fp: &FixedPoint,
) -> Signed<F> {
    let lc = bits_lc::<F>(&bits) - (pow2::<F>(fp.bits - 1), one());
    Signed {
        lc,
        value,
        num: None,
        sign: bits.last().cloned(),
    }
}

/// Range-checks the linear combination `v` (integer value `value`) to the signed `B`-bit range:
/// `B` bits of `v + 2^(B−1)` (namespace-relative names `b{i}`, `bit{i}`) and `recompose`.
/// Returns `v` as a [`Signed`] with its sign bit.
pub fn signed_range_check<F: PrimeField, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    v: &LinearCombination<F>,
    value: Option<i64>,
    fp: &FixedPoint,
) -> Result<Signed<F>, SynthesisError> {
    let off = value.map(|v| offset_value(fp, v)).transpose()?;
    let shifted = v.clone() + (pow2::<F>(fp.bits - 1), CS::one());
    let bits = range_check(cs, &shifted, off, fp.bits)?;
    Ok(Signed {
        lc: v.clone(),
        value,
        num: None,
        sign: bits.last().cloned(),
    })
}

/// Range-checks an allocated activation to the signed `B`-bit range (`B + 1` constraints) and
/// returns it with its sign bit.
pub fn signed_num<F: PrimeField, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    x: &AllocatedNum<F>,
    fp: &FixedPoint,
) -> Result<Signed<F>, SynthesisError> {
    let lc = LinearCombination::from_variable(x.get_variable());
    let mut s = signed_range_check(cs, &lc, value_i64(x)?, fp)?;
    s.num = Some(x.clone());
    Ok(s)
}

/// `⌈log2 n⌉` for `n ≥ 1`.
pub fn ceil_log2(n: usize) -> u32 {
    usize::BITS - (n.max(1) - 1).leading_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cs::TamperCs;
    use nova_snark::provider::PallasEngine;
    use nova_snark::traits::Engine;
    type F = <PallasEngine as Engine>::Scalar;

    const FP: FixedPoint = FixedPoint {
        fa: 4,
        fw: 4,
        bits: 8,
        guard: 1,
    };

    fn check(v: i64) -> TamperCs<F> {
        let mut cs = TamperCs::<F>::new();
        let x = AllocatedNum::alloc(cs.namespace(|| "x"), || Ok(from_i64::<F>(v))).unwrap();
        let s = signed_num(&mut cs.namespace(|| "range"), &x, &FP).unwrap();
        assert_eq!(s.sign.unwrap().get_value(), Some(v >= 0));
        cs
    }

    #[test]
    fn signed_range_check_accepts_the_whole_range() {
        for v in FP.min()..=FP.max() {
            let cs = check(v);
            assert!(cs.is_satisfied(), "{v}");
            assert_eq!(cs.num_constraints(), FP.bits as usize + 1);
        }
    }

    #[test]
    fn out_of_range_is_a_witness_error_not_a_panic() {
        let mut cs = TamperCs::<F>::new();
        let x = AllocatedNum::alloc(cs.namespace(|| "x"), || Ok(from_i64::<F>(128))).unwrap();
        assert!(signed_num(&mut cs.namespace(|| "range"), &x, &FP).is_err());
    }

    #[test]
    fn ceil_log2_values() {
        assert_eq!([1, 2, 3, 4, 5, 8, 9].map(ceil_log2), [0, 1, 2, 2, 3, 3, 4]);
    }
}
