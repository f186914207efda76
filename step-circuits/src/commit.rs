//! Tensor commitments: Poseidon (nova-snark's wide sponge) over the blinding value and the
//! tensor packed `field::per_element(bits)` values per field element.
//!
//! `commit_native(values, bits, blind) = field::hash([blind] ++ pack_activations(values, bits))`.
//! The gadget allocates each packed element (`pack{c}/num`, one constraint `pack{c}_eq`) and
//! hashes with `PoseidonROCircuit` (`hash/…`), squeezing the full field element. Packing is
//! injective only on in-range values, so a tensor must be range-checked before it is committed:
//! [`open`] does that for a tensor it receives; every step output ([`crate::step::step`]) is in range
//! by construction. The tensor length is fixed by the circuit shape (the sponge's IO pattern
//! also binds the number of packed elements).

use crate::field::{self, pack_activations, per_element, pow2, Field};
use crate::range::{one, signed_num, unsat, Signed};
use crate::spec::FixedPoint;
use nova_snark::frontend::{
    num::AllocatedNum, ConstraintSystem, LinearCombination, SynthesisError,
};
use nova_snark::provider::poseidon::PoseidonROCircuit;
use nova_snark::traits::ROCircuitTrait;

/// Native twin of [`commit`]: the commitment to `values` (signed `bits`-bit integers).
pub fn commit_native<F: Field>(values: &[i64], bits: u32, blind: F) -> F {
    let mut inputs = vec![blind];
    inputs.extend(pack_activations::<F>(values, bits));
    field::hash(&inputs)
}

fn check_bits(bits: u32) -> Result<(), SynthesisError> {
    if !(2..=40).contains(&bits) {
        return Err(unsat(format!("activation bits {bits} outside 2..=40")));
    }
    Ok(())
}

/// Commits to `values` (already range-checked to `bits` bits) with blinding value `blind`.
/// Returns the commitment. Cost: one constraint per packed element plus the Poseidon sponge
/// (about 32.4 constraints per absorbed element).
pub fn commit<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    values: &[AllocatedNum<F>],
    blind: &AllocatedNum<F>,
    bits: u32,
) -> Result<AllocatedNum<F>, SynthesisError> {
    check_bits(bits)?;
    let off = pow2::<F>(bits - 1);
    let step = pow2::<F>(bits);
    let mut ro = PoseidonROCircuit::<F>::new((*field::poseidon_constants::<F>()).clone());
    ro.absorb(blind);
    for (c, chunk) in values.chunks(per_element(bits)).enumerate() {
        let mut lc = LinearCombination::<F>::zero();
        let mut value = Some(F::ZERO);
        let mut scale = F::ONE;
        for v in chunk {
            lc = lc + (scale, v.get_variable()) + (off * scale, one());
            value = value
                .zip(v.get_value())
                .map(|(acc, x)| acc + (x + off) * scale);
            scale *= step;
        }
        let packed = AllocatedNum::alloc(cs.namespace(|| format!("pack{c}")), || {
            value.ok_or(SynthesisError::AssignmentMissing)
        })?;
        cs.enforce(
            || format!("pack{c}_eq"),
            |l| l + one(),
            |_| lc,
            |l| l + packed.get_variable(),
        );
        ro.absorb(&packed);
    }
    ro.squeeze_scalar(cs.namespace(|| "hash"))
}

/// An opened tensor: its values with their range checks (sign bits), and the commitment.
#[derive(Clone, Debug)]
pub struct Opened<F: ff::PrimeField> {
    /// The values, range-checked to the signed `bits`-bit range, with sign bits.
    pub values: Vec<Signed<F>>,
    /// The recomputed commitment (constrained equal to the expected one).
    pub commitment: AllocatedNum<F>,
}

/// Opens a commitment: range-checks every value to `bits` bits (`range{j}/bit{i}`,
/// `range{j}/recompose`: `bits + 1` constraints each), commits (`commit/…`) and enforces that the
/// commitment equals `expected` (`eq`).
pub fn open<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    values: &[AllocatedNum<F>],
    blind: &AllocatedNum<F>,
    bits: u32,
    expected: &AllocatedNum<F>,
) -> Result<Opened<F>, SynthesisError> {
    check_bits(bits)?;
    // Only `bits` matters to the range check.
    let fp = FixedPoint {
        fa: 1,
        fw: 1,
        bits,
        guard: 1,
    };
    let checked = values
        .iter()
        .enumerate()
        .map(|(j, v)| signed_num(&mut cs.namespace(|| format!("range{j}")), v, &fp))
        .collect::<Result<Vec<_>, _>>()?;
    let c = commit(&mut cs.namespace(|| "commit"), values, blind, bits)?;
    cs.enforce(
        || "eq",
        |l| l + one(),
        |l| l + c.get_variable(),
        |l| l + expected.get_variable(),
    );
    Ok(Opened {
        values: checked,
        commitment: c,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cs::TamperCs;
    use crate::step::alloc_i64s;
    use nova_snark::provider::{Bn256EngineKZG, PallasEngine};
    use nova_snark::traits::Engine;

    fn gadget_equals_twin<F: Field>(n: usize, bits: u32) {
        let half = 1i64 << (bits - 1);
        let values: Vec<i64> = (0..n as i64)
            .map(|i| (i * 7919 + 13) % (2 * half) - half)
            .collect();
        let blind = F::from(0xdead_beef);
        let want = commit_native::<F>(&values, bits, blind);
        let mut cs = TamperCs::<F>::new();
        let x = alloc_i64s(&mut cs, "x", &values).unwrap();
        let b = AllocatedNum::alloc(cs.namespace(|| "blind"), || Ok(blind)).unwrap();
        let e = AllocatedNum::alloc(cs.namespace(|| "expected"), || Ok(want)).unwrap();
        let opened = open(&mut cs, &x, &b, bits, &e).unwrap();
        assert_eq!(opened.commitment.get_value(), Some(want));
        assert!(cs.is_satisfied(), "{:?}", cs.which_is_unsatisfied());
        for (s, v) in opened.values.iter().zip(&values) {
            assert_eq!(s.sign.as_ref().unwrap().get_value(), Some(*v >= 0));
        }
    }

    #[test]
    fn commitment_gadget_equals_native_twin() {
        type Fb = <Bn256EngineKZG as Engine>::Scalar;
        type Fp = <PallasEngine as Engine>::Scalar;
        // 1 and several packed elements, and more than one sponge block (> 24 absorbs)
        for (n, bits) in [(1, 16), (15, 16), (16, 16), (100, 8), (200, 12)] {
            gadget_equals_twin::<Fb>(n, bits);
        }
        gadget_equals_twin::<Fp>(31, 16);
        gadget_equals_twin::<Fp>(0, 16);
    }

    #[test]
    fn commitment_depends_on_every_value_and_the_blind() {
        type Fp = <PallasEngine as Engine>::Scalar;
        let v = [1i64, -2, 3, 4, -5];
        let c = commit_native::<Fp>(&v, 8, Fp::from(9));
        assert_ne!(c, commit_native::<Fp>(&v, 8, Fp::from(10)));
        for i in 0..v.len() {
            let mut w = v;
            w[i] += 1;
            assert_ne!(c, commit_native::<Fp>(&w, 8, Fp::from(9)));
        }
        // the length is fixed by the circuit shape, not by the commitment: a trailing minimum
        // value inside the last packed element packs to nothing
        assert_eq!(
            c,
            commit_native::<Fp>(&[1, -2, 3, 4, -5, -128], 8, Fp::from(9))
        );
    }
}
