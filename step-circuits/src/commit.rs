//! Tensor commitments: a Poseidon chain over **blocks** of the tensor, each block
//! [`BLOCK_ELEMENTS`] packed field elements (`field::per_element(bits)` values each).
//!
//! `commit_native(values, bits, blind) = h_m` with `h_0 = blind` and
//! `h_{i+1} = poseidon::hash_narrow([h_i] ++ pack_activations(block_i, bits))` over the `m = ⌈n / L⌉`
//! blocks of `L = block_len(bits)` values (the last one shorter; an empty tensor is one empty
//! block). A block and the chain value fill one call of nova-snark's narrow sponge (arity 5, 313
//! constraints), about 4.6 constraints per value at 14 bits against 2 for one wide sponge over
//! the whole tensor. What the chain buys is reading a tensor a block at a time, carrying only
//! `h_i` in the folded state, so a step that reads 68 values (14 bits) pays for 68 values, not
//! for the tensor (docs/DESIGN.md §7).
//!
//! The gadget allocates each packed element (`blk{b}/pack{c}/num`, one constraint
//! `blk{b}/pack{c}_eq`) and hashes each block with the narrow Poseidon sponge (`blk{b}/hash/…`). Packing
//! is injective only on in-range values, so a tensor must be range-checked before it is
//! committed: [`open`] does that for a tensor it receives; every step output
//! ([`crate::step::step`]) is in range by construction. The tensor length is fixed by the circuit
//! shape (the sponge's IO pattern also binds the number of packed elements of every block).

use crate::field::{pack_activations, per_element, pow2, Field};
use crate::poseidon;
use crate::range::{one, signed_num, unsat, Signed};
use crate::spec::FixedPoint;
use nova_snark::frontend::{
    num::AllocatedNum, AllocatedBit, Boolean, ConstraintSystem, LinearCombination, SynthesisError,
};

/// Packed field elements per block: with the chain value, the five inputs of the narrow sponge.
pub const BLOCK_ELEMENTS: usize = 4;

/// Values per block of a `bits`-bit tensor.
pub fn block_len(bits: u32) -> usize {
    BLOCK_ELEMENTS * per_element(bits)
}

/// The blocks of a tensor of `n` values: `⌈n / L⌉`, at least one.
pub fn num_blocks(n: usize, bits: u32) -> usize {
    n.div_ceil(block_len(bits)).max(1)
}

/// Native twin of [`absorb_block`]: the chain value after `prev` absorbs `block` (zero-padded to
/// a whole block).
pub fn absorb_block_native<F: Field>(prev: F, block: &[i64], bits: u32) -> F {
    let mut full = block.to_vec();
    full.resize(block_len(bits), 0);
    let mut inputs = vec![prev];
    inputs.extend(pack_activations::<F>(&full, bits));
    poseidon::hash_narrow(&inputs)
}

/// Native twin of [`commit`]: the commitment to `values` (signed `bits`-bit integers), zero-padded
/// to [`num_blocks`] whole blocks.
pub fn commit_native<F: Field>(values: &[i64], bits: u32, blind: F) -> F {
    if values.is_empty() {
        return absorb_block_native(blind, &[], bits);
    }
    values
        .chunks(block_len(bits))
        .fold(blind, |h, block| absorb_block_native(h, block, bits))
}

fn check_bits(bits: u32) -> Result<(), SynthesisError> {
    if !(2..=40).contains(&bits) {
        return Err(unsat(format!("activation bits {bits} outside 2..=40")));
    }
    Ok(())
}

/// Extends a commitment chain: `H_narrow(prev ‖ packed block)` for a block of at most
/// [`block_len`]`(bits)` values, already range-checked to `bits` bits; a shorter block is padded
/// with constant zeros (free). Cost: one constraint per packed element plus one call of the
/// narrow sponge (313 constraints).
pub fn absorb_block<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    prev: &AllocatedNum<F>,
    block: &[AllocatedNum<F>],
    bits: u32,
) -> Result<AllocatedNum<F>, SynthesisError> {
    check_bits(bits)?;
    let pe = per_element(bits);
    if block.len() > block_len(bits) {
        return Err(SynthesisError::IncompatibleLengthVector(format!(
            "a block holds at most {} values of {bits} bits, not {}",
            block_len(bits),
            block.len()
        )));
    }
    let mut inputs = vec![prev.clone()];
    for c in 0..BLOCK_ELEMENTS {
        let chunk = &block[(c * pe).min(block.len())..((c + 1) * pe).min(block.len())];
        inputs.push(pack_element(cs, c, chunk, pe, bits)?);
    }
    poseidon::hash_narrow_gadget(cs.namespace(|| "hash"), &inputs)
}

/// Packs `chunk` (range-checked `bits`-bit values, then constant zeros up to `len` values) into
/// one field element as [`pack_activations`] does, each value offset by `2^(bits−1)`, the first
/// in the lowest bits: `pack{c}`, one constraint `pack{c}_eq`.
pub fn pack_element<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    c: usize,
    chunk: &[AllocatedNum<F>],
    len: usize,
    bits: u32,
) -> Result<AllocatedNum<F>, SynthesisError> {
    let off = pow2::<F>(bits - 1);
    let step = pow2::<F>(bits);
    let mut lc = LinearCombination::<F>::zero();
    let mut value = Some(F::ZERO);
    let mut scale = F::ONE;
    for i in 0..len.max(chunk.len()) {
        // a missing value is the constant 0, packed as its offset
        match chunk.get(i) {
            Some(v) => {
                lc = lc + (scale, v.get_variable()) + (off * scale, one());
                value = value
                    .zip(v.get_value())
                    .map(|(acc, x)| acc + (x + off) * scale);
            }
            None => {
                lc = lc + (off * scale, one());
                value = value.map(|acc| acc + off * scale);
            }
        }
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
    Ok(packed)
}

/// The chain over `values` from `blind`: the value after each block (`blk{b}/…`), zero-padding
/// the last block.
pub fn chain<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    values: &[AllocatedNum<F>],
    blind: &AllocatedNum<F>,
    bits: u32,
) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
    check_bits(bits)?;
    let l = block_len(bits);
    let mut h = blind.clone();
    let mut out = Vec::with_capacity(num_blocks(values.len(), bits));
    for b in 0..num_blocks(values.len(), bits) {
        let block = &values[(b * l).min(values.len())..((b + 1) * l).min(values.len())];
        h = absorb_block(&mut cs.namespace(|| format!("blk{b}")), &h, block, bits)?;
        out.push(h.clone());
    }
    Ok(out)
}

/// Commits to `values` (already range-checked to `bits` bits) with blinding value `blind`: the
/// [`chain`] over the tensor's blocks. Returns the commitment.
pub fn commit<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    values: &[AllocatedNum<F>],
    blind: &AllocatedNum<F>,
    bits: u32,
) -> Result<AllocatedNum<F>, SynthesisError> {
    let hs = chain(cs, values, blind, bits)?;
    Ok(hs.last().expect("a chain has at least one block").clone())
}

/// `Σ_c onehot[c]·values[c]`, the value a one-hot selector picks (`sel{c}`, `sel{c}_mul`,
/// `selected`, `select`). The caller checks the lengths agree and the bits are one-hot.
pub fn select_onehot<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    onehot: &[Boolean],
    values: &[AllocatedNum<F>],
) -> Result<AllocatedNum<F>, SynthesisError> {
    let mut total = LinearCombination::<F>::zero();
    let mut value = Some(F::ZERO);
    for (c, (e, h)) in onehot.iter().zip(values).enumerate() {
        let v = e
            .get_value()
            .zip(h.get_value())
            .map(|(e, h)| if e { h } else { F::ZERO });
        let p = AllocatedNum::alloc(cs.namespace(|| format!("sel{c}")), || {
            v.ok_or(SynthesisError::AssignmentMissing)
        })?;
        cs.enforce(
            || format!("sel{c}_mul"),
            |_| e.lc(one(), F::ONE),
            |l| l + h.get_variable(),
            |l| l + p.get_variable(),
        );
        total = total + p.get_variable();
        value = value.zip(v).map(|(a, b)| a + b);
    }
    let out = AllocatedNum::alloc(cs.namespace(|| "selected"), || {
        value.ok_or(SynthesisError::AssignmentMissing)
    })?;
    cs.enforce(
        || "select",
        |_| total,
        |l| l + one(),
        |l| l + out.get_variable(),
    );
    Ok(out)
}

/// A number of blocks `1 ≤ c ≤ max` fixed by a step's descriptor, as one-hot bits
/// (`is{c}`, one constraint `one_hot`).
#[derive(Clone, Debug)]
pub struct BlockCount<F: ff::PrimeField> {
    /// `onehot[c − 1]` is set iff the count is `c`.
    pub onehot: Vec<Boolean>,
    /// The count, `Σ c·onehot[c − 1]`.
    pub count: LinearCombination<F>,
    /// Its value, if known.
    pub value: Option<usize>,
}

impl<F: Field> BlockCount<F> {
    /// Allocates the count `value` (`None` at shape synthesis) out of `1..=max`.
    pub fn alloc<CS: ConstraintSystem<F>>(
        cs: &mut CS,
        max: usize,
        value: Option<usize>,
    ) -> Result<Self, SynthesisError> {
        if let Some(v) = value {
            if v == 0 || v > max {
                return Err(unsat(format!("{v} blocks outside 1..={max}")));
            }
        }
        let mut onehot = Vec::with_capacity(max);
        let mut count = LinearCombination::<F>::zero();
        let mut sum = LinearCombination::<F>::zero();
        for c in 1..=max {
            let bit =
                AllocatedBit::alloc(cs.namespace(|| format!("is{c}")), value.map(|v| v == c))?;
            count = count + (F::from(c as u64), bit.get_variable());
            sum = sum + bit.get_variable();
            onehot.push(Boolean::from(bit));
        }
        cs.enforce(|| "one_hot", |_| sum, |l| l + one(), |l| l + one());
        Ok(Self {
            onehot,
            count,
            value,
        })
    }

    /// Whether block `b` (from 0) lies inside the count, `[b < count]`, as a linear combination
    /// of the one-hot bits.
    pub fn inside(&self, b: usize) -> LinearCombination<F> {
        // count = idx + 1 for the set bit: b < count ⟺ idx ≥ b
        self.onehot
            .iter()
            .skip(b)
            .fold(LinearCombination::zero(), |lc, e| lc + &e.lc(one(), F::ONE))
    }

    /// The chain value after `count` blocks: `Σ_c onehot[c − 1]·hs[c − 1]` (`sel{c}`, `select`).
    pub fn select<CS: ConstraintSystem<F>>(
        &self,
        cs: &mut CS,
        hs: &[AllocatedNum<F>],
    ) -> Result<AllocatedNum<F>, SynthesisError> {
        if hs.len() != self.onehot.len() {
            return Err(SynthesisError::IncompatibleLengthVector(format!(
                "{} chain values for a count up to {}",
                hs.len(),
                self.onehot.len()
            )));
        }
        select_onehot(cs, &self.onehot, hs)
    }

    /// Forces every value of `values` outside the first `count` blocks to zero (`zero{j}`).
    pub fn zero_beyond<CS: ConstraintSystem<F>>(
        &self,
        cs: &mut CS,
        values: &[AllocatedNum<F>],
        bits: u32,
    ) -> Result<(), SynthesisError> {
        let l = block_len(bits);
        for (j, v) in values.iter().enumerate() {
            let b = j / l;
            if b == 0 {
                continue; // the count is at least one block
            }
            cs.enforce(
                || format!("zero{j}"),
                |l| l + v.get_variable(),
                |lc| lc + one() - &self.inside(b),
                |lc| lc,
            );
        }
        Ok(())
    }
}

/// Opens the first `count` blocks of `values` as a tensor committed to `expected`: range-checks
/// every value (`range{j}/…`), forces the values past `count` blocks to zero, and enforces that
/// the chain after `count` blocks equals `expected` (`eq`) — only when `gate` (a boolean linear
/// combination) is one, if given.
pub fn open_prefix<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    values: &[AllocatedNum<F>],
    blind: &AllocatedNum<F>,
    bits: u32,
    count: &BlockCount<F>,
    expected: &AllocatedNum<F>,
    gate: Option<&LinearCombination<F>>,
) -> Result<Opened<F>, SynthesisError> {
    let checked = range_checked(cs, values, bits)?;
    count.zero_beyond(&mut cs.namespace(|| "beyond"), values, bits)?;
    let hs = chain(&mut cs.namespace(|| "commit"), values, blind, bits)?;
    let c = count.select(&mut cs.namespace(|| "count"), &hs)?;
    cs.enforce(
        || "eq",
        |l| match gate {
            Some(g) => l + g,
            None => l + one(),
        },
        |l| l + c.get_variable() - expected.get_variable(),
        |l| l,
    );
    Ok(Opened {
        values: checked,
        commitment: c,
    })
}

/// Range-checks every value to the signed `bits`-bit range (`range{j}/…`, `bits + 1`
/// constraints each).
pub fn range_checked<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    values: &[AllocatedNum<F>],
    bits: u32,
) -> Result<Vec<Signed<F>>, SynthesisError> {
    check_bits(bits)?;
    // Only `bits` matters to the range check.
    let fp = FixedPoint {
        fa: 1,
        fw: 1,
        bits,
        guard: 1,
    };
    values
        .iter()
        .enumerate()
        .map(|(j, v)| signed_num(&mut cs.namespace(|| format!("range{j}")), v, &fp))
        .collect()
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
    let checked = range_checked(cs, values, bits)?;
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
        // 1 and several packed elements, one block, and chains of many blocks
        for (n, bits) in [
            (1, 16),
            (15, 16),
            (16, 16),
            (100, 8),
            (200, 12),
            (1000, 8),
            (2000, 16),
        ] {
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
        // the length is fixed by the architecture, not by the commitment: blocks are
        // zero-padded
        assert_eq!(
            c,
            commit_native::<Fp>(&[1, -2, 3, 4, -5, 0], 8, Fp::from(9))
        );
        assert_ne!(
            c,
            commit_native::<Fp>(&[1, -2, 3, 4, -5, 1], 8, Fp::from(9))
        );
    }

    fn values(n: usize, bits: u32) -> Vec<i64> {
        let half = 1i64 << (bits - 1);
        (0..n as i64)
            .map(|i| (i * 104_729 + 7) % (2 * half) - half)
            .collect()
    }

    #[test]
    fn a_commitment_is_the_chain_of_its_blocks() {
        type Fp = <PallasEngine as Engine>::Scalar;
        let bits = 16;
        let l = block_len(bits);
        assert_eq!(l, 4 * 15);
        let v = values(2 * l + 5, bits);
        let blind = Fp::from(77);
        let chained = v
            .chunks(l)
            .fold(blind, |h, b| absorb_block_native(h, b, bits));
        assert_eq!(commit_native(&v, bits, blind), chained);
        assert_eq!(num_blocks(v.len(), bits), 3);
        // one block: the hash of the blind and the packed values
        let mut one = vec![blind];
        one.extend(pack_activations::<Fp>(&v[..l], bits));
        assert_eq!(
            commit_native(&v[..l], bits, blind),
            poseidon::hash_narrow(&one)
        );
        // an empty tensor is one block of zeros
        assert_eq!(
            commit_native::<Fp>(&[], bits, blind),
            commit_native::<Fp>(&[0], bits, blind)
        );
    }

    #[test]
    fn blocks_in_another_order_or_cut_elsewhere_commit_differently() {
        type Fp = <PallasEngine as Engine>::Scalar;
        let bits = 8;
        let l = block_len(bits);
        let v = values(2 * l, bits);
        let c = commit_native::<Fp>(&v, bits, Fp::from(0));
        let swapped: Vec<i64> = v[l..].iter().chain(&v[..l]).copied().collect();
        assert_ne!(c, commit_native::<Fp>(&swapped, bits, Fp::from(0)));
        // the same values cut into other blocks: another chain
        let other_cut = v[..l - 1]
            .chunks(l)
            .chain(v[l - 1..].chunks(l))
            .fold(Fp::from(0), |h, b| absorb_block_native(h, b, bits));
        assert_ne!(c, other_cut);
    }

    #[test]
    fn opening_with_swapped_blocks_fails_the_equality() {
        type Fp = <PallasEngine as Engine>::Scalar;
        let bits = 8;
        let l = block_len(bits);
        let v = values(2 * l, bits);
        let want = commit_native::<Fp>(&v, bits, Fp::from(0));
        let swapped: Vec<i64> = v[l..].iter().chain(&v[..l]).copied().collect();
        let mut cs = TamperCs::<Fp>::new();
        let x = alloc_i64s(&mut cs, "x", &swapped).unwrap();
        let b = AllocatedNum::alloc(cs.namespace(|| "blind"), || Ok(Fp::from(0))).unwrap();
        let e = AllocatedNum::alloc(cs.namespace(|| "expected"), || Ok(want)).unwrap();
        open(&mut cs, &x, &b, bits, &e).unwrap();
        assert_eq!(cs.unsatisfied(), vec!["eq"]);
    }

    #[test]
    fn a_forged_packed_element_in_a_later_block_fails_its_packing() {
        type Fp = <PallasEngine as Engine>::Scalar;
        let bits = 8;
        let v = values(block_len(bits) + 40, bits);
        let blind = Fp::from(3);
        let want = commit_native::<Fp>(&v, bits, blind);
        let mut cs = TamperCs::<Fp>::new();
        cs.override_value("commit/blk1/pack1/num", Fp::from(12345));
        let x = alloc_i64s(&mut cs, "x", &v).unwrap();
        let b = AllocatedNum::alloc(cs.namespace(|| "blind"), || Ok(blind)).unwrap();
        let e = AllocatedNum::alloc(cs.namespace(|| "expected"), || Ok(want)).unwrap();
        open(&mut cs, &x, &b, bits, &e).unwrap();
        assert!(cs.unused_overrides().is_empty());
        let failing = cs.unsatisfied();
        assert!(failing.contains(&"commit/blk1/pack1_eq"), "{failing:?}");
    }

    /// Opens a bus of `width` values holding `tensor` (zeros after it) with a count of `count`
    /// blocks against the tensor's own commitment; `bus_tamper` edits the bus values first.
    fn open_bus(
        tensor: &[i64],
        width: usize,
        count: usize,
        bus_tamper: impl Fn(&mut Vec<i64>),
        gate: Option<bool>,
    ) -> TamperCs<Fp> {
        let bits = 8;
        let want = commit_native::<Fp>(tensor, bits, Fp::from(5));
        let mut bus = tensor.to_vec();
        bus.resize(width, 0);
        bus_tamper(&mut bus);
        let mut cs = TamperCs::<Fp>::new();
        let x = alloc_i64s(&mut cs, "x", &bus).unwrap();
        let b = AllocatedNum::alloc(cs.namespace(|| "blind"), || Ok(Fp::from(5))).unwrap();
        let e = AllocatedNum::alloc(cs.namespace(|| "expected"), || Ok(want)).unwrap();
        let max = num_blocks(width, bits);
        let n = BlockCount::alloc(&mut cs.namespace(|| "n"), max, Some(count)).unwrap();
        let g = gate.map(|g| Boolean::constant(g).lc(one(), Fp::from(1)));
        open_prefix(&mut cs, &x, &b, bits, &n, &e, g.as_ref()).unwrap();
        cs
    }

    type Fp = <PallasEngine as Engine>::Scalar;

    #[test]
    fn a_tensor_opens_from_a_wider_bus_at_its_own_block_count() {
        let l = block_len(8);
        let t = values(l + 7, 8);
        let cs = open_bus(&t, 3 * l + 5, 2, |_| {}, None);
        assert!(cs.is_satisfied(), "{:?}", cs.which_is_unsatisfied());
        let cs = open_bus(&t[..l], 3 * l + 5, 1, |_| {}, None);
        assert!(cs.is_satisfied(), "{:?}", cs.which_is_unsatisfied());
    }

    #[test]
    fn a_value_past_the_tensor_fails_zero_beyond() {
        let l = block_len(8);
        let t = values(l + 7, 8);
        let cs = open_bus(&t, 3 * l, 2, |b| b[2 * l + 3] = 1, None);
        assert_eq!(cs.unsatisfied(), vec![format!("beyond/zero{}", 2 * l + 3)]);
    }

    #[test]
    fn another_block_count_fails_the_equality_unless_gated_off() {
        let l = block_len(8);
        let t = values(l + 7, 8);
        assert_eq!(
            open_bus(&t, 3 * l, 3, |_| {}, None).unsatisfied(),
            vec!["eq"]
        );
        // one block fewer: the second block's values are forced to zero as well
        let cs = open_bus(&t, 3 * l, 1, |_| {}, None);
        let failing = cs.unsatisfied();
        assert!(failing.contains(&"eq"), "{failing:?}");
        assert!(open_bus(&t, 3 * l, 3, |_| {}, Some(false)).is_satisfied());
        assert_eq!(
            open_bus(&t, 3 * l, 3, |_| {}, Some(true)).unsatisfied(),
            vec!["eq"]
        );
    }

    #[test]
    fn a_block_count_is_one_hot() {
        let mut cs = TamperCs::<Fp>::new();
        cs.override_value("n/is2/boolean", Fp::from(1));
        BlockCount::alloc(&mut cs.namespace(|| "n"), 3, Some(1)).unwrap();
        assert_eq!(cs.unsatisfied(), vec!["n/one_hot"]);
        let mut cs = TamperCs::<Fp>::new();
        assert!(BlockCount::<Fp>::alloc(&mut cs, 3, Some(4)).is_err());
    }
}
