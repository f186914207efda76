//! The one Poseidon hash kerafold uses, natively and in the circuit: nova-snark's sponge
//! (`Sponge` / `SpongeCircuit`, standard strength) in two widths, exactly as nova-snark's
//! `PoseidonRO` / `PoseidonROCircuit` run it — absorb every input, squeeze one element — so the
//! values equal theirs (tested below).
//!
//! Why not `PoseidonRO` itself: it owns its constants, so every hash cloned the ~250 KB of the
//! wide sponge's matrices; weight hashing does thousands of hashes (a fifth of verifying a
//! 512-layer model went to those copies). Here the constants are generated once per process,
//! field and width, and borrowed.

use crate::field::Field;
use generic_array::typenum::{U24, U5};
use nova_snark::frontend::gadgets::poseidon::{
    Elt, IOPattern, PoseidonConstants, Simplex, Sponge, SpongeAPI, SpongeCircuit, SpongeOp,
    SpongeTrait, Strength,
};
use nova_snark::frontend::{num::AllocatedNum, ConstraintSystem, SynthesisError};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Inputs the narrow sponge (width 5) takes in one permutation.
pub const NARROW_INPUTS: usize = 5;

type ConstCache = Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>;

/// The value of type `T` made by `make`, once per process. Each type has its own cell, so one
/// thread generating the wide sponge's constants (~0.1 s) does not hold up another that needs
/// only the narrow ones.
fn cached<T: Any + Send + Sync>(make: impl FnOnce() -> T) -> Arc<T> {
    static CACHE: OnceLock<ConstCache> = OnceLock::new();
    let cell = {
        let mut map = CACHE
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(OnceLock::<Arc<T>>::new()))
            .clone()
            .downcast::<OnceLock<Arc<T>>>()
            .expect("the cache is keyed by type")
    };
    cell.get_or_init(|| Arc::new(make())).clone()
}

/// Arity 24: hashing many elements (weights, partial sums).
fn wide<F: Field>() -> Arc<PoseidonConstants<F, U24>> {
    cached(|| Sponge::<F, U24>::api_constants(Strength::Standard))
}

/// Arity 5: chaining (313 constraints in a circuit instead of 778).
fn narrow<F: Field>() -> Arc<PoseidonConstants<F, U5>> {
    cached(|| Sponge::<F, U5>::api_constants(Strength::Standard))
}

/// The sponge's IO pattern: absorb `n`, squeeze one. The count is part of the domain separation.
fn pattern(n: usize) -> IOPattern {
    IOPattern(vec![SpongeOp::Absorb(n as u32), SpongeOp::Squeeze(1)])
}

macro_rules! native_squeeze {
    ($constants:expr, $inputs:expr) => {{
        let mut sponge = Sponge::new_with_constants($constants, Simplex);
        let acc = &mut ();
        sponge.start(pattern($inputs.len()), None, acc);
        SpongeAPI::absorb(&mut sponge, $inputs.len() as u32, $inputs, acc);
        let out = SpongeAPI::squeeze(&mut sponge, 1, acc);
        sponge
            .finish(acc)
            .expect("the sponge absorbed and squeezed what its pattern says");
        out[0]
    }};
}

macro_rules! circuit_squeeze {
    ($constants:expr, $inputs:expr, $cs:expr) => {{
        let mut ns = $cs.namespace(|| "ns");
        let elts: Vec<Elt<_>> = $inputs.iter().map(|x| Elt::Allocated(x.clone())).collect();
        let mut sponge = SpongeCircuit::new_with_constants($constants, Simplex);
        sponge.start(pattern($inputs.len()), None, &mut ns);
        SpongeAPI::absorb(&mut sponge, $inputs.len() as u32, &elts, &mut ns);
        let out = SpongeAPI::squeeze(&mut sponge, 1, &mut ns);
        sponge.finish(&mut ns).map_err(|e| {
            SynthesisError::IncompatibleLengthVector(format!("Poseidon sponge: {e:?}"))
        })?;
        let hash = Elt::ensure_allocated(&out[0], &mut ns.namespace(|| "ensure allocated"));
        hash
    }};
}

/// Poseidon hash (the wide sponge, arity 24) of `inputs`: a full field element.
pub fn hash<F: Field>(inputs: &[F]) -> F {
    let c = wide::<F>();
    native_squeeze!(&*c, inputs)
}

/// Poseidon hash (the narrow sponge, arity 5) of at most [`NARROW_INPUTS`] inputs: the cheap
/// hash for chaining.
pub fn hash_narrow<F: Field>(inputs: &[F]) -> F {
    assert!(
        inputs.len() <= NARROW_INPUTS,
        "the narrow sponge takes at most {NARROW_INPUTS} inputs"
    );
    let c = narrow::<F>();
    native_squeeze!(&*c, inputs)
}

/// [`hash`] in the circuit.
pub fn hash_gadget<F: Field, CS: ConstraintSystem<F>>(
    mut cs: CS,
    inputs: &[AllocatedNum<F>],
) -> Result<AllocatedNum<F>, SynthesisError> {
    let c = wide::<F>();
    circuit_squeeze!(&*c, inputs, cs)
}

/// [`hash_narrow`] in the circuit.
pub fn hash_narrow_gadget<F: Field, CS: ConstraintSystem<F>>(
    mut cs: CS,
    inputs: &[AllocatedNum<F>],
) -> Result<AllocatedNum<F>, SynthesisError> {
    if inputs.len() > NARROW_INPUTS {
        return Err(SynthesisError::IncompatibleLengthVector(format!(
            "the narrow sponge takes at most {NARROW_INPUTS} inputs, not {}",
            inputs.len()
        )));
    }
    let c = narrow::<F>();
    circuit_squeeze!(&*c, inputs, cs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cs::{CheckingCS, CountingCs};
    use nova_snark::provider::poseidon::{PoseidonConstantsCircuit, PoseidonRO, PoseidonROCircuit};
    use nova_snark::provider::{Bn256EngineKZG, PallasEngine};
    use nova_snark::traits::{Engine, ROCircuitTrait, ROMode, ROTrait};

    fn elements<F: Field>(n: usize) -> Vec<F> {
        (0..n as u64).map(|i| F::from(i * 7919 + 3)).collect()
    }

    /// nova-snark's own RO, as the hash was computed before this module.
    fn nova_ro<F: Field>(inputs: &[F], mode: ROMode) -> F {
        let mut ro = PoseidonRO::<F>::new_with_mode(PoseidonConstantsCircuit::default(), mode);
        for x in inputs {
            ro.absorb(*x);
        }
        ro.squeeze(F::NUM_BITS as usize, false)
    }

    fn equals_nova_ro<F: Field>() {
        for n in [1, 2, 5, 24, 25, 60] {
            assert_eq!(
                hash(&elements::<F>(n)),
                nova_ro(&elements::<F>(n), ROMode::Wide)
            );
        }
        for n in 1..=NARROW_INPUTS {
            assert_eq!(
                hash_narrow(&elements::<F>(n)),
                nova_ro(&elements::<F>(n), ROMode::Narrow)
            );
        }
    }

    #[test]
    fn native_hashes_equal_nova_snarks_ro() {
        equals_nova_ro::<<Bn256EngineKZG as Engine>::Scalar>();
        equals_nova_ro::<<PallasEngine as Engine>::Scalar>();
    }

    type Fb = <Bn256EngineKZG as Engine>::Scalar;

    fn alloc(cs: &mut CheckingCS<Fb>, values: &[Fb]) -> Vec<AllocatedNum<Fb>> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| AllocatedNum::alloc(cs.namespace(|| format!("x{i}")), || Ok(*v)).unwrap())
            .collect()
    }

    #[test]
    fn gadgets_equal_the_native_hashes_and_nova_snarks_cost() {
        for (n, narrow) in [(3, true), (5, true), (24, false), (30, false)] {
            let values = elements::<Fb>(n);
            let mut cs = CheckingCS::<Fb>::new();
            let xs = alloc(&mut cs, &values);
            let (out, native) = if narrow {
                (
                    hash_narrow_gadget(cs.namespace(|| "h"), &xs).unwrap(),
                    hash_narrow(&values),
                )
            } else {
                (
                    hash_gadget(cs.namespace(|| "h"), &xs).unwrap(),
                    hash(&values),
                )
            };
            assert_eq!(cs.failure(), None);
            assert_eq!(out.get_value(), Some(native));
            let ours = cs.num_constraints();

            // nova-snark's gadget over the same inputs costs the same constraints
            let mut cs = CheckingCS::<Fb>::new();
            let xs = alloc(&mut cs, &values);
            let mode = if narrow { ROMode::Narrow } else { ROMode::Wide };
            let mut ro =
                PoseidonROCircuit::<Fb>::new_with_mode(PoseidonConstantsCircuit::default(), mode);
            for x in &xs {
                ro.absorb(x);
            }
            let theirs = ro.squeeze_scalar(cs.namespace(|| "h")).unwrap();
            assert_eq!(theirs.get_value(), Some(native));
            assert_eq!(cs.num_constraints(), ours);
        }
    }

    #[test]
    fn hash_depends_on_every_input_and_length() {
        let a = hash::<Fb>(&[Fb::from(1), Fb::from(2)]);
        assert_ne!(a, hash::<Fb>(&[Fb::from(2), Fb::from(1)]));
        assert_ne!(a, hash::<Fb>(&[Fb::from(1), Fb::from(2), Fb::from(0)]));
        assert_eq!(a, hash::<Fb>(&[Fb::from(1), Fb::from(2)]));
    }

    #[test]
    fn the_narrow_gadget_refuses_more_than_five_inputs() {
        let mut cs = CountingCs::<Fb>::new();
        let xs: Vec<_> = (0..6)
            .map(|i| {
                AllocatedNum::alloc(cs.namespace(|| format!("x{i}")), || Ok(Fb::from(i))).unwrap()
            })
            .collect();
        assert!(matches!(
            hash_narrow_gadget(cs.namespace(|| "h"), &xs),
            Err(SynthesisError::IncompatibleLengthVector(_))
        ));
    }
}
