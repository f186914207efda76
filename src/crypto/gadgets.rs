//! R1CS gadgets on nova-snark's frontend for the claim circuit: circomlib's Poseidon
//! (permutation, hash, kerafold's chain hash), Poseidon-cipher decryption, and Baby Jubjub
//! (on-curve check, addition, doubling, fixed-base and variable-base scalar multiplication).
//!
//! Generic over `PrimeField` like every kerafold gadget, but the constants are circomlib's, so
//! only the BN254 scalar field gives circom-compatible results (the constants panic otherwise).
//! Each gadget has its native twin in [`super::poseidon`], [`super::cipher`] and
//! [`super::babyjubjub`], and its constraint count is stated in its docs.
//!
//! Values are `Option`s: shape synthesis (`ShapeCS`) has none; witness synthesis has all of them.
//! Intermediate values that need no constraint of their own are kept as linear combinations
//! ([`Lc`]), so Poseidon's linear layers and the cipher's additions cost nothing.

use super::babyjubjub::{Point, A, D};
use super::poseidon::{chain_init, params, CHAIN_RATE};
use ff::{PrimeField, PrimeFieldBits};
use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::{
    AllocatedBit, Boolean, ConstraintSystem, Index, LinearCombination, SynthesisError, Variable,
};

fn one() -> Variable {
    Variable::new_unchecked(Index::Input(0))
}

fn missing() -> SynthesisError {
    SynthesisError::AssignmentMissing
}

/// A linear combination of variables with its value (if known).
#[derive(Clone, Debug)]
pub struct Lc<F: PrimeField> {
    /// The linear combination.
    pub lc: LinearCombination<F>,
    /// Its value, if the constraint system has values.
    pub value: Option<F>,
}

impl<F: PrimeField> Lc<F> {
    /// A constant.
    pub fn constant(c: F) -> Self {
        Self {
            lc: LinearCombination::zero() + (c, one()),
            value: Some(c),
        }
    }

    /// An allocated number.
    pub fn num(n: &AllocatedNum<F>) -> Self {
        Self {
            lc: LinearCombination::zero() + n.get_variable(),
            value: n.get_value(),
        }
    }

    /// A boolean variable as 0/1.
    pub fn bit(b: &AllocatedBit) -> Self {
        Self {
            lc: LinearCombination::zero() + b.get_variable(),
            value: b.get_value().map(|v| if v { F::ONE } else { F::ZERO }),
        }
    }

    /// `self + o`.
    pub fn add(&self, o: &Self) -> Self {
        Self {
            lc: self.lc.clone() + &o.lc,
            value: self.value.zip(o.value).map(|(a, b)| a + b),
        }
    }

    /// `self − o`.
    pub fn sub(&self, o: &Self) -> Self {
        Self {
            lc: self.lc.clone() - &o.lc,
            value: self.value.zip(o.value).map(|(a, b)| a - b),
        }
    }

    /// `c·self`.
    pub fn scale(&self, c: F) -> Self {
        Self {
            lc: LinearCombination::zero() + (c, &self.lc),
            value: self.value.map(|v| v * c),
        }
    }

    /// `self + c`.
    pub fn add_const(&self, c: F) -> Self {
        Self {
            lc: self.lc.clone() + (c, one()),
            value: self.value.map(|v| v + c),
        }
    }

    /// Allocates a variable equal to this combination (1 constraint, `eq`).
    pub fn alloc<CS: ConstraintSystem<F>>(
        &self,
        mut cs: CS,
    ) -> Result<AllocatedNum<F>, SynthesisError> {
        let n = AllocatedNum::alloc(cs.namespace(|| "value"), || self.value.ok_or_else(missing))?;
        cs.enforce(
            || "eq",
            |lc| lc + n.get_variable(),
            |lc| lc + one(),
            |_| self.lc.clone(),
        );
        Ok(n)
    }

    /// Enforces `self = o` (1 constraint, named `name`).
    pub fn enforce_eq<CS: ConstraintSystem<F>>(&self, cs: &mut CS, name: &str, o: &Self) {
        cs.enforce(
            || name,
            |_| self.lc.clone(),
            |lc| lc + one(),
            |_| o.lc.clone(),
        );
    }
}

/// Allocates `a·b`: variable `name`, constraint `"{name} constraint"`.
pub(crate) fn mul<F: PrimeField, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    name: &str,
    a: &Lc<F>,
    b: &Lc<F>,
) -> Result<Lc<F>, SynthesisError> {
    let v = a.value.zip(b.value).map(|(x, y)| x * y);
    let var = cs.alloc(|| name.to_string(), || v.ok_or_else(missing))?;
    cs.enforce(
        || format!("{name} constraint"),
        |_| a.lc.clone(),
        |_| b.lc.clone(),
        |lc| lc + var,
    );
    Ok(Lc {
        lc: LinearCombination::zero() + var,
        value: v,
    })
}

/// Allocates `num / den` (variable `name`) with the constraint `q·den = num` (`"{name}
/// constraint"`); unsatisfiable if `den = 0`.
fn div<F: PrimeField, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    name: &str,
    num: &Lc<F>,
    den: &Lc<F>,
) -> Result<Lc<F>, SynthesisError> {
    let v =
        match (num.value, den.value) {
            (Some(n), Some(d)) => Some(Option::<F>::from(d.invert()).map(|i| n * i).ok_or_else(
                || SynthesisError::Unsatisfiable(format!("{name}: division by zero")),
            )?),
            _ => None,
        };
    let var = cs.alloc(|| name.to_string(), || v.ok_or_else(missing))?;
    cs.enforce(
        || format!("{name} constraint"),
        |lc| lc + var,
        |_| den.lc.clone(),
        |_| num.lc.clone(),
    );
    Ok(Lc {
        lc: LinearCombination::zero() + var,
        value: v,
    })
}

// ---------------------------------------------------------------------------------------------
// Poseidon

/// `x⁵` (3 constraints: `x2`, `x4`, `x5`).
pub(crate) fn pow5<F: PrimeField, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    x: &Lc<F>,
) -> Result<Lc<F>, SynthesisError> {
    let x2 = mul(cs, "x2", x, x)?;
    let x4 = mul(cs, "x4", &x2, &x2)?;
    mul(cs, "x5", &x4, x)
}

/// circomlib's Poseidon permutation of a state of width 2..=13: `3·(8·t + RP)` constraints
/// (t = 4: 264; t = 13: 507). Namespaces `r{round}/s{i}`.
pub fn permute<F: PrimeField, CS: ConstraintSystem<F>>(
    mut cs: CS,
    state: &[Lc<F>],
) -> Result<Vec<Lc<F>>, SynthesisError> {
    let p = params::<F>(state.len());
    let t = p.t;
    let mut s = state.to_vec();
    for r in 0..p.rounds() {
        for (i, x) in s.iter_mut().enumerate() {
            *x = x.add_const(p.ark[r * t + i]);
        }
        let n = if p.is_full(r) { t } else { 1 };
        let mut round = cs.namespace(|| format!("r{r}"));
        for (i, x) in s.iter_mut().enumerate().take(n) {
            *x = pow5(&mut round.namespace(|| format!("s{i}")), x)?;
        }
        drop(round);
        s = (0..t)
            .map(|i| {
                let mut acc = Lc::constant(F::ZERO);
                for (j, x) in s.iter().enumerate() {
                    acc = acc.add(&x.scale(p.mds[i][j]));
                }
                acc
            })
            .collect();
    }
    Ok(s)
}

/// circomlib's `Poseidon(n)` of 1..=12 inputs (`3·(8·(n+1) + RP)` constraints; 2 inputs: 243).
pub fn hash<F: PrimeField, CS: ConstraintSystem<F>>(
    cs: CS,
    inputs: &[Lc<F>],
) -> Result<Lc<F>, SynthesisError> {
    let mut state = vec![Lc::constant(F::ZERO)];
    state.extend_from_slice(inputs);
    Ok(permute(cs, &state)?.swap_remove(0))
}

/// [`super::poseidon::chain_hash`] in the circuit: 507 constraints per [`CHAIN_RATE`] elements
/// (at least one chunk). Namespaces `c{chunk}`.
pub fn chain_hash<F: PrimeField, CS: ConstraintSystem<F>>(
    mut cs: CS,
    tag: u64,
    xs: &[Lc<F>],
) -> Result<Lc<F>, SynthesisError> {
    let mut h = Lc::constant(chain_init::<F>(tag, xs.len()));
    let chunks = xs.len().div_ceil(CHAIN_RATE).max(1);
    for c in 0..chunks {
        let mut input = vec![h];
        input.extend(xs.iter().skip(c * CHAIN_RATE).take(CHAIN_RATE).cloned());
        input.resize(CHAIN_RATE + 1, Lc::constant(F::ZERO));
        h = hash(cs.namespace(|| format!("c{c}")), &input)?;
    }
    Ok(h)
}

/// The number whose big-endian bits are `bits` (at most the field's capacity), as a linear
/// combination: free.
pub(crate) fn pack_bits_be<F: PrimeField>(bits: &[Boolean]) -> Lc<F> {
    assert!(bits.len() <= F::CAPACITY as usize);
    let mut lc = LinearCombination::zero();
    let mut value = Some(F::ZERO);
    let mut c = F::ONE;
    for b in bits.iter().rev() {
        lc = lc + &b.lc(one(), c);
        value = value
            .zip(b.get_value())
            .map(|(v, bit)| if bit { v + c } else { v });
        c = c.double();
    }
    Lc { lc, value }
}

// ---------------------------------------------------------------------------------------------
// Poseidon cipher

/// `poseidonDecrypt` in the circuit: the plaintext (length `len`) of `ciphertext` (length
/// `3·⌈len/3⌉ + 1`) under `key` and `nonce`, enforcing that the padding decrypts to zero
/// and that the last element authenticates. Costs one
/// permutation (264 constraints) per 3 elements plus one, and one constraint per padding
/// element; the plaintext elements are linear combinations (free). Namespaces `p{k}`,
/// constraints `pad{j}`, `auth`.
///
/// Decryption succeeds exactly when `ciphertext = poseidonEncrypt(plaintext, key, nonce)`.
pub fn decrypt<F: PrimeField, CS: ConstraintSystem<F>>(
    mut cs: CS,
    ciphertext: &[Lc<F>],
    key: (&Lc<F>, &Lc<F>),
    nonce: &Lc<F>,
    len: usize,
) -> Result<Vec<Lc<F>>, SynthesisError> {
    if ciphertext.len() != super::cipher::ciphertext_len(len) {
        return Err(SynthesisError::Unsatisfiable(format!(
            "ciphertext of {} elements for a message of {len}",
            ciphertext.len()
        )));
    }
    let two128 = F::from_u128(1u128 << 127).double();
    let mut state = vec![
        Lc::constant(F::ZERO),
        key.0.clone(),
        key.1.clone(),
        nonce.add_const(F::from(len as u64) * two128),
    ];
    let mut message = Vec::with_capacity(ciphertext.len() - 1);
    let body = &ciphertext[..ciphertext.len() - 1];
    for (k, triple) in body.chunks(3).enumerate() {
        state = permute(cs.namespace(|| format!("p{k}")), &state)?;
        for j in 0..3 {
            message.push(triple[j].sub(&state[j + 1]));
            state[j + 1] = triple[j].clone();
        }
    }
    for (j, m) in message.iter().enumerate().skip(len) {
        m.enforce_eq(&mut cs, &format!("pad{j}"), &Lc::constant(F::ZERO));
    }
    let k = body.len() / 3;
    state = permute(cs.namespace(|| format!("p{k}")), &state)?;
    state[1].enforce_eq(&mut cs, "auth", &ciphertext[ciphertext.len() - 1]);
    message.truncate(len);
    Ok(message)
}

// ---------------------------------------------------------------------------------------------
// Baby Jubjub

/// A point in the circuit (coordinates as linear combinations).
#[derive(Clone, Debug)]
pub struct PointVar<F: PrimeField> {
    /// x coordinate.
    pub x: Lc<F>,
    /// y coordinate.
    pub y: Lc<F>,
}

impl<F: PrimeField> PointVar<F> {
    /// A constant point.
    pub fn constant(p: &Point) -> Self {
        Self {
            x: Lc::constant(super::bn254::from_ark(&super::bn254::to_ark(&p.x))),
            y: Lc::constant(super::bn254::from_ark(&super::bn254::to_ark(&p.y))),
        }
    }

    /// Allocates a point's coordinates as witnesses `x`, `y` (no constraint: check it with
    /// [`assert_on_curve`]).
    pub fn alloc<CS: ConstraintSystem<F>>(
        mut cs: CS,
        p: Option<(F, F)>,
    ) -> Result<Self, SynthesisError> {
        let x = AllocatedNum::alloc(cs.namespace(|| "x"), || p.map(|p| p.0).ok_or_else(missing))?;
        let y = AllocatedNum::alloc(cs.namespace(|| "y"), || p.map(|p| p.1).ok_or_else(missing))?;
        Ok(Self {
            x: Lc::num(&x),
            y: Lc::num(&y),
        })
    }

    /// The coordinates' values.
    pub fn value(&self) -> Option<(F, F)> {
        self.x.value.zip(self.y.value)
    }
}

/// Enforces `a·x² + y² = 1 + d·x²·y²` (3 constraints: `xx constraint`, `yy constraint`,
/// `curve`).
pub(crate) fn assert_on_curve<F: PrimeField, CS: ConstraintSystem<F>>(
    mut cs: CS,
    p: &PointVar<F>,
) -> Result<(), SynthesisError> {
    let xx = mul(&mut cs, "xx", &p.x, &p.x)?;
    let yy = mul(&mut cs, "yy", &p.y, &p.y)?;
    // (d·xx)·yy = a·xx + yy − 1
    let rhs = xx.scale(F::from(A)).add(&yy).add_const(-F::ONE);
    cs.enforce(
        || "curve",
        |_| xx.scale(F::from(D)).lc,
        |_| yy.lc.clone(),
        |_| rhs.lc,
    );
    Ok(())
}

/// Twisted Edwards addition `p + q` (6 constraints, one per variable `beta`, `gamma`, `delta`,
/// `tau`, `x3`, `y3`), complete for points on the curve.
pub fn add<F: PrimeField, CS: ConstraintSystem<F>>(
    mut cs: CS,
    p: &PointVar<F>,
    q: &PointVar<F>,
) -> Result<PointVar<F>, SynthesisError> {
    let (a, d) = (F::from(A), F::from(D));
    let beta = mul(&mut cs, "beta", &p.x, &q.y)?;
    let gamma = mul(&mut cs, "gamma", &p.y, &q.x)?;
    let delta = mul(&mut cs, "delta", &p.y.sub(&p.x.scale(a)), &q.x.add(&q.y))?;
    let tau = mul(&mut cs, "tau", &beta, &gamma)?;
    finish_add(&mut cs, &beta, &gamma, &delta, &tau, a, d)
}

fn finish_add<F: PrimeField, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    beta: &Lc<F>,
    gamma: &Lc<F>,
    delta: &Lc<F>,
    tau: &Lc<F>,
    a: F,
    d: F,
) -> Result<PointVar<F>, SynthesisError> {
    let dtau = tau.scale(d);
    let x = div(cs, "x3", &beta.add(gamma), &dtau.add_const(F::ONE))?;
    let y = div(
        cs,
        "y3",
        &delta.add(&beta.scale(a)).sub(gamma),
        &Lc::constant(F::ONE).sub(&dtau),
    )?;
    Ok(PointVar { x, y })
}

/// Doubling `2·p` (5 constraints, one per variable `beta`, `delta`, `tau`, `x3`, `y3`).
pub(crate) fn double<F: PrimeField, CS: ConstraintSystem<F>>(
    mut cs: CS,
    p: &PointVar<F>,
) -> Result<PointVar<F>, SynthesisError> {
    let (a, d) = (F::from(A), F::from(D));
    let beta = mul(&mut cs, "beta", &p.x, &p.y)?;
    let delta = mul(&mut cs, "delta", &p.y.sub(&p.x.scale(a)), &p.x.add(&p.y))?;
    let tau = mul(&mut cs, "tau", &beta, &beta)?;
    finish_add(&mut cs, &beta, &beta, &delta, &tau, a, d)
}

/// Allocates the `n` little-endian bits of a scalar (`n` booleanity constraints, variables
/// `b{i}`).
pub(crate) fn alloc_scalar_bits<F: PrimeField, CS: ConstraintSystem<F>>(
    mut cs: CS,
    bits: Option<&[bool]>,
    n: usize,
) -> Result<Vec<AllocatedBit>, SynthesisError> {
    (0..n)
        .map(|i| {
            AllocatedBit::alloc(
                cs.namespace(|| format!("b{i}")),
                bits.map(|b| b.get(i).copied().unwrap_or(false)),
            )
        })
        .collect()
}

/// `k·base` for a constant `base` and the scalar's little-endian bits: `6·(n − 1)` constraints
/// (1,500 for 251 bits). The table `2^i·base` is constant and selecting a table point or the
/// identity by a bit is linear, so each bit costs one addition. Namespaces `add{i}`.
pub(crate) fn mul_fixed<F: PrimeField, CS: ConstraintSystem<F>>(
    mut cs: CS,
    base: &Point,
    bits: &[AllocatedBit],
) -> Result<PointVar<F>, SynthesisError> {
    let mut pow = *base;
    let mut acc: Option<PointVar<F>> = None;
    for (i, b) in bits.iter().enumerate() {
        let c = PointVar::<F>::constant(&pow);
        let cx = c.x.value.expect("constant");
        let cy = c.y.value.expect("constant");
        let bit = Lc::bit(b);
        // b ? pow : (0, 1)
        let sel = PointVar {
            x: bit.scale(cx),
            y: bit.scale(cy - F::ONE).add_const(F::ONE),
        };
        acc = Some(match acc {
            None => sel,
            Some(a) => add(cs.namespace(|| format!("add{i}")), &a, &sel)?,
        });
        pow = pow.add(&pow);
    }
    Ok(acc.unwrap_or_else(|| PointVar::constant(&Point::identity())))
}

/// `k·p` for a variable point `p` (on the curve: check it separately) and the scalar's
/// little-endian bits, by double-and-add from the top bit: `13·(n − 1) + 2` constraints (3,252
/// for 251 bits). Namespaces `dbl{i}`, `sel{i}`, `add{i}`.
pub(crate) fn mul_var<F: PrimeField, CS: ConstraintSystem<F>>(
    mut cs: CS,
    p: &PointVar<F>,
    bits: &[AllocatedBit],
) -> Result<PointVar<F>, SynthesisError> {
    let mut acc: Option<PointVar<F>> = None;
    for (i, b) in bits.iter().enumerate().rev() {
        let bit = Lc::bit(b);
        let mut ns = cs.namespace(|| format!("sel{i}"));
        // b ? p : (0, 1): x = b·px, y − 1 = b·(py − 1)
        let sx = mul(&mut ns, "x", &bit, &p.x)?;
        let sy = mul(&mut ns, "y", &bit, &p.y.add_const(-F::ONE))?.add_const(F::ONE);
        drop(ns);
        let sel = PointVar { x: sx, y: sy };
        acc = Some(match acc {
            None => sel,
            Some(a) => {
                let d = double(cs.namespace(|| format!("dbl{i}")), &a)?;
                add(cs.namespace(|| format!("add{i}")), &d, &sel)?
            }
        });
    }
    Ok(acc.unwrap_or_else(|| PointVar::constant(&Point::identity())))
}

/// Allocates the `n` low bits of `x`'s value and enforces that they recompose to `x` (`n + 1`
/// constraints: `bits/b{i}` booleanity, `recompose`): a range check `0 ≤ x < 2^n`. `n` stays
/// below the field's capacity, so the recomposition cannot wrap and the bits are unique.
pub(crate) fn range_check<F: PrimeField + PrimeFieldBits, CS: ConstraintSystem<F>>(
    mut cs: CS,
    x: &Lc<F>,
    n: usize,
) -> Result<Vec<AllocatedBit>, SynthesisError> {
    assert!(n <= F::CAPACITY as usize);
    let bits_v: Option<Vec<bool>> = x
        .value
        .map(|v| v.to_le_bits().iter().take(n).map(|b| *b).collect());
    let bits = alloc_scalar_bits(cs.namespace(|| "bits"), bits_v.as_deref(), n)?;
    let mut sum = Lc::constant(F::ZERO);
    let mut c = F::ONE;
    for b in &bits {
        sum = sum.add(&Lc::bit(b).scale(c));
        c = c.double();
    }
    sum.enforce_eq(&mut cs, "recompose", x);
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::babyjubjub::SecretKey;
    use crate::crypto::bn254::Fr;
    use crate::crypto::{cipher, poseidon};
    use ff::Field;
    use kerafold_step_circuits::cs::TamperCs;

    fn num(cs: &mut TamperCs<Fr>, name: &str, v: Fr) -> Lc<Fr> {
        Lc::num(&AllocatedNum::alloc(cs.namespace(|| name.to_string()), || Ok(v)).unwrap())
    }

    fn out(cs: &mut TamperCs<Fr>, name: &str, x: &Lc<Fr>) -> Fr {
        x.alloc(cs.namespace(|| name.to_string()))
            .unwrap()
            .get_value()
            .unwrap()
    }

    fn perm_circuit(cs: &mut TamperCs<Fr>, s: &[Fr]) -> Vec<Fr> {
        let state: Vec<Lc<Fr>> = s
            .iter()
            .enumerate()
            .map(|(i, v)| num(cs, &format!("in{i}"), *v))
            .collect();
        let o = permute(cs.namespace(|| "p"), &state).unwrap();
        o.iter()
            .enumerate()
            .map(|(i, x)| out(cs, &format!("out{i}"), x))
            .collect()
    }

    #[test]
    fn permutation_matches_native_and_costs_264() {
        let s = [
            Fr::from(0u64),
            Fr::from(1u64),
            Fr::from(2u64),
            Fr::from(3u64),
        ];
        let mut cs = TamperCs::new();
        let got = perm_circuit(&mut cs, &s);
        assert!(cs.is_satisfied());
        let mut want = s.to_vec();
        poseidon::permute(&mut want);
        assert_eq!(got, want);
        assert_eq!(cs.num_constraints(), 264 + 4);
        assert!(cs.unconstrained().is_empty(), "{:?}", cs.unconstrained());

        // a forged S-box output breaks its own constraint
        let mut cs = TamperCs::new();
        cs.override_value("p/r0/s1/x2", Fr::from(5u64));
        perm_circuit(&mut cs, &s);
        assert_eq!(cs.which_is_unsatisfied(), Some("p/r0/s1/x2 constraint"));
        // a forged output is caught by the final linear layer's equality
        let mut cs = TamperCs::new();
        cs.override_value("out2/value/num", want[2] + Fr::ONE);
        perm_circuit(&mut cs, &s);
        assert_eq!(cs.unsatisfied(), vec!["out2/eq"]);
    }

    #[test]
    fn hash_and_chain_match_native() {
        let xs: Vec<Fr> = (1..=2u64).map(Fr::from).collect();
        let mut cs = TamperCs::new();
        let v: Vec<Lc<Fr>> = xs
            .iter()
            .enumerate()
            .map(|(i, x)| num(&mut cs, &format!("x{i}"), *x))
            .collect();
        let h = hash(cs.namespace(|| "h"), &v).unwrap();
        assert_eq!(cs.num_constraints(), 243);
        assert_eq!(h.value, Some(poseidon::hash(&xs)));
        for n in [0usize, 5, 11, 12, 30] {
            let xs: Vec<Fr> = (0..n as u64).map(|i| Fr::from(i * 7 + 1)).collect();
            let mut cs = TamperCs::new();
            let v: Vec<Lc<Fr>> = xs
                .iter()
                .enumerate()
                .map(|(i, x)| num(&mut cs, &format!("x{i}"), *x))
                .collect();
            let h = chain_hash(cs.namespace(|| "c"), 9, &v).unwrap();
            let got = out(&mut cs, "h", &h);
            assert!(cs.is_satisfied());
            assert_eq!(got, poseidon::chain_hash(9, &xs), "n = {n}");
            assert_eq!(cs.num_constraints(), 507 * n.div_ceil(11).max(1) + 1);
        }
    }

    fn decrypt_circuit(
        cs: &mut TamperCs<Fr>,
        ct: &[Fr],
        key: (Fr, Fr),
        nonce: u128,
        len: usize,
    ) -> Vec<Fr> {
        let c: Vec<Lc<Fr>> = ct
            .iter()
            .enumerate()
            .map(|(i, x)| num(cs, &format!("c{i}"), *x))
            .collect();
        let k0 = num(cs, "k0", key.0);
        let k1 = num(cs, "k1", key.1);
        let n = num(cs, "nonce", Fr::from_u128(nonce));
        let m = decrypt(cs.namespace(|| "dec"), &c, (&k0, &k1), &n, len).unwrap();
        m.iter()
            .enumerate()
            .map(|(i, x)| out(cs, &format!("m{i}"), x))
            .collect()
    }

    #[test]
    fn decryption_matches_and_rejects_wrong_key_or_ciphertext() {
        let key = (Fr::from(1234u64), Fr::from(5678u64));
        let msg: Vec<Fr> = (0..5u64).map(|i| Fr::from(i + 100)).collect();
        let ct = cipher::encrypt(&msg, key, 42);
        let mut cs = TamperCs::new();
        assert_eq!(decrypt_circuit(&mut cs, &ct, key, 42, 5), msg);
        assert!(cs.is_satisfied());
        // 3 permutations of 264, one padding constraint, the tag, 5 outputs
        assert_eq!(cs.num_constraints(), 3 * 264 + 1 + 1 + 5);

        let mut cs = TamperCs::new();
        decrypt_circuit(&mut cs, &ct, (key.0, key.1 + Fr::ONE), 42, 5);
        assert_eq!(cs.unsatisfied(), vec!["dec/pad5", "dec/auth"]);

        // an altered ciphertext element decrypts to another plaintext that does not authenticate
        let mut altered = ct.clone();
        altered[4] += Fr::ONE;
        let mut cs = TamperCs::new();
        decrypt_circuit(&mut cs, &altered, key, 42, 5);
        assert_eq!(cs.unsatisfied(), vec!["dec/auth"]);
        // forging a ciphertext variable breaks the permutation it feeds
        let mut cs = TamperCs::new();
        cs.override_value("c4/num", ct[4] + Fr::ONE);
        decrypt_circuit(&mut cs, &ct, key, 42, 5);
        assert_eq!(
            cs.which_is_unsatisfied(),
            Some("dec/p2/r0/s2/x2 constraint")
        );

        let mut cs = TamperCs::new();
        decrypt_circuit(&mut cs, &ct, key, 43, 5);
        assert!(!cs.is_satisfied());
    }

    fn point(cs: &mut TamperCs<Fr>, name: &str, p: &Point) -> PointVar<Fr> {
        PointVar::alloc(cs.namespace(|| name.to_string()), Some((p.x, p.y))).unwrap()
    }

    #[test]
    fn addition_doubling_and_curve_check() {
        let b = Point::base8();
        let p3 = b.add(&b).add(&b);
        let mut cs = TamperCs::new();
        let (bv, pv) = (point(&mut cs, "b", &b), point(&mut cs, "p", &p3));
        assert_on_curve(cs.namespace(|| "oc"), &pv).unwrap();
        let s = add(cs.namespace(|| "add"), &bv, &pv).unwrap();
        let d = double(cs.namespace(|| "dbl"), &bv).unwrap();
        assert!(cs.is_satisfied());
        assert_eq!(s.value(), Some((b.add(&p3).x, b.add(&p3).y)));
        assert_eq!(d.value(), Some((b.add(&b).x, b.add(&b).y)));
        assert_eq!(cs.num_constraints(), 3 + 6 + 5);

        let mut cs = TamperCs::new();
        cs.override_value("add/x3", Fr::from(7u64));
        let (bv, pv) = (point(&mut cs, "b", &b), point(&mut cs, "p", &p3));
        add(cs.namespace(|| "add"), &bv, &pv).unwrap();
        assert_eq!(cs.unsatisfied(), vec!["add/x3 constraint"]);

        let mut cs = TamperCs::new();
        let off = Point {
            x: b.x,
            y: b.y + Fr::ONE,
        };
        let ov = point(&mut cs, "o", &off);
        assert_on_curve(cs.namespace(|| "oc"), &ov).unwrap();
        assert_eq!(cs.unsatisfied(), vec!["oc/curve"]);
    }

    fn scalar_mul(
        cs: &mut TamperCs<Fr>,
        k: &SecretKey,
        base: &Point,
    ) -> (PointVar<Fr>, PointVar<Fr>) {
        let bits = alloc_scalar_bits(cs.namespace(|| "s"), Some(&k.scalar_bits()), 251).unwrap();
        let f = mul_fixed(cs.namespace(|| "fixed"), &Point::base8(), &bits).unwrap();
        let bv = point(cs, "base", base);
        let v = mul_var(cs.namespace(|| "var"), &bv, &bits).unwrap();
        (f, v)
    }

    #[test]
    fn scalar_multiplications_match_native() {
        let (k, other) = (
            SecretKey::from_private_key(&[7; 32]),
            SecretKey::from_private_key(&[8; 32]),
        );
        let mut cs = TamperCs::new();
        let (f, v) = scalar_mul(&mut cs, &k, &other.public());
        assert!(cs.is_satisfied());
        let pk = k.public();
        let shared = k.ecdh(&other.public());
        assert_eq!(f.value(), Some((pk.x, pk.y)));
        assert_eq!(v.value(), Some((shared.x, shared.y)));
        // 251 bits + 1,500 fixed-base + 3,252 variable-base
        assert_eq!(cs.num_constraints(), 251 + 1500 + 3252);
        assert!(cs.unconstrained().is_empty());

        // a non-boolean "bit" is refused
        let mut cs = TamperCs::new();
        cs.override_value("s/b3/boolean", Fr::from(2u64));
        scalar_mul(&mut cs, &k, &other.public());
        assert_eq!(cs.which_is_unsatisfied(), Some("s/b3/boolean constraint"));
        // a forged addition inside the ladder breaks it
        let mut cs = TamperCs::new();
        cs.override_value("var/add100/y3", Fr::from(3u64));
        scalar_mul(&mut cs, &k, &other.public());
        assert_eq!(cs.which_is_unsatisfied(), Some("var/add100/y3 constraint"));
    }

    #[test]
    fn range_check_bounds() {
        for (v, ok) in [
            (Fr::from(255u64), true),
            (Fr::from(256u64), false),
            (-Fr::ONE, false),
        ] {
            let mut cs = TamperCs::new();
            let x = num(&mut cs, "x", v);
            range_check(cs.namespace(|| "r"), &x, 8).unwrap();
            assert_eq!(cs.is_satisfied(), ok, "{v:?}");
            if !ok {
                assert_eq!(cs.unsatisfied(), vec!["r/recompose"]);
            }
        }
    }
}
