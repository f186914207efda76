//! The dispatch entry point the folding circuit calls: one step = views, then the op, then the
//! activation; and the constraint count of a step's shape.
//!
//! Namespaces: `views/…` (the shared zero), `op/…` (the op's gadget), `argmax/…`,
//! `act/out{o}/…` (the activation of output `o`).

use crate::activation::{activate, check_act};
use crate::argmax::argmax_with_zero;
use crate::cs::CountingCs;
use crate::elementwise::{concat, identity, merge};
use crate::field::{from_i64, Field, PACK_CAPACITY};
use crate::linear::{check_lens, linear_with_zero};
use crate::packing;
use crate::pooling::{avg_pool, max_pool};
use crate::range::{unsat, Signed};
use crate::spec::{Act, FixedPoint, Op, ViewOp};
use crate::view::{apply_views, chain_input_len};
use nova_snark::frontend::{num::AllocatedNum, ConstraintSystem, SynthesisError};

/// What a step produces.
#[derive(Clone, Debug)]
pub struct StepOut<F: ff::PrimeField> {
    /// The output activations `act(op(views(x)))`, each in the `B`-bit range.
    pub y: Vec<AllocatedNum<F>>,
    /// For `Op::ArgMax`: the index of the first maximum of the (viewed) input.
    pub argmax: Option<AllocatedNum<F>>,
}

/// One step: applies `views` to `x`, then `op` (with packed weights `w`, `b` for linear ops,
/// the saved tensor `skip` for a merge; ignored otherwise), then `act`. `x` and `skip` must be
/// range-checked by the caller; `w` and `b` are the packed weight elements in the
/// [`crate::packing`] layout (empty for ops without weights). The outputs equal
/// [`crate::native::apply`] on the viewed input.
#[allow(clippy::too_many_arguments)]
pub fn step<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    op: &Op,
    act: &Act,
    views: &[ViewOp],
    x: &[AllocatedNum<F>],
    skip: Option<&[AllocatedNum<F>]>,
    w: &[AllocatedNum<F>],
    b: &[AllocatedNum<F>],
    fp: &FixedPoint,
) -> Result<StepOut<F>, SynthesisError> {
    fp.validate(PACK_CAPACITY).map_err(unsat)?;
    check_act(act, fp)?;
    let (xv, zero) = apply_views(&mut cs.namespace(|| "views"), views, x, op.input_len())?;
    check_lens(op, &xv, w, b, fp)?;
    if let Op::Recurrent(r) = op {
        // the cell applies its two activations itself
        let y = crate::recurrent::recurrent(&mut cs.namespace(|| "op"), r, act, &xv, w, b, fp)?;
        return Ok(StepOut { y, argmax: None });
    }
    let qs: Vec<Signed<F>> = {
        let mut ns = cs.namespace(|| "op");
        match op {
            Op::Dense(_) | Op::Conv(_) | Op::Depthwise(_) | Op::Affine(_) => {
                linear_with_zero(&mut ns, op, &xv, w, b, fp, zero)?
            }
            Op::MaxPool(s) => max_pool(&mut ns, s, &xv, fp)?,
            Op::AvgPool(s) => avg_pool(&mut ns, s, &xv, fp)?,
            Op::Merge {
                merge: m,
                saved_first,
                ..
            } => {
                let skip = skip.ok_or_else(|| unsat("merge without a saved tensor"))?;
                merge(&mut ns, *m, *saved_first, &xv, skip, fp)?
            }
            Op::Concat(c) => {
                let skip = skip.ok_or_else(|| unsat("concatenate without a saved tensor"))?;
                concat(c, &xv, skip)?
            }
            Op::OneHot { vocab, .. } => crate::onehot::one_hot(&mut ns, &xv, *vocab, fp)?,
            Op::LayerNorm(l) => crate::layernorm::layer_norm(&mut ns, l, &xv, fp)?,
            Op::Swap { .. } => {
                let skip = skip.ok_or_else(|| unsat("swap without a saved tensor"))?;
                identity(skip)?
            }
            Op::Identity { .. } | Op::ArgMax { .. } => identity(&xv)?,
            Op::Recurrent(_) => return Err(unsat("a recurrent layer runs its cell above")),
        }
    };
    let argmax = match op {
        Op::ArgMax { .. } => Some(argmax_with_zero(
            &mut cs.namespace(|| "argmax"),
            &xv,
            fp,
            zero,
        )?),
        _ => None,
    };
    let mut ns = cs.namespace(|| "act");
    let y = qs
        .iter()
        .enumerate()
        .map(|(o, q)| activate(&mut ns.namespace(|| format!("out{o}")), act, q, fp, o))
        .collect::<Result<_, _>>()?;
    Ok(StepOut { y, argmax })
}

/// Allocates free inputs of the right lengths for a step (values unknown: `x{i}`, `skip{i}`,
/// `w{i}`, `b{i}`) and synthesizes it: the step's shape.
pub fn synthesize_shape<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    op: &Op,
    act: &Act,
    views: &[ViewOp],
    fp: &FixedPoint,
) -> Result<StepOut<F>, SynthesisError> {
    let n_in = chain_input_len(views, op.input_len());
    let x = alloc_nums(cs, "x", &vec![None; n_in])?;
    let skip = match op.saved_len() {
        Some(n) => Some(alloc_nums(cs, "skip", &vec![None; n])?),
        None => None,
    };
    let (wl, bl) = packing::packed_lens(op, fp);
    let w = alloc_nums(cs, "w", &vec![None; wl])?;
    let b = alloc_nums(cs, "b", &vec![None; bl])?;
    step(cs, op, act, views, &x, skip.as_deref(), &w, &b, fp)
}

/// The number of constraints of one step, from a real (shape-only) synthesis. Errors if the step
/// is invalid (mismatched views, bad parameters).
pub fn count_constraints(
    op: &Op,
    act: &Act,
    views: &[ViewOp],
    fp: &FixedPoint,
) -> Result<usize, SynthesisError> {
    type Fr = <nova_snark::provider::Bn256EngineKZG as nova_snark::traits::Engine>::Scalar;
    let mut cs = CountingCs::<Fr>::new();
    synthesize_shape(&mut cs, op, act, views, fp)?;
    Ok(cs.num_constraints())
}

/// Allocates a free variable `{name}/num` with value `v` (`None`: unknown, for shapes); the
/// caller constrains it.
pub fn alloc_num<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    name: &str,
    v: Option<F>,
) -> Result<AllocatedNum<F>, SynthesisError> {
    AllocatedNum::alloc(cs.namespace(|| name.to_string()), || {
        v.ok_or(SynthesisError::AssignmentMissing)
    })
}

/// Allocates field elements as free variables `{name}{i}/num` (`None`: unknown, for shapes).
/// A helper for callers and tests: a real circuit binds its inputs by opening a commitment.
pub fn alloc_nums<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    name: &str,
    values: &[Option<F>],
) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| alloc_num(cs, &format!("{name}{i}"), *v))
        .collect()
}

/// [`alloc_nums`] for signed integers.
pub fn alloc_i64s<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    name: &str,
    values: &[i64],
) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
    let fs: Vec<Option<F>> = values.iter().map(|&v| Some(from_i64(v))).collect();
    alloc_nums(cs, name, &fs)
}
