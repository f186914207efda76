//! `[v = 0]` as a bit, for a value given as a linear combination: the test behind a masked
//! recurrent cell's padding, an accuracy step's class-equals-label and its first and last fold.
//!
//! A bit `z` (`{name}`, boolean) and a witness `i` (`{name}_inverse`): `v·i = 1 − z`
//! (`{name}_inv`) and `v·z = 0` (`{name}_zero`). For `v ≠ 0` the second forces `z = 0`; for
//! `v = 0` the first forces `z = 1`. Three constraints with the bit's own.

use crate::field::Field;
use nova_snark::frontend::{
    num::AllocatedNum, AllocatedBit, ConstraintSystem, LinearCombination, SynthesisError,
};

/// `[v = 0]` for `v` given as `lc` with value `v` (unknown: `None`, for shapes).
pub fn is_zero<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    name: &str,
    lc: LinearCombination<F>,
    v: Option<F>,
) -> Result<AllocatedBit, SynthesisError> {
    let bit = AllocatedBit::alloc(
        cs.namespace(|| name.to_string()),
        v.map(|v| v.is_zero().into()),
    )?;
    let inv = AllocatedNum::alloc(cs.namespace(|| format!("{name}_inverse")), || {
        let v = v.ok_or(SynthesisError::AssignmentMissing)?;
        Ok(Option::<F>::from(v.invert()).unwrap_or(F::ZERO))
    })?;
    cs.enforce(
        || format!("{name}_inv"),
        |l| l + &lc,
        |l| l + inv.get_variable(),
        |l| l + CS::one() - bit.get_variable(),
    );
    cs.enforce(
        || format!("{name}_zero"),
        |l| l + &lc,
        |l| l + bit.get_variable(),
        |l| l,
    );
    Ok(bit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cs::TamperCs;
    use crate::field::from_i64;
    use crate::step::alloc_i64s;
    use nova_snark::provider::Bn256EngineKZG;
    use nova_snark::traits::Engine;

    type F = <Bn256EngineKZG as Engine>::Scalar;

    /// `[x − 5 = 0]` over `x`, the bit and inverse optionally overridden.
    fn run(x: i64, bit: Option<i64>, inverse: Option<i64>) -> (TamperCs<F>, Option<bool>) {
        let mut cs = TamperCs::<F>::new();
        if let Some(b) = bit {
            cs.override_value("eq/boolean", from_i64::<F>(b));
        }
        if let Some(i) = inverse {
            cs.override_value("eq_inverse/num", from_i64::<F>(i));
        }
        let xs = alloc_i64s(&mut cs, "x", &[x]).unwrap();
        let five = F::from(5u64);
        let lc = LinearCombination::zero() + xs[0].get_variable() - (five, TamperCs::<F>::one());
        let z = is_zero(&mut cs, "eq", lc, xs[0].get_value().map(|x| x - five)).unwrap();
        assert!(cs.unused_overrides().is_empty());
        (cs, z.get_value())
    }

    #[test]
    fn the_bit_is_whether_the_value_is_zero() {
        for (x, want) in [(5, true), (4, false), (-7, false), (1 << 40, false)] {
            let (cs, z) = run(x, None, None);
            assert!(cs.is_satisfied(), "{x}: {:?}", cs.which_is_unsatisfied());
            assert_eq!(z, Some(want), "{x}");
        }
    }

    /// A nonzero value claimed zero fails `_zero` whatever the inverse (with its true inverse,
    /// `_inv` too); zero claimed nonzero fails `_inv` (no `i` makes `0·i = 1`); a bit of 2 fails
    /// its booleanity.
    #[test]
    fn a_forged_bit_fails_its_constraint() {
        let (cs, _) = run(4, Some(1), Some(0));
        assert_eq!(cs.unsatisfied(), ["eq_zero"]);
        let (cs, _) = run(4, Some(1), None);
        assert_eq!(cs.unsatisfied(), ["eq_inv", "eq_zero"]);
        for inverse in [Some(0), Some(1), Some(-3)] {
            let (cs, _) = run(5, Some(0), inverse);
            assert_eq!(cs.unsatisfied(), ["eq_inv"], "inverse {inverse:?}");
        }
        let (cs, _) = run(4, Some(0), Some(7));
        assert_eq!(cs.unsatisfied(), ["eq_inv"], "a wrong inverse");
        let (cs, _) = run(5, Some(2), None);
        assert!(
            cs.unsatisfied().contains(&"eq/boolean constraint"),
            "{:?}",
            cs.unsatisfied()
        );
    }
}
