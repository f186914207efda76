//! circom's and snarkjs' binary files, for a Groth16 phase-2 ceremony over the claim circuit:
//! the circuit's R1CS (`.r1cs`) and an assignment (`.wtns`) go to snarkjs; the ceremony's
//! proving key (`.zkey`) comes back, is parsed as untrusted bytes, and proves in Rust.
//!
//! All three are iden3 "binfile" containers, little-endian throughout:
//! `magic (4 bytes) | version u32 | nSections u32 | { type u32 | size u64 | body }*`.
//!
//! - `.r1cs` (version 1): section 1, the header `n8 = 32 | prime | nWires | nPubOut | nPubIn |
//!   nPrvIn | nLabels u64 | nConstraints`; section 2, per constraint the linear combinations
//!   A, B, C, each `n u32 | { wire u32 | coefficient (n8 bytes) }*`; section 3, the label of
//!   every wire (u64). Field elements are in standard form.
//! - `.wtns` (version 2): section 1, `n8 | prime | nWitness`; section 2, the values, standard
//!   form.
//! - `.zkey` (version 1, Groth16): section 1, the protocol (1); 2, `n8q | q | n8r | r | nVars |
//!   nPublic | domainSize | α₁ | β₁ | β₂ | γ₂ | δ₁ | δ₂`; 3, `IC[0..=nPublic]`; 4, the A and B
//!   coefficients `n | { matrix | constraint | signal | value·R² }*`; 5, 6, 7: the A, B₁, B₂
//!   queries (one point per wire); 8, the L query (private wires); 9, the H query (`domainSize`
//!   points); 10, the ceremony: `csHash (64) | n | contributions`. Points are affine,
//!   coordinates little-endian in Montgomery form (`R = 2²⁵⁶`), G2's `c0` before `c1`; the point
//!   at infinity is all zeros.
//!
//! Wires. circom numbers them `[1 | public outputs | public inputs | private]`; the claim
//! circuit's public inputs are all declared public *inputs* (`nPubOut = 0`) in their order, so a
//! wire is exactly the column of [`R1cs`] (arkworks' `[1 | X | W]`), `public.json` keeps its
//! order, and the ceremony's keys verify proofs of the same statement as
//! [`groth16`](super::groth16)'s.
//!
//! The QAP. snarkjs' `groth16 setup` adds one row `x_i · 0 = 0` per public wire (the one
//! included) after the constraints, takes the smallest domain `N = 2^k > constraints + public`,
//! and its H query is not arkworks' (`τⁱ·Z(τ)/δ`) but the odd Lagrange bases of the domain of
//! size `2N`, `L_{2i+1}(τ)/δ`: the prover evaluates `A·B − C` on the odd coset `ω_{2N}·⟨ω_N⟩`
//! (where `Z = −2`, and the polynomial's even values vanish). [`SnarkjsReduction`] is that
//! reduction as an arkworks [`R1CSToQAP`], so ark-groth16's prover proves with a zkey.

use crate::claim::groth16::{R1cs, Row};
use crate::crypto::bn254::{to_ark, Fr};
use crate::{Error, Result};
use ark_bn254::{Bn254, Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, BigInteger, Field, PrimeField, UniformRand, Zero};
use ark_groth16::r1cs_to_qap::{LibsnarkReduction, R1CSToQAP};
use ark_groth16::{Groth16, Proof, ProvingKey, VerifyingKey};
use ark_poly::EvaluationDomain;
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
use ark_relations::utils::matrix::Matrix;
use blake2::{Blake2b512, Digest};
use ff::Field as _;
use rand_core::{CryptoRng, RngCore};
use std::io::Write;

pub(crate) type ArkFr = ark_bn254::Fr;

/// Bytes of a BN254 field element (both fields).
pub(crate) const N8: usize = 32;
/// An affine G1 point in a zkey.
pub(crate) const G1_BYTES: usize = 2 * N8;
/// An affine G2 point in a zkey.
pub(crate) const G2_BYTES: usize = 4 * N8;
/// One coefficient of the zkey's section 4: `matrix | constraint | signal | value`.
const COEF_BYTES: usize = 12 + N8;
/// The largest domain a zkey may have: the H query needs the roots of unity of order `2N`, and
/// BN254's scalar field has them up to `2^28`.
pub const MAX_DOMAIN_SIZE: usize = 1 << 27;

pub(crate) fn modulus_le<F: PrimeField>() -> [u8; N8] {
    let mut out = [0u8; N8];
    out.copy_from_slice(&F::MODULUS.to_bytes_le());
    out
}

// ---------------------------------------------------------------------------------------------
// .r1cs and .wtns
// ---------------------------------------------------------------------------------------------

/// A row with its columns merged (duplicates summed, zeros dropped), sorted by column: snarkjs'
/// `wtns check` reads a linear combination into a map, so a repeated wire would lose a term.
fn merged(row: &Row) -> Vec<(usize, Fr)> {
    let mut sorted = row.clone();
    sorted.sort_by_key(|(c, _)| *c);
    let mut out: Vec<(usize, Fr)> = Vec::with_capacity(sorted.len());
    for (c, v) in sorted {
        match out.last_mut() {
            Some((lc, lv)) if *lc == c => *lv += v,
            _ => out.push((c, v)),
        }
    }
    out.retain(|(_, v)| !bool::from(v.is_zero()));
    out
}

fn u32_of(n: usize, what: &str) -> Result<u32> {
    u32::try_from(n).map_err(|_| {
        Error::Prover(format!(
            "{what}: {n} does not fit the circom format (32 bits)"
        ))
    })
}

fn io_err(what: &'static str) -> impl Fn(std::io::Error) -> Error {
    move |e| Error::io(what, e)
}

/// The smallest domain snarkjs' `groth16 setup` takes for `r1cs`: `2^k > constraints + public`.
pub fn domain_size(r1cs: &R1cs) -> usize {
    (r1cs.num_constraints() + r1cs.num_inputs + 1).next_power_of_two()
}

/// The smallest powers of tau (`2^power`) that can set up `r1cs` with snarkjs.
pub fn ptau_power(r1cs: &R1cs) -> u32 {
    domain_size(r1cs).trailing_zeros()
}

/// Writes `r1cs` as a circom `.r1cs` file: wire `i` is column `i` (the one, the public inputs in
/// their order, then the witness), every public input a public *input* (no outputs), no private
/// inputs (the witness is internal wires), one label per wire.
pub fn write_r1cs(r1cs: &R1cs, w: impl Write) -> Result<()> {
    let n_wires = 1 + r1cs.num_inputs + r1cs.num_aux;
    let n_wires32 = u32_of(n_wires, "wires")?;
    let m = u32_of(r1cs.num_constraints(), "constraints")?;
    let rows: Vec<[Vec<(usize, Fr)>; 3]> = r1cs
        .rows
        .iter()
        .map(|(a, b, c)| [merged(a), merged(b), merged(c)])
        .collect();
    let mut constraints_size = 0u64;
    for lc in rows.iter().flatten() {
        u32_of(lc.len(), "terms of a linear combination")?;
        if let Some((c, _)) = lc.last() {
            if *c >= n_wires {
                return Err(Error::Prover(format!(
                    "a constraint uses column {c} of {n_wires}"
                )));
            }
        }
        constraints_size += 4 + (4 + N8 as u64) * lc.len() as u64;
    }

    let mut w = std::io::BufWriter::new(w);
    let e = io_err("<.r1cs output>");
    let mut put = |b: &[u8]| w.write_all(b).map_err(&e);
    put(b"r1cs")?;
    put(&1u32.to_le_bytes())?;
    put(&3u32.to_le_bytes())?;

    // header
    put(&1u32.to_le_bytes())?;
    put(&64u64.to_le_bytes())?;
    put(&(N8 as u32).to_le_bytes())?;
    put(&modulus_le::<ArkFr>())?;
    put(&n_wires32.to_le_bytes())?;
    put(&0u32.to_le_bytes())?; // public outputs
    put(&u32_of(r1cs.num_inputs, "public inputs")?.to_le_bytes())?;
    put(&0u32.to_le_bytes())?; // private inputs
    put(&(n_wires as u64).to_le_bytes())?; // labels
    put(&m.to_le_bytes())?;

    // constraints
    put(&2u32.to_le_bytes())?;
    put(&constraints_size.to_le_bytes())?;
    for lc in rows.iter().flatten() {
        put(&(lc.len() as u32).to_le_bytes())?;
        for (c, v) in lc {
            put(&(*c as u32).to_le_bytes())?;
            put(ff::PrimeField::to_repr(v).as_ref())?;
        }
    }

    // wire → label
    put(&3u32.to_le_bytes())?;
    put(&(8 * n_wires as u64).to_le_bytes())?;
    for i in 0..n_wires as u64 {
        put(&i.to_le_bytes())?;
    }
    w.flush().map_err(e)
}

/// Writes the assignment `[1, inputs, aux]` as a snarkjs `.wtns` file (what a circom witness
/// generator would write for the circuit [`write_r1cs`] exports).
pub fn write_wtns(inputs: &[Fr], aux: &[Fr], w: impl Write) -> Result<()> {
    let n = 1 + inputs.len() + aux.len();
    let n32 = u32_of(n, "witness values")?;
    let mut w = std::io::BufWriter::new(w);
    let e = io_err("<.wtns output>");
    let mut put = |b: &[u8]| w.write_all(b).map_err(&e);
    put(b"wtns")?;
    put(&2u32.to_le_bytes())?;
    put(&2u32.to_le_bytes())?;
    put(&1u32.to_le_bytes())?;
    put(&(8 + N8 as u64).to_le_bytes())?;
    put(&(N8 as u32).to_le_bytes())?;
    put(&modulus_le::<ArkFr>())?;
    put(&n32.to_le_bytes())?;
    put(&2u32.to_le_bytes())?;
    put(&(N8 as u64 * n as u64).to_le_bytes())?;
    for v in std::iter::once(&Fr::ONE).chain(inputs).chain(aux) {
        put(ff::PrimeField::to_repr(v).as_ref())?;
    }
    w.flush().map_err(e)
}

// ---------------------------------------------------------------------------------------------
// .zkey
// ---------------------------------------------------------------------------------------------

/// One coefficient of the zkey's A or B matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coef {
    /// 0 for A, 1 for B.
    pub matrix: u8,
    /// The row: a constraint, or `constraints + i` for public wire `i`'s extra row.
    pub constraint: u32,
    /// The wire.
    pub signal: u32,
    /// The coefficient.
    pub value: ArkFr,
}

/// Bytes as lowercase hex in JSON reports.
pub(crate) fn hex_bytes<S: serde::Serializer>(
    b: impl AsRef<[u8]>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(b))
}

/// A random beacon's parameters (`zkey beacon`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Beacon {
    /// The beacon's value.
    #[serde(serialize_with = "hex_bytes")]
    pub hash: Vec<u8>,
    /// `log2` of the number of SHA-256 iterations applied to it.
    pub iterations_exp: u8,
}

/// One phase-2 contribution as snarkjs records it: the new δ and the contributor's proof of
/// knowledge of the key that moved it (`s`, `s·x` in G1, `sp·x` in G2 where `sp` hashes the
/// transcript).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    /// δ·G1 after this contribution.
    pub delta_after: G1Affine,
    /// `s`.
    pub g1_s: G1Affine,
    /// `s·x`.
    pub g1_sx: G1Affine,
    /// `sp·x`.
    pub g2_spx: G2Affine,
    /// BLAKE2b-512 of the circuit hash, the earlier contributions and `s`, `s·x`.
    pub transcript: [u8; 64],
    /// The contributor's name (at most 64 characters in snarkjs).
    pub name: Option<String>,
    /// A beacon's parameters (a random beacon instead of a contributor's entropy).
    pub beacon: Option<Beacon>,
}

/// The point as snarkjs hashes it ("uncompressed"): big-endian standard coordinates, G2's `c1`
/// before `c0`, all zeros for the point at infinity.
pub(crate) fn g1_uncompressed(p: &G1Affine) -> [u8; G1_BYTES] {
    let mut out = [0u8; G1_BYTES];
    if let Some((x, y)) = p.xy() {
        out[..N8].copy_from_slice(&x.into_bigint().to_bytes_be());
        out[N8..].copy_from_slice(&y.into_bigint().to_bytes_be());
    }
    out
}

pub(crate) fn g2_uncompressed(p: &G2Affine) -> [u8; G2_BYTES] {
    let mut out = [0u8; G2_BYTES];
    if let Some((x, y)) = p.xy() {
        for (k, c) in [x.c1, x.c0, y.c1, y.c0].iter().enumerate() {
            out[k * N8..(k + 1) * N8].copy_from_slice(&c.into_bigint().to_bytes_be());
        }
    }
    out
}

impl Contribution {
    /// The contribution's hash as snarkjs prints it (`Contribution Hash`, and per contribution in
    /// `zkey verify`): BLAKE2b-512 of δ after, `s`, `s·x`, `sp·x` and the transcript. A
    /// contributor publishes it; finding it in a key shows the contribution is in.
    pub fn hash(&self) -> [u8; 64] {
        let mut h = Blake2b512::new();
        self.absorb(&mut h);
        h.finalize().into()
    }

    /// Feeds the contribution to a hash as snarkjs does (its `hashPubKey`): δ after, `s`, `s·x`,
    /// `sp·x`, the transcript; both its hash and the later contributions' transcripts are made
    /// of this.
    pub(crate) fn absorb(&self, h: &mut Blake2b512) {
        h.update(g1_uncompressed(&self.delta_after));
        h.update(g1_uncompressed(&self.g1_s));
        h.update(g1_uncompressed(&self.g1_sx));
        h.update(g2_uncompressed(&self.g2_spx));
        h.update(self.transcript);
    }
}

/// A 64-byte hash laid out as snarkjs prints it: four lines of four 8-digit hex words, each
/// line indented by two tabs.
pub fn format_hash(h: &[u8; 64]) -> String {
    h.chunks(16)
        .map(|line| {
            let words: Vec<String> = line.chunks(4).map(hex::encode).collect();
            format!("\t\t{}", words.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A Groth16 `.zkey` (snarkjs), parsed and validated: every point on its curve and in its
/// subgroup, every scalar canonical, every section of its exact size.
#[derive(Clone, Debug)]
pub struct ZkeyFile {
    /// The proving key, in arkworks' form (its `h_query` is snarkjs' H section: prove with
    /// [`SnarkjsReduction`], see [`prove`]).
    pub pk: ProvingKey<Bn254>,
    /// Wires, the one included.
    pub n_vars: usize,
    /// Public wires, the one excluded.
    pub n_public: usize,
    /// The QAP's domain size `N`.
    pub domain_size: usize,
    /// The A and B coefficients (section 4), as stored.
    pub coefs: Vec<Coef>,
    /// BLAKE2b-512 of the key before any contribution (snarkjs' "circuit hash").
    pub cs_hash: [u8; 64],
    /// The phase-2 contributions, oldest first.
    pub contributions: Vec<Contribution>,
}

/// A malformed-file error; the public readers name the file kind ([`in_file`]).
pub(crate) fn bad(msg: impl std::fmt::Display) -> Error {
    Error::Malformed(msg.to_string())
}

/// Prefixes a parse error with the kind of file it is about (`zkey: …`, `ptau: …`).
pub(crate) fn in_file(kind: &'static str) -> impl Fn(Error) -> Error {
    move |e| match e {
        Error::Malformed(m) => Error::Malformed(format!("{kind}: {m}")),
        e => e,
    }
}

/// A bounded reader over untrusted bytes.
pub(crate) struct Bytes<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) what: &'static str,
}

impl<'a> Bytes<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.b.len() {
            return Err(bad(format!(
                "{} is truncated ({n} bytes wanted, {} left)",
                self.what,
                self.b.len()
            )));
        }
        let (head, tail) = self.b.split_at(n);
        self.b = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    pub(crate) fn array<const K: usize>(&mut self) -> Result<[u8; K]> {
        Ok(self.take(K)?.try_into().expect("K bytes"))
    }

    pub(crate) fn end(&self) -> Result<()> {
        if !self.b.is_empty() {
            return Err(bad(format!(
                "{} has {} bytes too many",
                self.what,
                self.b.len()
            )));
        }
        Ok(())
    }

    pub(crate) fn g1(&mut self, what: &str) -> Result<G1Affine> {
        parse_g1(self.take(G1_BYTES)?).map_err(|e| bad(format!("{what}: {e}")))
    }

    pub(crate) fn g2(&mut self, what: &str) -> Result<G2Affine> {
        parse_g2(self.take(G2_BYTES)?).map_err(|e| bad(format!("{what}: {e}")))
    }
}

fn limbs(b: &[u8]) -> BigInt<4> {
    let mut l = [0u64; 4];
    for (i, c) in b.chunks(8).enumerate() {
        l[i] = u64::from_le_bytes(c.try_into().expect("8 bytes"));
    }
    BigInt(l)
}

/// Why a point was refused.
pub(crate) type PointResult<P> = std::result::Result<P, &'static str>;

/// A base-field coordinate, 32 bytes little-endian in Montgomery form.
fn parse_fq(b: &[u8]) -> PointResult<Fq> {
    let v = limbs(b);
    if v >= Fq::MODULUS {
        return Err("a coordinate is not below q");
    }
    // arkworks keeps Fq in Montgomery form with the same R = 2^256
    Ok(Fq::new_unchecked(v))
}

pub(crate) fn parse_g1(b: &[u8]) -> PointResult<G1Affine> {
    if b.iter().all(|&x| x == 0) {
        return Ok(G1Affine::zero());
    }
    let p = G1Affine::new_unchecked(parse_fq(&b[..N8])?, parse_fq(&b[N8..])?);
    if !p.is_on_curve() || !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err("not a point of G1");
    }
    Ok(p)
}

pub(crate) fn parse_g2(b: &[u8]) -> PointResult<G2Affine> {
    if b.iter().all(|&x| x == 0) {
        return Ok(G2Affine::zero());
    }
    let c = |k: usize| parse_fq(&b[k * N8..(k + 1) * N8]);
    let p = G2Affine::new_unchecked(Fq2::new(c(0)?, c(1)?), Fq2::new(c(2)?, c(3)?));
    // the subgroup check is most of the parsing time (≈0.2 ms a point): the claim circuit's
    // B₂ query is checked on every core
    if !p.is_on_curve() || !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err("not a point of G2 (off the curve or outside the subgroup)");
    }
    Ok(p)
}

/// The points of a section, `size` bytes each, parsed on every core when there are many.
pub(crate) fn points<P: Send>(
    b: &[u8],
    size: usize,
    what: &str,
    parse: fn(&[u8]) -> PointResult<P>,
) -> Result<Vec<P>> {
    let n = b.len() / size;
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let per = if n < 1024 {
        n.max(1)
    } else {
        n.div_ceil(threads)
    };
    let chunk = |k: usize, c: &[u8]| -> Result<Vec<P>> {
        c.chunks_exact(size)
            .enumerate()
            .map(|(i, p)| parse(p).map_err(|e| bad(format!("{what}[{}]: {e}", k * per + i))))
            .collect()
    };
    let chunks: Vec<&[u8]> = b.chunks(per * size).collect();
    if chunks.len() <= 1 {
        return chunk(0, b);
    }
    let chunk = &chunk;
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .enumerate()
            .map(|(k, c)| s.spawn(move || chunk(k, c)))
            .collect();
        let mut out = Vec::with_capacity(n);
        for h in handles {
            out.extend(
                h.join()
                    .map_err(|_| bad("a point-checking thread panicked"))??,
            );
        }
        Ok(out)
    })
}

pub(crate) fn finite<P: AffineRepr>(p: P, what: &str) -> Result<P> {
    if p.is_zero() {
        return Err(bad(format!("{what} is the point at infinity")));
    }
    Ok(p)
}

fn contribution(r: &mut Bytes<'_>, i: usize) -> Result<Contribution> {
    let what = |s: &str| format!("contribution {i}: {s}");
    let delta_after = finite(r.g1(&what("δ after"))?, &what("δ after"))?;
    let g1_s = r.g1(&what("s"))?;
    let g1_sx = r.g1(&what("s·x"))?;
    let g2_spx = r.g2(&what("sp·x"))?;
    let transcript = r.array::<64>()?;
    let kind = r.u32()?;
    let len = r.u32()? as usize;
    let mut p = Bytes {
        b: r.take(len)?,
        what: "contribution parameters",
    };
    let (mut name, mut iterations_exp, mut hash) = (None, None, None);
    let mut last = 0u8;
    while !p.b.is_empty() {
        let t = p.u8()?;
        if t <= last {
            return Err(bad(what("parameters are not sorted")));
        }
        last = t;
        match t {
            1 => {
                let n = p.u8()? as usize;
                let s = std::str::from_utf8(p.take(n)?)
                    .map_err(|_| bad(what("the name is not UTF-8")))?;
                name = Some(s.to_string());
            }
            2 => iterations_exp = Some(p.u8()?),
            3 => {
                let n = p.u8()? as usize;
                hash = Some(p.take(n)?.to_vec());
            }
            _ => return Err(bad(what(&format!("unknown parameter {t}")))),
        }
    }
    let beacon = match (kind, iterations_exp, hash) {
        (0, None, None) => None,
        (1, Some(iterations_exp), Some(hash)) => Some(Beacon {
            hash,
            iterations_exp,
        }),
        (0 | 1, _, _) => {
            return Err(bad(what(
                "beacon parameters do not match the contribution type",
            )))
        }
        (k, _, _) => return Err(bad(what(&format!("unknown contribution type {k}")))),
    };
    Ok(Contribution {
        delta_after,
        g1_s,
        g1_sx,
        g2_spx,
        transcript,
        name,
        beacon,
    })
}

pub(crate) fn section<'a, const S: usize>(
    sections: &[Option<&'a [u8]>; S],
    t: usize,
    what: &'static str,
) -> Result<Bytes<'a>> {
    sections[t]
        .map(|b| Bytes { b, what })
        .ok_or_else(|| bad(format!("section {t} ({what}) is missing")))
}

/// A section of exactly `n` items of `each` bytes.
pub(crate) fn sized<'a, const S: usize>(
    sections: &[Option<&'a [u8]>; S],
    t: usize,
    what: &'static str,
    n: usize,
    each: usize,
) -> Result<&'a [u8]> {
    let b = section(sections, t, what)?.b;
    if b.len() as u64 != n as u64 * each as u64 {
        return Err(bad(format!(
            "{what} holds {} bytes, not {n} points of {each}",
            b.len()
        )));
    }
    Ok(b)
}

/// Parses a snarkjs Groth16 `.zkey` over BN254 (`groth16 setup`, `zkey contribute`, `zkey
/// beacon`). Untrusted bytes: every count is checked against the section that holds it before
/// anything is allocated, unknown or repeated sections and trailing bytes are refused, and
/// every point is validated; a bad file is an [`Error::Malformed`], never a panic.
///
/// Parsing proves nothing about the ceremony: that the key was derived from a powers of tau and
/// the circuit, and that each contribution is sound, is
/// [`ceremony::verify_ceremony`](super::ceremony::verify_ceremony)'s job (as `snarkjs zkey
/// verify`'s).
pub fn read_zkey(bytes: &[u8]) -> Result<ZkeyFile> {
    parse_zkey(bytes).map_err(in_file("zkey"))
}

/// The sections of an iden3 binfile (`magic | version | n | { type | size | body }*`), by type
/// (`1..S`): unknown or repeated types and trailing bytes are refused.
pub(crate) fn binfile<'a, const S: usize>(
    bytes: &'a [u8],
    magic: &[u8; 4],
    version: u32,
) -> Result<[Option<&'a [u8]>; S]> {
    let mut r = Bytes {
        b: bytes,
        what: "the file",
    };
    if r.take(4).ok() != Some(magic.as_slice()) {
        return Err(bad(format!(
            "not a {} file (no '{}' magic)",
            String::from_utf8_lossy(magic),
            String::from_utf8_lossy(magic)
        )));
    }
    let v = r.u32()?;
    if v != version {
        return Err(bad(format!("unsupported version {v}")));
    }
    let n_sections = r.u32()?;
    let mut sections: [Option<&[u8]>; S] = [None; S];
    for _ in 0..n_sections {
        let t = r.u32()?;
        let size = r.u64()?;
        let size = usize::try_from(size)
            .ok()
            .filter(|s| *s <= r.b.len())
            .ok_or_else(|| bad(format!("section {t} runs past the end of the file")))?;
        let body = r.take(size)?;
        let slot = sections
            .get_mut(t as usize)
            .filter(|_| t >= 1)
            .ok_or_else(|| bad(format!("unexpected section type {t}")))?;
        if slot.replace(body).is_some() {
            return Err(bad(format!("section {t} appears twice")));
        }
    }
    r.end()?;
    Ok(sections)
}

fn parse_zkey(bytes: &[u8]) -> Result<ZkeyFile> {
    let sections = binfile::<11>(bytes, b"zkey", 1)?;
    let section = |t: usize, what: &'static str| section(&sections, t, what);

    let mut s = section(1, "protocol section")?;
    let protocol = s.u32()?;
    s.end()?;
    if protocol != 1 {
        return Err(bad(format!(
            "protocol {protocol} is not Groth16 (1): a PLONK or FFLONK key?"
        )));
    }

    let mut h = section(2, "Groth16 header")?;
    if h.u32()? as usize != N8 || h.array::<N8>()? != modulus_le::<Fq>() {
        return Err(bad("the base field is not BN254's"));
    }
    if h.u32()? as usize != N8 || h.array::<N8>()? != modulus_le::<ArkFr>() {
        return Err(bad("the scalar field is not BN254's"));
    }
    let n_vars = h.u32()? as usize;
    let n_public = h.u32()? as usize;
    let domain_size = h.u32()? as usize;
    if n_public >= n_vars {
        return Err(bad(format!(
            "{n_public} public wires of {n_vars} (the one is a wire)"
        )));
    }
    if !domain_size.is_power_of_two() || domain_size <= n_public {
        return Err(bad(format!(
            "domain size {domain_size} is not a power of two above the public wires"
        )));
    }
    if domain_size > MAX_DOMAIN_SIZE {
        return Err(bad(format!(
            "domain size {domain_size} is above 2^27, not supported"
        )));
    }
    let alpha_g1 = finite(h.g1("α₁")?, "α₁")?;
    let beta_g1 = finite(h.g1("β₁")?, "β₁")?;
    let beta_g2 = finite(h.g2("β₂")?, "β₂")?;
    let gamma_g2 = finite(h.g2("γ₂")?, "γ₂")?;
    let delta_g1 = finite(h.g1("δ₁")?, "δ₁")?;
    let delta_g2 = finite(h.g2("δ₂")?, "δ₂")?;
    h.end()?;

    let sized =
        |t: usize, what: &'static str, n: usize, each: usize| sized(&sections, t, what, n, each);
    let ic = points(
        sized(3, "IC section", n_public + 1, G1_BYTES)?,
        G1_BYTES,
        "IC",
        parse_g1,
    )?;
    let a_query = points(
        sized(5, "A section", n_vars, G1_BYTES)?,
        G1_BYTES,
        "A",
        parse_g1,
    )?;
    let b_g1_query = points(
        sized(6, "B1 section", n_vars, G1_BYTES)?,
        G1_BYTES,
        "B1",
        parse_g1,
    )?;
    let b_g2_query = points(
        sized(7, "B2 section", n_vars, G2_BYTES)?,
        G2_BYTES,
        "B2",
        parse_g2,
    )?;
    let l_query = points(
        sized(8, "L section", n_vars - n_public - 1, G1_BYTES)?,
        G1_BYTES,
        "L",
        parse_g1,
    )?;
    let h_query = points(
        sized(9, "H section", domain_size, G1_BYTES)?,
        G1_BYTES,
        "H",
        parse_g1,
    )?;

    let mut c = section(4, "coefficients section")?;
    let n_coefs = c.u32()? as usize;
    if c.b.len() as u64 != n_coefs as u64 * COEF_BYTES as u64 {
        return Err(bad(format!(
            "the coefficients section holds {} bytes for {n_coefs} coefficients",
            c.b.len() + 4
        )));
    }
    // stored as value·R² in standard form (snarkjs reads them back as Montgomery-of-Montgomery)
    let r2_inv = ArkFr::from(2u64)
        .pow([512u64])
        .inverse()
        .expect("2 is invertible");
    let mut coefs = Vec::with_capacity(n_coefs);
    for i in 0..n_coefs {
        let matrix = c.u32()?;
        let constraint = c.u32()?;
        let signal = c.u32()?;
        let v = limbs(c.take(N8)?);
        if matrix > 1 || constraint as usize >= domain_size || signal as usize >= n_vars {
            return Err(bad(format!(
                "coefficient {i}: matrix {matrix}, row {constraint}, wire {signal} out of range"
            )));
        }
        let value = ArkFr::from_bigint(v)
            .ok_or_else(|| bad(format!("coefficient {i} is not below r")))?
            * r2_inv;
        coefs.push(Coef {
            matrix: matrix as u8,
            constraint,
            signal,
            value,
        });
    }

    let mut m = section(10, "contributions section")?;
    let cs_hash = m.array::<64>()?;
    let n = m.u32()?;
    let mut contributions = Vec::new();
    for i in 0..n as usize {
        contributions.push(contribution(&mut m, i)?);
    }
    m.end()?;
    if let Some(last) = contributions.last() {
        if last.delta_after != delta_g1 {
            return Err(bad(
                "δ₁ is not the last contribution's δ (a key edited after its ceremony?)",
            ));
        }
    }

    Ok(ZkeyFile {
        pk: ProvingKey {
            vk: VerifyingKey {
                alpha_g1,
                beta_g2,
                gamma_g2,
                delta_g2,
                gamma_abc_g1: ic,
            },
            beta_g1,
            delta_g1,
            a_query,
            b_g1_query,
            b_g2_query,
            h_query,
            l_query,
        },
        n_vars,
        n_public,
        domain_size,
        coefs,
        cs_hash,
        contributions,
    })
}

/// `(matrix, row, wire, value)` sorted, duplicates summed, zeros dropped.
fn normalized(mut v: Vec<(u8, u32, u32, ArkFr)>) -> Vec<(u8, u32, u32, ArkFr)> {
    v.sort_by_key(|&(m, c, s, _)| (m, c, s));
    let mut out: Vec<(u8, u32, u32, ArkFr)> = Vec::with_capacity(v.len());
    for (m, c, s, x) in v {
        match out.last_mut() {
            Some(l) if (l.0, l.1, l.2) == (m, c, s) => l.3 += x,
            _ => out.push((m, c, s, x)),
        }
    }
    out.retain(|e| !e.3.is_zero());
    out
}

impl ZkeyFile {
    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<Bn254> {
        &self.pk.vk
    }

    /// Checks that the key was set up for `r1cs` as [`write_r1cs`] exports it: the wire counts,
    /// the domain, and the A and B matrices with snarkjs' extra public rows. (The C matrix is
    /// not in a zkey; that the points are the right ones is `snarkjs zkey verify`'s check.)
    pub fn check_circuit(&self, r1cs: &R1cs) -> Result<()> {
        let not = |msg: String| Error::Invalid(format!("the zkey is not for this circuit: {msg}"));
        let n_vars = 1 + r1cs.num_inputs + r1cs.num_aux;
        if (self.n_vars, self.n_public) != (n_vars, r1cs.num_inputs) {
            return Err(not(format!(
                "{} wires of which {} public, the circuit has {n_vars} and {}",
                self.n_vars, self.n_public, r1cs.num_inputs
            )));
        }
        if self.domain_size != domain_size(r1cs) {
            return Err(not(format!(
                "domain of {}, the circuit needs {}",
                self.domain_size,
                domain_size(r1cs)
            )));
        }
        let mut want = Vec::new();
        for (k, (a, b, _)) in r1cs.rows.iter().enumerate() {
            for (m, row) in [(0u8, a), (1, b)] {
                for (s, v) in merged(row) {
                    want.push((m, k as u32, s as u32, to_ark(&v)));
                }
            }
        }
        let m = r1cs.num_constraints();
        for s in 0..=r1cs.num_inputs {
            want.push((0, (m + s) as u32, s as u32, ArkFr::from(1u64)));
        }
        let have = self
            .coefs
            .iter()
            .map(|c| (c.matrix, c.constraint, c.signal, c.value))
            .collect();
        let (want, have) = (normalized(want), normalized(have));
        if want != have {
            let first = want
                .iter()
                .zip(&have)
                .position(|(x, y)| x != y)
                .unwrap_or(want.len().min(have.len()));
            return Err(not(format!(
                "the A/B coefficients differ (entry {first} of {} vs {})",
                want.len(),
                have.len()
            )));
        }
        Ok(())
    }
}

fn matrices(r1cs: &R1cs) -> Vec<Matrix<ArkFr>> {
    let m = |f: fn(&(Row, Row, Row)) -> &Row| -> Matrix<ArkFr> {
        r1cs.rows
            .iter()
            .map(|r| f(r).iter().map(|(c, v)| (to_ark(v), *c)).collect())
            .collect()
    };
    vec![m(|r| &r.0), m(|r| &r.1), m(|r| &r.2)]
}

/// Proves with a snarkjs zkey: checks that `(inputs, aux)` satisfies `r1cs` and that the key is
/// `r1cs`'s ([`ZkeyFile::check_circuit`]), then runs ark-groth16's prover with
/// [`SnarkjsReduction`]. The proof verifies under [`ZkeyFile::vk`] (and with snarkjs).
pub fn prove<R: RngCore + CryptoRng>(
    zkey: &ZkeyFile,
    r1cs: &R1cs,
    inputs: &[Fr],
    aux: &[Fr],
    rng: &mut R,
) -> Result<Proof<Bn254>> {
    r1cs.check_assignment(inputs, aux)?;
    zkey.check_circuit(r1cs)?;
    let z: Vec<ArkFr> = std::iter::once(ArkFr::from(1u64))
        .chain(inputs.iter().chain(aux).map(to_ark))
        .collect();
    let (r, s) = (ArkFr::rand(rng), ArkFr::rand(rng));
    Groth16::<Bn254, SnarkjsReduction>::create_proof_with_reduction_and_matrices(
        &zkey.pk,
        r,
        s,
        &matrices(r1cs),
        1 + r1cs.num_inputs,
        r1cs.num_constraints(),
        &z,
    )
    .map_err(|e| Error::Prover(format!("Groth16 prove (zkey): {e}")))
}

/// snarkjs' R1CS-to-QAP reduction (see the module doc): the same instance map as arkworks'
/// (public rows `x_i · 0 = 0` after the constraints), but the H query holds `L_{2i+1}(τ)/δ` over
/// the domain of size `2N`, and the witness map evaluates `A·B − C` on the odd coset.
pub struct SnarkjsReduction;

impl R1CSToQAP for SnarkjsReduction {
    #[allow(clippy::type_complexity)]
    fn instance_map_with_evaluation<F: PrimeField, D: EvaluationDomain<F>>(
        cs: ConstraintSystemRef<F>,
        t: &F,
    ) -> std::result::Result<(Vec<F>, Vec<F>, Vec<F>, F, usize, usize), SynthesisError> {
        LibsnarkReduction::instance_map_with_evaluation::<F, D>(cs, t)
    }

    fn witness_map_from_matrices<F: PrimeField, D: EvaluationDomain<F>>(
        matrices: &[Matrix<F>],
        num_inputs: usize,
        num_constraints: usize,
        full_assignment: &[F],
    ) -> std::result::Result<Vec<F>, SynthesisError> {
        if matrices.len() < 2
            || matrices[0].len() < num_constraints
            || matrices[1].len() < num_constraints
            || full_assignment.len() < num_inputs
        {
            return Err(SynthesisError::Unsatisfiable);
        }
        let domain =
            D::new(num_constraints + num_inputs).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let n = domain.size();
        let double = D::new(2 * n).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let eval = |row: &[(F, usize)]| -> std::result::Result<F, SynthesisError> {
            row.iter().try_fold(F::zero(), |acc, (c, i)| {
                full_assignment
                    .get(*i)
                    .map(|x| acc + *c * x)
                    .ok_or(SynthesisError::Unsatisfiable)
            })
        };
        let mut a = vec![F::zero(); n];
        let mut b = vec![F::zero(); n];
        for k in 0..num_constraints {
            a[k] = eval(&matrices[0][k])?;
            b[k] = eval(&matrices[1][k])?;
        }
        a[num_constraints..num_constraints + num_inputs]
            .copy_from_slice(&full_assignment[..num_inputs]);
        // C as A·B on the domain (snarkjs' choice; equal to the C matrix's values for a
        // satisfying assignment, which the caller checks)
        let mut c: Vec<F> = a.iter().zip(&b).map(|(x, y)| *x * y).collect();
        // evaluations on ⟨ω_N⟩ → on ω_2N·⟨ω_N⟩
        let odd = double.group_gen();
        for v in [&mut a, &mut b, &mut c] {
            domain.ifft_in_place(v);
            D::distribute_powers(v, odd);
            domain.fft_in_place(v);
        }
        Ok(a.iter()
            .zip(&b)
            .zip(&c)
            .map(|((x, y), z)| *x * y - z)
            .collect())
    }

    fn h_query_scalars<F: PrimeField, D: EvaluationDomain<F>>(
        max_power: usize,
        t: F,
        _zt: F,
        delta_inverse: F,
    ) -> std::result::Result<Vec<F>, SynthesisError> {
        let n = max_power + 1;
        let double = D::new(2 * n).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let l = double.evaluate_all_lagrange_coefficients(t);
        Ok(l.into_iter()
            .skip(1)
            .step_by(2)
            .map(|x| x * delta_inverse)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claim::groth16::{self, FrontendCircuit, Replay};
    use ark_snark::SNARK;
    use nova_snark::frontend::num::AllocatedNum;
    use nova_snark::frontend::{ConstraintSystem, SynthesisError as NovaErr};

    /// `x³ + x + 5 = y` with `y` public, plus `x·x = x²` written with a repeated wire.
    struct Cubic(Option<u64>);
    impl FrontendCircuit for Cubic {
        fn synthesize<CS: ConstraintSystem<Fr>>(
            &self,
            cs: &mut CS,
        ) -> std::result::Result<(), NovaErr> {
            let v = |f: fn(u64) -> u64| {
                self.0
                    .map(|x| Fr::from(f(x)))
                    .ok_or(NovaErr::AssignmentMissing)
            };
            let y = AllocatedNum::alloc_input(cs.namespace(|| "y"), || v(|x| x * x * x + x + 5))?;
            let x = AllocatedNum::alloc(cs.namespace(|| "x"), || v(|x| x))?;
            let x2 = AllocatedNum::alloc(cs.namespace(|| "x2"), || v(|x| x * x))?;
            let x3 = AllocatedNum::alloc(cs.namespace(|| "x3"), || v(|x| x * x * x))?;
            // (x + x − x)·x = x²: a repeated column in A
            cs.enforce(
                || "x2",
                |lc| lc + x.get_variable() + x.get_variable() - x.get_variable(),
                |lc| lc + x.get_variable(),
                |lc| lc + x2.get_variable(),
            );
            cs.enforce(
                || "x3",
                |lc| lc + x2.get_variable(),
                |lc| lc + x.get_variable(),
                |lc| lc + x3.get_variable(),
            );
            cs.enforce(
                || "y",
                |lc| lc + x3.get_variable() + x.get_variable() + (Fr::from(5u64), CS::one()),
                |lc| lc + CS::one(),
                |lc| lc + y.get_variable(),
            );
            Ok(())
        }
    }

    #[test]
    fn snarkjs_reduction_proves_with_arkworks_setup() {
        // the reduction on its own: arkworks' generator with snarkjs' H query, then the prover
        let r1cs = R1cs::of(&Cubic(None)).unwrap();
        let (pk, vk) = Groth16::<Bn254, SnarkjsReduction>::circuit_specific_setup(
            Replay {
                r1cs: &r1cs,
                assignment: None,
            },
            &mut rand_core::OsRng,
        )
        .unwrap();
        assert_eq!(pk.h_query.len(), domain_size(&r1cs));
        let (x, w) = groth16::witness(&Cubic(Some(3))).unwrap();
        assert_eq!(x, vec![Fr::from(35u64)]);
        let z: Vec<ArkFr> = std::iter::once(ArkFr::from(1u64))
            .chain(x.iter().chain(&w).map(to_ark))
            .collect();
        let proof = Groth16::<Bn254, SnarkjsReduction>::create_proof_with_reduction_and_matrices(
            &pk,
            ArkFr::from(7u64),
            ArkFr::from(11u64),
            &matrices(&r1cs),
            2,
            r1cs.num_constraints(),
            &z,
        )
        .unwrap();
        assert!(groth16::verify(&vk, &x, &proof));
        assert!(!groth16::verify(&vk, &[Fr::from(36u64)], &proof));
    }

    #[test]
    fn r1cs_and_wtns_layout() {
        let r1cs = R1cs::of(&Cubic(None)).unwrap();
        assert_eq!(
            (r1cs.num_inputs, r1cs.num_aux, r1cs.num_constraints()),
            (1, 3, 3)
        );
        assert_eq!((domain_size(&r1cs), ptau_power(&r1cs)), (8, 3));
        let mut out = Vec::new();
        write_r1cs(&r1cs, &mut out).unwrap();
        assert_eq!(&out[..12], b"r1cs\x01\0\0\0\x03\0\0\0");
        // header: n8, prime, 5 wires, 0 outputs, 1 public input, 0 private, 5 labels, 3 rows
        let h = &out[12 + 12..12 + 12 + 64];
        assert_eq!(h[..4], 32u32.to_le_bytes());
        assert_eq!(h[4..36], modulus_le::<ArkFr>());
        let u = |k: usize| u32::from_le_bytes(h[36 + 4 * k..40 + 4 * k].try_into().unwrap());
        assert_eq!((u(0), u(1), u(2), u(3)), (5, 0, 1, 0));
        assert_eq!(h[52..60], 5u64.to_le_bytes());
        assert_eq!(h[60..64], 3u32.to_le_bytes());
        // the repeated wire of the first row is merged: A = [x]
        let c = &out[12 + 12 + 64 + 12..];
        assert_eq!(c[..4], 1u32.to_le_bytes());
        assert_eq!(c[4..8], 2u32.to_le_bytes());
        // 9 combinations of 1, 1, 1 | 1, 1, 1 | 3, 1, 1 terms
        let constraints = 9 * 4 + 11 * 36;
        assert_eq!(out.len(), 12 + 12 + 64 + 12 + constraints + 12 + 5 * 8);

        let (x, w) = groth16::witness(&Cubic(Some(3))).unwrap();
        let mut wt = Vec::new();
        write_wtns(&x, &w, &mut wt).unwrap();
        assert_eq!(wt.len(), 12 + 12 + 40 + 12 + 5 * 32);
        let value = |i: usize| &wt[76 + 32 * i..76 + 32 * (i + 1)];
        assert_eq!(value(0)[0], 1);
        assert_eq!(value(1)[0], 35);
        assert_eq!(value(4)[0], 27);
        assert!(value(4)[1..].iter().all(|&b| b == 0));
    }

    #[test]
    fn hashes_print_like_snarkjs() {
        let mut h = [0u8; 64];
        h.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
        let s = format_hash(&h);
        assert_eq!(s.lines().count(), 4);
        assert!(s.starts_with("\t\t00010203 04050607 08090a0b 0c0d0e0f\n\t\t10111213"));
    }

    #[test]
    fn malformed_zkeys_are_refused() {
        for (bytes, msg) in [
            (&b""[..], "magic"),
            (b"zkez\x01\0\0\0\0\0\0\0", "magic"),
            (b"zkey\x02\0\0\0\0\0\0\0", "version"),
            (b"zkey\x01\0\0\0\x01\0\0\0", "truncated"),
            (b"zkey\x01\0\0\0\0\0\0\0", "missing"),
            (
                b"zkey\x01\0\0\0\x01\0\0\0\x0b\0\0\0\0\0\0\0\0\0\0\0",
                "unexpected section",
            ),
            (
                b"zkey\x01\0\0\0\x01\0\0\0\x01\0\0\0\xff\0\0\0\0\0\0\0",
                "past the end",
            ),
            (
                b"zkey\x01\0\0\0\x02\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0",
                "twice",
            ),
        ] {
            let e = read_zkey(bytes).unwrap_err().to_string();
            assert!(e.contains(msg), "{e}");
        }
    }
}
