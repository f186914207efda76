//! The Nova configurations kerafold proves with, and the encoding of what they produce. The
//! generic prove/verify over them is [`super::pipeline`].
//!
//! Every (E1, E2, S1, S2) combination costs about a minute of release codegen, so exactly three
//! exist, each behind one type: [`Bn254Ipa`] (default, transparent), [`Bn254Kzg`] (HyperKZG with
//! powers of tau: faster compression) and [`PastaIpa`] (Pallas/Vesta, transparent).

use super::params::Srs;
use crate::{Error, Result};
use nova_snark::nova::{CompressedSNARK, PublicParams, VerifierKey};
use nova_snark::provider::{
    hyperkzg, ipa_pc, Bn256EngineIPA, Bn256EngineKZG, GrumpkinEngine, PallasEngine, VestaEngine,
};
use nova_snark::spartan::snark::RelaxedR1CSSNARK;
use nova_snark::traits::circuit::StepCircuit;
use nova_snark::traits::snark::RelaxedR1CSSNARKTrait;
use nova_snark::traits::Engine;
use serde::{de::DeserializeOwned, Serialize};

/// One Nova configuration.
pub trait Backend: 'static {
    /// Primary engine (its scalar field is the circuits' field).
    type E1: Engine<Base = <Self::E2 as Engine>::Scalar>;
    /// Secondary engine of the curve cycle.
    type E2: Engine<Base = <Self::E1 as Engine>::Scalar>;
    /// SNARK compressing the primary relaxed R1CS.
    type S1: RelaxedR1CSSNARKTrait<Self::E1>;
    /// SNARK compressing the secondary relaxed R1CS.
    type S2: RelaxedR1CSSNARKTrait<Self::E2>;
    /// Stable identifier, used in proof files and the parameter cache.
    const ID: &'static str;
    /// Builds the public parameters of a step circuit.
    fn setup<C: StepCircuit<Scalar<Self>>>(circuit: &C, srs: &Srs) -> Result<PpOf<Self, C>>;
}

/// The primary scalar field of a backend.
pub type Scalar<B> = <<B as Backend>::E1 as Engine>::Scalar;
/// Public parameters of a backend for step circuit `C`.
pub type PpOf<B, C> = PublicParams<<B as Backend>::E1, <B as Backend>::E2, C>;
/// Verifier key of a backend for step circuit `C`.
pub type VkOf<B, C> =
    VerifierKey<<B as Backend>::E1, <B as Backend>::E2, C, <B as Backend>::S1, <B as Backend>::S2>;
/// Compressed proof of a backend for step circuit `C`.
pub type SnarkOf<B, C> = CompressedSNARK<
    <B as Backend>::E1,
    <B as Backend>::E2,
    C,
    <B as Backend>::S1,
    <B as Backend>::S2,
>;

fn transparent_only(srs: &Srs, id: &str) -> Result<()> {
    match srs {
        Srs::Transparent => Ok(()),
        _ => Err(Error::Usage(format!(
            "{id} uses transparent IPA commitments; powers of tau apply to bn254-kzg (HyperKZG) only"
        ))),
    }
}

/// BN254/Grumpkin with IPA on both curves: transparent, the default.
pub struct Bn254Ipa;
impl Backend for Bn254Ipa {
    type E1 = Bn256EngineIPA;
    type E2 = GrumpkinEngine;
    type S1 = RelaxedR1CSSNARK<Bn256EngineIPA, ipa_pc::EvaluationEngine<Bn256EngineIPA>>;
    type S2 = RelaxedR1CSSNARK<GrumpkinEngine, ipa_pc::EvaluationEngine<GrumpkinEngine>>;
    const ID: &'static str = "bn254-ipa";
    fn setup<C: StepCircuit<Scalar<Self>>>(circuit: &C, srs: &Srs) -> Result<PpOf<Self, C>> {
        transparent_only(srs, Self::ID)?;
        PublicParams::setup(circuit, &*Self::S1::ck_floor(), &*Self::S2::ck_floor())
            .map_err(|e| Error::nova("parameter setup", e))
    }
}

/// BN254/Grumpkin with HyperKZG on BN254 (powers of tau) and IPA on Grumpkin.
pub struct Bn254Kzg;
impl Backend for Bn254Kzg {
    type E1 = Bn256EngineKZG;
    type E2 = GrumpkinEngine;
    type S1 = RelaxedR1CSSNARK<Bn256EngineKZG, hyperkzg::EvaluationEngine<Bn256EngineKZG>>;
    type S2 = RelaxedR1CSSNARK<GrumpkinEngine, ipa_pc::EvaluationEngine<GrumpkinEngine>>;
    const ID: &'static str = "bn254-kzg";
    fn setup<C: StepCircuit<Scalar<Self>>>(circuit: &C, srs: &Srs) -> Result<PpOf<Self, C>> {
        let (h1, h2) = (&*Self::S1::ck_floor(), &*Self::S2::ck_floor());
        match srs {
            Srs::Ptau(dir) => PublicParams::setup_with_ptau_dir(circuit, h1, h2, dir).map_err(|e| {
                Error::nova(
                    format!(
                        "loading powers of tau from {} (needs ppot_pruned_NN.ptau or ppot_0080_NN.ptau files large enough for the circuit)",
                        dir.display()
                    ),
                    e,
                )
            }),
            Srs::InsecureRandomTau => Err(Error::Usage(
                "the random tau is drawn into a .ptau file first (params::prover_srs)".into(),
            )),
            Srs::Transparent => Err(Error::Usage(
                "HyperKZG needs powers of tau (a directory of .ptau files, or an insecure random tau for tests)"
                    .into(),
            )),
        }
    }
}

/// Pallas/Vesta with IPA on both curves: transparent.
pub struct PastaIpa;
impl Backend for PastaIpa {
    type E1 = PallasEngine;
    type E2 = VestaEngine;
    type S1 = RelaxedR1CSSNARK<PallasEngine, ipa_pc::EvaluationEngine<PallasEngine>>;
    type S2 = RelaxedR1CSSNARK<VestaEngine, ipa_pc::EvaluationEngine<VestaEngine>>;
    const ID: &'static str = "pasta-ipa";
    fn setup<C: StepCircuit<Scalar<Self>>>(circuit: &C, srs: &Srs) -> Result<PpOf<Self, C>> {
        transparent_only(srs, Self::ID)?;
        PublicParams::setup(circuit, &*Self::S1::ck_floor(), &*Self::S2::ck_floor())
            .map_err(|e| Error::nova("parameter setup", e))
    }
}

/// Serializes with bincode (the format nova-snark itself uses).
pub fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    bincode::serde::encode_to_vec(v, bincode::config::legacy())
        .map_err(|e| Error::Prover(format!("serialization: {e}")))
}

/// Deserializes bincode, rejecting trailing bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    let (v, used) = bincode::serde::decode_from_slice(bytes, bincode::config::legacy())
        .map_err(|e| Error::Invalid(format!("{what} does not decode: {e}")))?;
    if used != bytes.len() {
        return Err(Error::Invalid(format!(
            "{what} has {} trailing bytes",
            bytes.len() - used
        )));
    }
    Ok(v)
}
