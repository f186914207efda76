//! Groth16 over BN254 (ark-groth16) for circuits written on nova-snark's frontend.
//!
//! The frontend gives the R1CS from `ShapeCS` and the assignment from `SatisfyingAssignment`
//! (nova's `WitnessCS`); nova numbers variables `[W | 1 | X]` (witness first), arkworks
//! `[1 | X | W]`, so every column is remapped: `Input(i)` → `i` (input 0 is the constant one),
//! `Aux(j)` → `1 + n_x + j`. A [`Replay`] synthesizer re-enforces the rows in arkworks for the
//! setup (no assignment) and the prover (with the assignment).
//!
//! ark-groth16's prover only `debug_assert`s satisfiability: in release builds a bad witness
//! silently yields a proof that does not verify. [`prove`] therefore checks every row natively
//! first and names the first failing one.

use crate::crypto::bn254::{to_ark, Fr};
use crate::{Error, Result};
use ark_bn254::Bn254;
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, ProvingKey, VerifyingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystemRef, LinearCombination as ArkLc,
    SynthesisError as ArkErr, Variable as ArkVar,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_snark::SNARK;
use ff::Field;
use nova_snark::frontend::shape_cs::ShapeCS;
use nova_snark::frontend::solver::SatisfyingAssignment;
use nova_snark::frontend::{ConstraintSystem, Index, LinearCombination, SynthesisError};
use nova_snark::provider::Bn256EngineKZG;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use std::path::Path;

/// A circuit on nova-snark's frontend over BN254.
pub trait FrontendCircuit {
    /// Synthesizes the circuit. Public inputs are allocated with `alloc_input`, in their order.
    fn synthesize<CS: ConstraintSystem<Fr>>(&self, cs: &mut CS) -> Result<(), SynthesisError>;
}

/// A sparse row: `(column in arkworks numbering, coefficient)`.
pub type Row = Vec<(usize, Fr)>;

/// An R1CS in arkworks' column numbering `[1 | X | W]`.
#[derive(Clone, Debug)]
pub struct R1cs {
    /// Public inputs (without the constant one).
    pub num_inputs: usize,
    /// Witness variables.
    pub num_aux: usize,
    /// Constraints `⟨a, z⟩·⟨b, z⟩ = ⟨c, z⟩`.
    pub rows: Vec<(Row, Row, Row)>,
}

fn row(lc: &LinearCombination<Fr>, num_inputs: usize) -> Row {
    let mut r: Row = lc
        .iter()
        .filter(|(_, c)| !bool::from(c.is_zero()))
        .map(|(v, c)| {
            let col = match v.get_unchecked() {
                Index::Input(i) => i,
                Index::Aux(j) => 1 + num_inputs + j,
            };
            (col, *c)
        })
        .collect();
    r.sort_by_key(|(c, _)| *c);
    r
}

impl R1cs {
    /// The R1CS of `circuit` (shape synthesis: no values).
    pub fn of(circuit: &impl FrontendCircuit) -> Result<Self> {
        let mut cs = ShapeCS::<Bn256EngineKZG>::new();
        circuit
            .synthesize(&mut cs)
            .map_err(|e| Error::Prover(format!("circuit shape: {e}")))?;
        let num_inputs = cs.num_inputs() - 1;
        let rows = cs
            .constraints
            .iter()
            .map(|(a, b, c)| (row(a, num_inputs), row(b, num_inputs), row(c, num_inputs)))
            .collect();
        Ok(Self {
            num_inputs,
            num_aux: cs.num_aux(),
            rows,
        })
    }

    /// Number of constraints.
    pub fn num_constraints(&self) -> usize {
        self.rows.len()
    }

    /// SHA-256 over the matrices: names the circuit (and its keys on disk).
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update((self.num_inputs as u64).to_le_bytes());
        h.update((self.num_aux as u64).to_le_bytes());
        for (a, b, c) in &self.rows {
            for r in [a, b, c] {
                h.update((r.len() as u64).to_le_bytes());
                for (col, v) in r {
                    h.update((*col as u64).to_le_bytes());
                    h.update(ff::PrimeField::to_repr(v));
                }
            }
        }
        h.finalize().into()
    }

    /// Checks `z = [1, inputs, aux]` against every row; the first failing row's index otherwise.
    pub fn check(&self, inputs: &[Fr], aux: &[Fr]) -> std::result::Result<(), usize> {
        assert_eq!(inputs.len(), self.num_inputs);
        assert_eq!(aux.len(), self.num_aux);
        let z = |i: usize| {
            if i == 0 {
                Fr::ONE
            } else if i <= self.num_inputs {
                inputs[i - 1]
            } else {
                aux[i - 1 - self.num_inputs]
            }
        };
        let eval = |r: &Row| r.iter().fold(Fr::ZERO, |acc, (i, c)| acc + z(*i) * c);
        for (k, (a, b, c)) in self.rows.iter().enumerate() {
            if eval(a) * eval(b) != eval(c) {
                return Err(k);
            }
        }
        Ok(())
    }

    /// The provers' precondition: `(inputs, aux)` fits the circuit and satisfies every row
    /// (a clear error instead of a proof that would not verify).
    pub fn check_assignment(&self, inputs: &[Fr], aux: &[Fr]) -> Result<()> {
        if inputs.len() != self.num_inputs || aux.len() != self.num_aux {
            return Err(Error::Prover(
                "the assignment does not fit the circuit".into(),
            ));
        }
        self.check(inputs, aux)
            .map_err(|k| Error::Prover(format!("the witness does not satisfy constraint {k}")))
    }
}

/// The assignment of `circuit`: public inputs (without the one) and witness.
pub fn witness(circuit: &impl FrontendCircuit) -> Result<(Vec<Fr>, Vec<Fr>)> {
    let mut cs = SatisfyingAssignment::<Bn256EngineKZG>::new();
    circuit
        .synthesize(&mut cs)
        .map_err(|e| Error::Prover(format!("claim witness: {e}")))?;
    Ok((
        cs.input_assignment()[1..].to_vec(),
        cs.aux_assignment().to_vec(),
    ))
}

/// Replays an [`R1cs`] (and optionally its assignment) into arkworks.
pub struct Replay<'a> {
    /// The constraints.
    pub r1cs: &'a R1cs,
    /// `(inputs, aux)`, or `None` for the setup.
    pub assignment: Option<(&'a [Fr], &'a [Fr])>,
}

impl ConstraintSynthesizer<ark_bn254::Fr> for Replay<'_> {
    fn generate_constraints(self, cs: ConstraintSystemRef<ark_bn254::Fr>) -> Result<(), ArkErr> {
        let r = self.r1cs;
        let mut vars = Vec::with_capacity(1 + r.num_inputs + r.num_aux);
        vars.push(ArkVar::One);
        for i in 0..r.num_inputs {
            let v = self.assignment.map(|(x, _)| to_ark(&x[i]));
            vars.push(cs.new_input_variable(|| v.ok_or(ArkErr::AssignmentMissing))?);
        }
        for j in 0..r.num_aux {
            let v = self.assignment.map(|(_, w)| to_ark(&w[j]));
            vars.push(cs.new_witness_variable(|| v.ok_or(ArkErr::AssignmentMissing))?);
        }
        let lc = |row: &Row| ArkLc(row.iter().map(|(i, c)| (to_ark(c), vars[*i])).collect());
        for (a, b, c) in &r.rows {
            cs.enforce_r1cs_constraint(|| lc(a), || lc(b), || lc(c))?;
        }
        Ok(())
    }
}

/// Groth16 keys of one circuit.
#[derive(Clone)]
pub struct Keys {
    /// Proving key (contains the verifying key).
    pub pk: ProvingKey<Bn254>,
}

impl Keys {
    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<Bn254> {
        &self.pk.vk
    }
}

/// Circuit-specific setup. Single-party: whoever runs it could forge proofs (a demo and test
/// setup; a real deployment runs a ceremony).
pub fn setup<R: RngCore + CryptoRng>(r1cs: &R1cs, rng: &mut R) -> Result<Keys> {
    let (pk, _vk) = Groth16::<Bn254>::circuit_specific_setup(
        Replay {
            r1cs,
            assignment: None,
        },
        rng,
    )
    .map_err(|e| Error::Prover(format!("Groth16 setup: {e}")))?;
    Ok(Keys { pk })
}

/// Proves after checking the assignment natively.
pub fn prove<R: RngCore + CryptoRng>(
    keys: &Keys,
    r1cs: &R1cs,
    inputs: &[Fr],
    aux: &[Fr],
    rng: &mut R,
) -> Result<Proof<Bn254>> {
    r1cs.check_assignment(inputs, aux)?;
    Groth16::<Bn254>::prove(
        &keys.pk,
        Replay {
            r1cs,
            assignment: Some((inputs, aux)),
        },
        rng,
    )
    .map_err(|e| Error::Prover(format!("Groth16 prove: {e}")))
}

/// Verifies a proof against public inputs.
pub fn verify(vk: &VerifyingKey<Bn254>, inputs: &[Fr], proof: &Proof<Bn254>) -> bool {
    if inputs.len() + 1 != vk.gamma_abc_g1.len() {
        return false;
    }
    let pvk: PreparedVerifyingKey<Bn254> = ark_groth16::prepare_verifying_key(vk);
    let x: Vec<ark_bn254::Fr> = inputs.iter().map(to_ark).collect();
    Groth16::<Bn254>::verify_with_processed_vk(&pvk, &x, proof).unwrap_or(false)
}

/// Writes an arkworks-serializable value (compressed) to `path`.
pub fn write_ark<T: CanonicalSerialize>(path: &Path, v: &T) -> Result<()> {
    let mut bytes = Vec::new();
    v.serialize_compressed(&mut bytes)
        .map_err(|e| Error::format(path, format!("serialize: {e}")))?;
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// Reads an arkworks value written by [`write_ark`] (validated: points on the curve and in the
/// right subgroup).
pub fn read_ark<T: CanonicalDeserialize>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    T::deserialize_compressed(&bytes[..])
        .map_err(|e| Error::format(path, format!("deserialize: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nova_snark::frontend::num::AllocatedNum;

    /// x·y = z with z public.
    struct Mul(Option<(u64, u64)>);
    impl FrontendCircuit for Mul {
        fn synthesize<CS: ConstraintSystem<Fr>>(&self, cs: &mut CS) -> Result<(), SynthesisError> {
            let z = AllocatedNum::alloc_input(cs.namespace(|| "z"), || {
                self.0
                    .map(|(x, y)| Fr::from(x * y))
                    .ok_or(SynthesisError::AssignmentMissing)
            })?;
            let x = AllocatedNum::alloc(cs.namespace(|| "x"), || {
                self.0
                    .map(|(x, _)| Fr::from(x))
                    .ok_or(SynthesisError::AssignmentMissing)
            })?;
            let y = AllocatedNum::alloc(cs.namespace(|| "y"), || {
                self.0
                    .map(|(_, y)| Fr::from(y))
                    .ok_or(SynthesisError::AssignmentMissing)
            })?;
            cs.enforce(
                || "xy",
                |lc| lc + x.get_variable(),
                |lc| lc + y.get_variable(),
                |lc| lc + z.get_variable(),
            );
            Ok(())
        }
    }

    #[test]
    fn remapped_r1cs_proves_and_verifies() {
        let r1cs = R1cs::of(&Mul(None)).unwrap();
        assert_eq!(
            (r1cs.num_inputs, r1cs.num_aux, r1cs.num_constraints()),
            (1, 2, 1)
        );
        // the z column is 1, x and y are 2 and 3
        assert_eq!(r1cs.rows[0].2, vec![(1, Fr::ONE)]);
        let keys = setup(&r1cs, &mut rand_core::OsRng).unwrap();
        let (x, w) = witness(&Mul(Some((6, 7)))).unwrap();
        assert_eq!(x, vec![Fr::from(42u64)]);
        let proof = prove(&keys, &r1cs, &x, &w, &mut rand_core::OsRng).unwrap();
        assert!(verify(keys.vk(), &x, &proof));
        assert!(!verify(keys.vk(), &[Fr::from(43u64)], &proof));
        // a bad witness is refused before proving
        let err = prove(&keys, &r1cs, &[Fr::from(43u64)], &w, &mut rand_core::OsRng).unwrap_err();
        assert!(err.to_string().contains("constraint 0"), "{err}");
    }
}
