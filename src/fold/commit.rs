//! The commitments of the folded state, natively and in the circuit: tensor commitments, the
//! architecture chain and the model chain (DESIGN.md §4).

use super::arch::Architecture;
use crate::model::QuantizedModel;
use kerafold_step_circuits::commit::commit_native;
use kerafold_step_circuits::field::{hash, poseidon_constants};
use kerafold_step_circuits::Field;
use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::{ConstraintSystem, SynthesisError};
use nova_snark::provider::poseidon::PoseidonROCircuit;
use nova_snark::traits::ROCircuitTrait;

/// Poseidon (the same sponge as [`kerafold_step_circuits::field::hash`]) in the circuit.
pub fn hash_gadget<F: Field, CS: ConstraintSystem<F>>(
    mut cs: CS,
    inputs: &[AllocatedNum<F>],
) -> Result<AllocatedNum<F>, SynthesisError> {
    let mut ro = PoseidonROCircuit::<F>::new((*poseidon_constants::<F>()).clone());
    for x in inputs {
        ro.absorb(x);
    }
    ro.squeeze_scalar(cs.namespace(|| "poseidon"))
}

/// Commitment to a tensor zero-padded to `width`.
pub fn tensor_commitment<F: Field>(values: &[i64], width: usize, bits: u32, blind: F) -> F {
    let mut v = values.to_vec();
    v.resize(width, 0);
    commit_native(&v, bits, blind)
}

/// Commitment to the all-zero tensor: the residual state when nothing is saved.
pub fn zero_tensor_commitment<F: Field>(width: usize, bits: u32) -> F {
    tensor_commitment(&[], width, bits, F::ZERO)
}

/// The architecture chain after every step (the value the final state must hold).
pub fn arch_chain<F: Field>(arch: &Architecture) -> F {
    arch.steps.iter().fold(F::ZERO, |acc, s| {
        hash(&[
            acc,
            F::from(s.slot as u64),
            F::from(s.n_out as u64),
            F::from(s.save_input as u64),
        ])
    })
}

/// The model chain link of one step: `H(prev, blind, packed weights of every slot)`.
pub fn model_link<F: Field>(
    arch: &Architecture,
    model: &QuantizedModel,
    step: usize,
    prev: F,
    blind: F,
) -> F {
    let mut inputs = vec![prev, blind];
    for p in arch.packed_weights::<F>(step, model) {
        inputs.extend(p.w);
        inputs.extend(p.b);
    }
    hash(&inputs)
}

/// The model commitment of a public model (no blinding): what a verifier recomputes from the
/// model file.
pub fn model_commitment<F: Field>(arch: &Architecture, model: &QuantizedModel) -> F {
    (0..arch.steps.len()).fold(F::ZERO, |acc, i| model_link(arch, model, i, acc, F::ZERO))
}
