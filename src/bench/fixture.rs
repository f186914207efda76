//! Prepared folds and compressions for the criterion benches (`benches/fold.rs`), on the default
//! system (BN254/Grumpkin with IPA).
//!
//! Everything that touches Nova is here, in the library, where the prover already instantiates
//! these types: a bench that called nova-snark itself would compile its own copy of Nova's
//! generic code (about a minute of release codegen per configuration).

use super::synth::SynthSpec;
use crate::fold::arch::Architecture;
use crate::fold::backend::{Backend, Bn254Ipa, Scalar};
use crate::fold::Srs;
use crate::inference::circuit::LayerStep;
use crate::inference::circuit::{Pp, Snark};
use crate::{Error, Result};
use nova_snark::nova::{ProverKey, RecursiveSNARK};
use std::sync::Arc;

type B = Bn254Ipa;
type Circuit = LayerStep<Scalar<B>>;
type Rs = RecursiveSNARK<<B as Backend>::E1, <B as Backend>::E2, Circuit>;
type Pk = ProverKey<
    <B as Backend>::E1,
    <B as Backend>::E2,
    Circuit,
    <B as Backend>::S1,
    <B as Backend>::S2,
>;

/// A proof in progress, ready to fold its next step or to be compressed.
pub struct FoldFixture {
    pp: Pp<B>,
    pk: Pk,
    rs: Rs,
    next: Circuit,
    /// Constraints of Nova's primary and secondary circuits.
    pub constraints: (usize, usize),
}

/// A copy of the folded proof, for one timed fold.
pub struct FoldState(Rs);

impl FoldFixture {
    /// Sets up parameters for the synthetic model of `spec` and folds its first `folded` steps
    /// (at least 2, so the next fold is a steady-state one; fewer than the model's steps).
    pub fn new(spec: &SynthSpec, folded: usize) -> Result<Self> {
        let model = spec.model()?;
        let input = spec.input();
        let arch = Arc::new(Architecture::compile(&model)?);
        let trace = model.trace(&input, None)?;
        let n = arch.steps.len();
        if folded < 2 || folded >= n {
            return Err(Error::Usage(format!(
                "fold 2..{n} steps of a {n}-step model, not {folded}"
            )));
        }
        let circuit = |i: usize| LayerStep {
            arch: arch.clone(),
            private_weights: false,
            witness: Some(Arc::new(crate::inference::public_step_witness(
                &arch, &model, &trace, i,
            ))),
        };
        let pp = B::setup(&LayerStep::shape(arch.clone()), &Srs::Transparent)?;
        let z0: Vec<Scalar<B>> = crate::inference::public_initial_state(&arch, &trace);
        let first = circuit(0);
        let mut rs = Rs::new(&pp, &first, &z0).map_err(|e| Error::nova("first step", e))?;
        for i in 0..folded {
            let c = if i == 0 { first.clone() } else { circuit(i) };
            rs.prove_step(&pp, &c)
                .map_err(|e| Error::nova(format!("folding step {i}"), e))?;
        }
        let (pk, _) = Snark::<B>::setup(&pp).map_err(|e| Error::nova("compression keys", e))?;
        Ok(Self {
            constraints: pp.num_constraints(),
            pp,
            pk,
            rs,
            next: circuit(folded),
        })
    }

    /// A copy of the proof so far.
    pub fn state(&self) -> FoldState {
        FoldState(self.rs.clone())
    }

    /// Folds the next step into `state` (one `prove_step`; its witness is prebuilt).
    pub fn fold(&self, state: &mut FoldState) -> Result<()> {
        state
            .0
            .prove_step(&self.pp, &self.next)
            .map_err(|e| Error::nova("folding", e))
    }

    /// Compresses the folded proof (zero-knowledge CompressedSNARK); returns its size in bytes.
    pub fn compress(&self) -> Result<usize> {
        let snark = Snark::<B>::prove(&self.pp, &self.pk, &self.rs)
            .map_err(|e| Error::nova("compression", e))?;
        Ok(crate::fold::backend::encode(&snark)?.len())
    }
}
