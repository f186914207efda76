//! One-hot encoding of token ids: the lookup of an Embedding layer, whose table then applies as
//! a 1×1 convolution (a Dense on the last axis).
//!
//! The input is a token id at activation scale, `x = id·2^fa`. Per token `j` (namespace
//! `tok{j}`): `V` variables `h_i` with `h_i·(h_i − 2^fa) = 0` (`hot{i}`: each is `0` or `2^fa`,
//! i.e. 0 or 1.0), `Σ h_i = 2^fa` (`one`: exactly one is hot) and `Σ i·h_i = x` (`index`: the hot
//! one is the token's id): `V + 2` constraints, no range check (`2^fa` is in range). An input
//! that is not `id·2^fa` for an id below `V` has no satisfying assignment.

use crate::field::{pow2, Field};
use crate::linear::twin_err;
use crate::native;
use crate::range::{value_i64, Signed};
use crate::spec::FixedPoint;
use nova_snark::frontend::{num::AllocatedNum, ConstraintSystem, SynthesisError};

/// The one-hot rows of the `x.len()` tokens over a vocabulary of `vocab`: `x.len()·vocab`
/// outputs, token-major.
pub fn one_hot<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    x: &[AllocatedNum<F>],
    vocab: usize,
    fp: &FixedPoint,
) -> Result<Vec<Signed<F>>, SynthesisError> {
    let unit = pow2::<F>(fp.fa);
    let mut out = Vec::with_capacity(x.len() * vocab);
    for (j, xj) in x.iter().enumerate() {
        let mut cs = cs.namespace(|| format!("tok{j}"));
        let id = match value_i64(xj)? {
            Some(v) => Some(native::token_id(v, vocab, fp, j).map_err(twin_err)?),
            None => None,
        };
        let mut hot = Vec::with_capacity(vocab);
        for i in 0..vocab {
            let h = AllocatedNum::alloc(cs.namespace(|| format!("hot{i}")), || {
                let id = id.ok_or(SynthesisError::AssignmentMissing)?;
                Ok(if id == i { unit } else { F::ZERO })
            })?;
            cs.enforce(
                || format!("hot{i}_is_0_or_1"),
                |lc| lc + h.get_variable(),
                |lc| lc + h.get_variable() - (unit, CS::one()),
                |lc| lc,
            );
            hot.push(h);
        }
        cs.enforce(
            || "one",
            |lc| hot.iter().fold(lc, |lc, h| lc + h.get_variable()),
            |lc| lc + CS::one(),
            |lc| lc + (unit, CS::one()),
        );
        cs.enforce(
            || "index",
            |lc| {
                hot.iter()
                    .enumerate()
                    .fold(lc, |lc, (i, h)| lc + (F::from(i as u64), h.get_variable()))
            },
            |lc| lc + CS::one(),
            |lc| lc + xj.get_variable(),
        );
        for h in &hot {
            out.push(Signed::from_num(h)?);
        }
    }
    Ok(out)
}
