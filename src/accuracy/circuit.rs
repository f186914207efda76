//! The accuracy statement's step circuit: a whole sample per fold ([`SampleStep`]) or one step
//! of the model per fold ([`LayerSampleStep`]), as the claim's [`FoldUnit`] says.

use super::by_layer::LayerSampleStep;
use super::{AccuracyArch, FoldUnit, SampleStep};
use kerafold_step_circuits::Field;
use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::{ConstraintSystem, SynthesisError};
use nova_snark::traits::circuit::StepCircuit;
use std::sync::Arc;

/// The step circuit of an accuracy proof.
#[derive(Clone, Debug)]
pub enum AccuracyStep<F: Field> {
    /// One fold per sample.
    Sample(SampleStep<F>),
    /// One fold per step of the model.
    Layer(LayerSampleStep<F>),
}

impl<F: Field> AccuracyStep<F> {
    /// The circuit of `fold` without a witness (`arch` compiled as `fold` says:
    /// [`FoldUnit::compile`]).
    pub fn shape(fold: FoldUnit, arch: Arc<AccuracyArch>, private_weights: bool) -> Self {
        match fold {
            FoldUnit::Sample => Self::Sample(SampleStep::shape(arch, private_weights)),
            FoldUnit::Layer { .. } => Self::Layer(LayerSampleStep::shape(arch, private_weights)),
        }
    }

    /// The digest that keys this circuit's parameters.
    pub fn digest(&self) -> [u8; 32] {
        match self {
            Self::Sample(c) => c.digest(),
            Self::Layer(c) => c.digest(),
        }
    }

    /// Folds per sample.
    pub fn folds_per_sample(&self) -> usize {
        match self {
            Self::Sample(_) => 1,
            Self::Layer(c) => c.steps_per_sample(),
        }
    }
}

impl<F: Field> StepCircuit<F> for AccuracyStep<F> {
    fn arity(&self) -> usize {
        match self {
            Self::Sample(c) => c.arity(),
            Self::Layer(c) => c.arity(),
        }
    }

    fn synthesize<CS: ConstraintSystem<F>>(
        &self,
        cs: &mut CS,
        z: &[AllocatedNum<F>],
    ) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
        match self {
            Self::Sample(c) => c.synthesize(cs, z),
            Self::Layer(c) => c.synthesize(cs, z),
        }
    }
}
