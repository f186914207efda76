//! Verifying a snarkjs Groth16 phase-2 ceremony in Rust: a `.zkey` is accepted as the claim
//! circuit's key only if
//!
//! 1. **its transcript chains** ([`verify_transcript`]): every contribution's transcript is
//!    BLAKE2b-512 of the circuit hash and the contributions before it, its proof of knowledge
//!    (`s`, `s·x` in G1, `sp·x` in G2, `sp` hashed from the transcript onto G2 as snarkjs does)
//!    has one ratio `x`, δ moved by exactly that `x`, a beacon's key is the one its published
//!    value derives, and the key's δ₁, δ₂ are the last contribution's;
//! 2. **its points are the circuit's over the powers of tau** ([`verify_key`]): α, β from the
//!    ptau, γ the generator; the A, B₁, B₂ and IC queries equal the ptau's Lagrange bases combined
//!    by the circuit's matrices, and the L and H queries equal them divided by δ. Each section is
//!    checked at once by a random linear combination the verifier draws (one MSM per side, a
//!    pairing where δ enters), which a wrong point passes with probability about `1/r`.
//!
//! What this trusts: the ptau (a public ceremony's file, pinned by hash: [`published_ptau`]) and
//! the R1CS, which the verifier builds itself. The key's circuit hash is taken from the file: it
//! only seeds the transcript, and the points it would summarize are checked directly. (snarkjs'
//! own circuit hash covers one H-query point more than it announces for domains ≥ 2^14, which
//! makes it depend on the ptau file's byte layout; nothing here relies on it.)
//!
//! The soundness of the keys then rests on one honest contribution (or an unpredictable beacon)
//! and one honest participant of the ptau; a party that contributed checks that its own
//! contribution hash is listed ([`VerifiedCeremony::contributions`]).

use crate::claim::circom::{
    self, bad, binfile, finite, g1_uncompressed, hex_bytes, in_file, modulus_le, points, section,
    sized, ArkFr, Beacon, Bytes, Contribution, ZkeyFile, G1_BYTES, G2_BYTES, N8,
};
use crate::claim::groth16::R1cs;
use crate::crypto::bn254::to_ark;
use crate::{Error, Result};
use ark_bn254::{Bn254, Fq, Fq2, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::short_weierstrass::SWCurveConfig;
use ark_ec::CurveConfig;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInt, Field, PrimeField, UniformRand, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use blake2::{Blake2b512, Digest};
use rand_chacha::rand_core::SeedableRng;
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;

/// The largest beacon snarkjs' verifier would iterate that kerafold does: `2^30` SHA-256
/// iterations (about a minute here). Real beacons use `2^10`; a larger exponent in an untrusted
/// key is refused rather than looped over.
pub const MAX_BEACON_ITERATIONS_EXP: u8 = 30;

/// The BLAKE2b-512 hashes of Hermez's `powersOfTau28_hez_final_NN.ptau` (the Perpetual Powers of
/// Tau ceremony, truncated to `2^NN`, with a final beacon) as snarkjs 0.7.6's README publishes
/// them, for the powers a claim circuit needs. `scripts/claim-ceremony.sh` downloads by these.
pub const PUBLISHED_PTAU: &[(u32, &str)] = &[
    (17, "6247a3433948b35fbfae414fa5a9355bfb45f56efa7ab4929e669264a0258976741dfbe3288bfb49828e5df02c2e633df38d2245e30162ae7e3bcca5b8b49345"),
    (18, "7e6a9c2e5f05179ddfc923f38f917c9e6831d16922a902b0b4758b8e79c2ab8a81bb5f29952e16ee6c5067ed044d7857b5de120a90704c1d3b637fd94b95b13e"),
    (19, "bca9d8b04242f175189872c42ceaa21e2951e0f0f272a0cc54fc37193ff6648600eaf1c555c70cdedfaf9fb74927de7aa1d33dc1e2a7f1a50619484989da0887"),
    (20, "89a66eb5590a1c94e3f1ee0e72acf49b1669e050bb5f93c73b066b564dca4e0c7556a52b323178269d64af325d8fdddb33da3a27c34409b821de82aa2bf1a27b"),
];

/// The power of the published ptau whose file hashes to `bytes`' BLAKE2b-512, if any.
pub fn published_ptau(bytes: &[u8]) -> Option<u32> {
    let h = hex::encode(Blake2b512::digest(bytes));
    PUBLISHED_PTAU
        .iter()
        .find(|(_, b)| *b == h)
        .map(|(p, _)| *p)
}

// ---------------------------------------------------------------------------------------------
// snarkjs' randomness: ffjavascript's ChaCha and its `fromRng` for fields and curve points
// ---------------------------------------------------------------------------------------------

/// ffjavascript's `ChaCha(seed)`: ChaCha20 keyed by eight u32 words read big-endian from a hash,
/// nonce zero, the block counter from zero; the stream read as u32 words. rand_chacha's
/// ChaCha20 is the same function (its key words are little-endian, hence the byte swap).
struct SnarkjsRng(rand_chacha::ChaCha20Rng);

impl SnarkjsRng {
    fn new(hash: &[u8]) -> Self {
        let mut key = [0u8; 32];
        for (k, w) in key.chunks_mut(4).zip(hash.chunks(4)) {
            k.copy_from_slice(&[w[3], w[2], w[1], w[0]]);
        }
        SnarkjsRng(rand_chacha::ChaCha20Rng::from_seed(key))
    }

    /// `nextU64`: the first word is the high half.
    fn u64(&mut self) -> u64 {
        let hi = self.0.next_u32() as u64;
        (hi << 32) | self.0.next_u32() as u64
    }

    fn bool(&mut self) -> bool {
        self.0.next_u32() & 1 == 1
    }

    /// `F.fromRng` of a 254-bit field: four u64 (least significant first), masked to 254 bits,
    /// redrawn until below the modulus, and taken as the element's *Montgomery* form (the wasm
    /// field stores elements that way), which is arkworks' representation too.
    fn field<F: PrimeField<BigInt = BigInt<4>>>(&mut self, montgomery: fn(BigInt<4>) -> F) -> F {
        loop {
            let mut l = [0u64; 4];
            for x in &mut l {
                *x = self.u64();
            }
            l[3] &= (1 << 62) - 1;
            if BigInt(l) < F::MODULUS {
                return montgomery(BigInt(l));
            }
        }
    }

    /// `G1.fromRng`: `x` at random until `x³ + b` is a square, `y` its root whose sign
    /// ([`negative`]) is the drawn bit. BN254's G1 has no cofactor.
    fn g1(&mut self) -> G1Affine {
        loop {
            let x = self.field(Fq::new_unchecked);
            let greatest = self.bool();
            let rhs = x.square() * x + ark_bn254::g1::Config::COEFF_B;
            if let Some(y) = rhs.sqrt() {
                let y = if negative(&y) == greatest { y } else { -y };
                return G1Affine::new_unchecked(x, y);
            }
        }
    }

    /// `G2.fromRng`: as [`Self::g1`] over Fq2 (`c0` drawn first), then times the twist's
    /// cofactor (ffjavascript's `cofactorG2`, arkworks' `COFACTOR`: the plain multiple, not a
    /// faster cofactor clearing, which would give another point of the subgroup).
    fn g2(&mut self) -> G2Affine {
        loop {
            let x = Fq2::new(self.field(Fq::new_unchecked), self.field(Fq::new_unchecked));
            let greatest = self.bool();
            let rhs = x.square() * x + ark_bn254::g2::Config::COEFF_B;
            if let Some(y) = rhs.sqrt() {
                let y = if negative2(&y) == greatest { y } else { -y };
                return G2Affine::new_unchecked(x, y)
                    .mul_bigint(ark_bn254::g2::Config::COFACTOR)
                    .into_affine();
            }
        }
    }
}

/// wasmcurves' `isNegative` of Fq: the standard value is above `(q − 1)/2`.
fn negative(x: &Fq) -> bool {
    x.into_bigint() > Fq::MODULUS_MINUS_ONE_DIV_TWO
}

/// wasmcurves' `isNegative` of Fq2: `c1`'s, or `c0`'s when `c1` is zero.
fn negative2(x: &Fq2) -> bool {
    if x.c1.is_zero() {
        negative(&x.c0)
    } else {
        negative(&x.c1)
    }
}

/// snarkjs' `hashToG2`: the G2 point a contribution's transcript commits it to.
pub fn hash_to_g2(transcript: &[u8; 64]) -> G2Affine {
    SnarkjsRng::new(transcript).g2()
}

/// snarkjs' beacon randomness: SHA-256 iterated `2^exp` times over the beacon value, the result
/// seeding [`SnarkjsRng`]; then the contributor's key `x` and `s` as `zkey beacon` draws them.
fn beacon_key(b: &Beacon) -> Result<(ArkFr, G1Affine)> {
    if b.iterations_exp > MAX_BEACON_ITERATIONS_EXP {
        return Err(Error::Invalid(format!(
            "ceremony: a beacon of 2^{} SHA-256 iterations (kerafold checks up to 2^{})",
            b.iterations_exp, MAX_BEACON_ITERATIONS_EXP
        )));
    }
    let mut h = b.hash.clone();
    for _ in 0..1u64 << b.iterations_exp {
        h = Sha256::digest(&h).to_vec();
    }
    let mut rng = SnarkjsRng::new(&h);
    let x = rng.field(ArkFr::new_unchecked);
    let s = rng.g1();
    Ok((x, s))
}

// ---------------------------------------------------------------------------------------------
// the transcript
// ---------------------------------------------------------------------------------------------

/// `e(a₁, b₂) = e(b₁, a₂)` with none of them zero: `b = x·a` in both groups for one `x`
/// (snarkjs' `sameRatio`).
fn same_ratio(a1: G1Affine, b1: G1Affine, a2: G2Affine, b2: G2Affine) -> bool {
    if a1.is_zero() || b1.is_zero() || a2.is_zero() || b2.is_zero() {
        return false;
    }
    Bn254::multi_pairing([a1, -b1], [b2, a2]).is_zero()
}

/// The transcript a contribution with key `(s, s·x)` after `earlier` must carry: BLAKE2b-512 of
/// the circuit hash, each earlier contribution as snarkjs hashes it (δ after, `s`, `s·x`, `sp·x`,
/// its transcript), then `s` and `s·x`. Its hash onto G2 ([`hash_to_g2`]) is the `sp` of the
/// contribution's proof of knowledge.
pub fn transcript(
    cs_hash: &[u8; 64],
    earlier: &[Contribution],
    g1_s: &G1Affine,
    g1_sx: &G1Affine,
) -> [u8; 64] {
    let mut h = Blake2b512::new();
    h.update(cs_hash);
    for c in earlier {
        c.absorb(&mut h);
    }
    h.update(g1_uncompressed(g1_s));
    h.update(g1_uncompressed(g1_sx));
    h.finalize().into()
}

/// A contribution that checked, as a contributor finds its own.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VerifiedContribution {
    /// The name it gave (snarkjs' `-n`).
    pub name: Option<String>,
    /// Its contribution hash, as snarkjs printed it to the contributor (hex in JSON).
    #[serde(serialize_with = "hex_bytes")]
    pub hash: [u8; 64],
    /// The beacon it was derived from, if it is the random beacon.
    pub beacon: Option<Beacon>,
}

/// A ceremony that checked: its circuit hash and contributions, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VerifiedCeremony {
    /// snarkjs' circuit hash, as the key records it (hex in JSON).
    #[serde(serialize_with = "hex_bytes")]
    pub cs_hash: [u8; 64],
    /// Every contribution, oldest first.
    pub contributions: Vec<VerifiedContribution>,
}

impl VerifiedCeremony {
    /// Contributions that are not the beacon.
    pub fn contributors(&self) -> usize {
        self.contributions
            .iter()
            .filter(|c| c.beacon.is_none())
            .count()
    }
}

/// Checks the key's phase-2 transcript (the module doc's point 1) and returns its
/// contributions. The zkey parser already refused malformed points; this refuses a transcript
/// that does not chain, a proof of knowledge that does not hold, a δ not moved by it, a beacon
/// whose key is not its value's, and a final δ that is not the transcript's.
pub fn verify_transcript(z: &ZkeyFile) -> Result<VerifiedCeremony> {
    let mut delta = G1Affine::generator();
    let mut out = Vec::with_capacity(z.contributions.len());
    for (i, c) in z.contributions.iter().enumerate() {
        let fail = |msg: &str| {
            Error::Invalid(format!(
                "ceremony: contribution {}{}: {msg}",
                i + 1,
                c.name
                    .as_deref()
                    .map(|n| format!(" ('{n}')"))
                    .unwrap_or_default()
            ))
        };
        if transcript(&z.cs_hash, &z.contributions[..i], &c.g1_s, &c.g1_sx) != c.transcript {
            return Err(fail(
                "its transcript is not the hash of the earlier ones and its key",
            ));
        }
        let sp = hash_to_g2(&c.transcript);
        if !same_ratio(c.g1_s, c.g1_sx, sp, c.g2_spx) {
            return Err(fail(
                "its proof of knowledge fails (s·x in G1 and sp·x in G2 differ)",
            ));
        }
        if !same_ratio(delta, c.delta_after, sp, c.g2_spx) {
            return Err(fail("δ did not move by the contribution's key"));
        }
        if let Some(b) = &c.beacon {
            let (x, s) = beacon_key(b)?;
            if c.g1_s != s || c.g1_sx != (s * x).into_affine() {
                return Err(fail("its key is not the one its beacon value derives"));
            }
        }
        out.push(VerifiedContribution {
            name: c.name.clone(),
            hash: c.hash(),
            beacon: c.beacon.clone(),
        });
        delta = c.delta_after;
    }
    if z.pk.delta_g1 != delta {
        return Err(Error::Invalid(
            "ceremony: the key's δ₁ is not the last contribution's".into(),
        ));
    }
    if !same_ratio(
        G1Affine::generator(),
        delta,
        G2Affine::generator(),
        z.pk.vk.delta_g2,
    ) {
        return Err(Error::Invalid(
            "ceremony: the key's δ₂ is not its δ₁ in G2".into(),
        ));
    }
    Ok(VerifiedCeremony {
        cs_hash: z.cs_hash,
        contributions: out,
    })
}

// ---------------------------------------------------------------------------------------------
// the powers of tau
// ---------------------------------------------------------------------------------------------

/// The points of a prepared powers of tau (snarkjs `.ptau` after `powersoftau prepare phase2`)
/// that a key of domain `N` is made of.
#[derive(Clone, Debug)]
pub struct PtauPoints {
    /// The ptau's power: it serves domains up to `2^power`.
    pub power: u32,
    /// α·G1.
    pub alpha_g1: G1Affine,
    /// β·G1.
    pub beta_g1: G1Affine,
    /// β·G2.
    pub beta_g2: G2Affine,
    /// `τ^i·G1` for `i < 2N − 1`.
    pub tau_g1: Vec<G1Affine>,
    /// `L_j(τ)·G1` over the domain of size `N`.
    pub l_tau_g1: Vec<G1Affine>,
    /// `L_j(τ)·G2`.
    pub l_tau_g2: Vec<G2Affine>,
    /// `α·L_j(τ)·G1`.
    pub l_alpha_tau_g1: Vec<G1Affine>,
    /// `β·L_j(τ)·G1`.
    pub l_beta_tau_g1: Vec<G1Affine>,
}

/// Reads the points a key of domain `domain_size` needs from a prepared `.ptau` (untrusted
/// bytes: sizes are checked against the header's power before anything is read, every point is
/// validated). Whether the ptau is a trustworthy ceremony's is [`published_ptau`]'s question.
pub fn read_ptau(bytes: &[u8], domain_size: usize) -> Result<PtauPoints> {
    parse_ptau(bytes, domain_size).map_err(in_file("ptau"))
}

fn parse_ptau(bytes: &[u8], n: usize) -> Result<PtauPoints> {
    let sections = binfile::<16>(bytes, b"ptau", 1)?;
    let mut h = section(&sections, 1, "header")?;
    if h.u32()? as usize != N8 || h.array::<N8>()? != modulus_le::<Fq>() {
        return Err(bad("the curve is not BN254"));
    }
    let power = h.u32()?;
    let _ceremony_power = h.u32()?;
    h.end()?;
    if power >= 28 {
        return Err(bad(format!("power {power} is above BN254's 2^27 domains")));
    }
    let big = 1usize << power;
    if !n.is_power_of_two() || n > big {
        return Err(bad(format!(
            "a ptau of power {power} cannot serve a domain of {n} (it needs power {})",
            n.trailing_zeros()
        )));
    }
    if sections[12].is_none() {
        return Err(bad(
            "not prepared for phase 2 (run `snarkjs powersoftau prepare phase2` on it)",
        ));
    }
    let k = n - 1; // level log2(n) of a Lagrange section starts after 2^0 + … + 2^(k−1) points
    let level = |t: usize, what: &'static str, levels: usize, each: usize| -> Result<&[u8]> {
        let b = sized(&sections, t, what, (1 << levels) - 1, each)?;
        Ok(&b[k * each..(k + n) * each])
    };
    let first = |t: usize, what: &'static str, count: usize, each: usize| -> Result<Bytes> {
        let b = sized(&sections, t, what, count, each)?;
        Ok(Bytes { b, what })
    };
    let alpha_g1 = finite(first(4, "alphaTauG1", big, G1_BYTES)?.g1("α")?, "α")?;
    let beta_g1 = finite(first(5, "betaTauG1", big, G1_BYTES)?.g1("β")?, "β")?;
    let beta_g2 = finite(first(6, "betaG2", 1, G2_BYTES)?.g2("β₂")?, "β₂")?;
    sized(&sections, 3, "tauG2", big, G2_BYTES)?;
    let tau = sized(&sections, 2, "tauG1", 2 * big - 1, G1_BYTES)?;
    let g1 = |b: &[u8], what: &str| points(b, G1_BYTES, what, circom::parse_g1);
    Ok(PtauPoints {
        power,
        alpha_g1,
        beta_g1,
        beta_g2,
        tau_g1: g1(&tau[..(2 * n - 1) * G1_BYTES], "tauG1")?,
        l_tau_g1: g1(level(12, "lTauG1", power as usize + 2, G1_BYTES)?, "lTauG1")?,
        l_tau_g2: points(
            level(13, "lTauG2", power as usize + 1, G2_BYTES)?,
            G2_BYTES,
            "lTauG2",
            circom::parse_g2,
        )?,
        l_alpha_tau_g1: g1(
            level(14, "lAlphaTauG1", power as usize + 1, G1_BYTES)?,
            "lAlphaTauG1",
        )?,
        l_beta_tau_g1: g1(
            level(15, "lBetaTauG1", power as usize + 1, G1_BYTES)?,
            "lBetaTauG1",
        )?,
    })
}

// ---------------------------------------------------------------------------------------------
// the key's points
// ---------------------------------------------------------------------------------------------

fn msm1(bases: &[G1Affine], scalars: &[ArkFr]) -> G1Projective {
    G1Projective::msm_unchecked(bases, scalars)
}

/// The circuit's rows combined by per-wire weights: `Σ_w ρ_w·M[j][w]` for each row `j` of A, B
/// and C, split into the public wires' part (the one included) and the private wires'; A has
/// snarkjs' extra row `m + s` with `1` at public wire `s`.
struct Combined {
    a: [Vec<ArkFr>; 2],
    b: [Vec<ArkFr>; 2],
    c: [Vec<ArkFr>; 2],
}

fn combine(r1cs: &R1cs, rho: &[ArkFr], n: usize) -> Combined {
    let public = |w: usize| usize::from(w > r1cs.num_inputs);
    let zero = || [vec![ArkFr::zero(); n], vec![ArkFr::zero(); n]];
    let mut out = Combined {
        a: zero(),
        b: zero(),
        c: zero(),
    };
    for (j, (a, b, c)) in r1cs.rows.iter().enumerate() {
        for (row, m) in [(a, &mut out.a), (b, &mut out.b), (c, &mut out.c)] {
            for (w, v) in row {
                m[public(*w)][j] += rho[*w] * to_ark(v);
            }
        }
    }
    let m = r1cs.num_constraints();
    for (s, r) in rho.iter().enumerate().take(r1cs.num_inputs + 1) {
        out.a[0][m + s] += r;
    }
    out
}

/// Checks the key's points against the circuit and the ptau (the module doc's point 2), with
/// weights drawn from `rng`. The key's δ must already be the transcript's
/// ([`verify_transcript`]), and its coefficients the circuit's ([`ZkeyFile::check_circuit`]).
pub fn verify_key<R: RngCore + CryptoRng>(
    z: &ZkeyFile,
    r1cs: &R1cs,
    ptau: &PtauPoints,
    rng: &mut R,
) -> Result<()> {
    let fail = |what: &str| {
        Error::Invalid(format!(
            "ceremony: the key's {what} is not the circuit's over this powers of tau"
        ))
    };
    let n = z.domain_size;
    if ptau.l_tau_g1.len() != n || r1cs.num_constraints() + r1cs.num_inputs + 1 > n {
        return Err(fail("domain"));
    }
    let pk = &z.pk;
    if pk.vk.alpha_g1 != ptau.alpha_g1 || pk.beta_g1 != ptau.beta_g1 {
        return Err(fail("α or β (G1)"));
    }
    if pk.vk.beta_g2 != ptau.beta_g2 {
        return Err(fail("β (G2)"));
    }
    if pk.vk.gamma_g2 != G2Affine::generator() {
        return Err(fail("γ"));
    }
    let n_pub = r1cs.num_inputs + 1;
    let rho: Vec<ArkFr> = (0..z.n_vars).map(|_| ArkFr::rand(rng)).collect();
    let cm = combine(r1cs, &rho, n);
    let total = |m: &[Vec<ArkFr>; 2]| -> Vec<ArkFr> {
        m[0].iter().zip(&m[1]).map(|(x, y)| *x + y).collect()
    };
    let (a, b) = (total(&cm.a), total(&cm.b));

    if msm1(&pk.a_query, &rho) != msm1(&ptau.l_tau_g1, &a) {
        return Err(fail("A query"));
    }
    if msm1(&pk.b_g1_query, &rho) != msm1(&ptau.l_tau_g1, &b) {
        return Err(fail("B₁ query"));
    }
    if G2Projective::msm_unchecked(&pk.b_g2_query, &rho)
        != G2Projective::msm_unchecked(&ptau.l_tau_g2, &b)
    {
        return Err(fail("B₂ query"));
    }
    // IC (γ = 1) and L (over δ): β·A + α·B + C of the public, resp. private, wires
    let abc = |k: usize| {
        msm1(&ptau.l_beta_tau_g1, &cm.a[k])
            + msm1(&ptau.l_alpha_tau_g1, &cm.b[k])
            + msm1(&ptau.l_tau_g1, &cm.c[k])
    };
    if msm1(&pk.vk.gamma_abc_g1, &rho[..n_pub]) != abc(0) {
        return Err(fail("IC"));
    }
    let l = msm1(&pk.l_query, &rho[n_pub..]);
    if !over_delta(l, abc(1), pk.vk.delta_g2) {
        return Err(fail("L query"));
    }
    // H: for r of degree < N − 1, Σ r_i(τ^(N+i) − τ^i) = r(τ)·Z(τ), and r·Z vanishes on ⟨ω_N⟩,
    // so on the domain of size 2N it is Σ_k −2·r(ω_2N·ω_N^k)·L_(2k+1): the H query's bases
    let mut r: Vec<ArkFr> = (0..n - 1).map(|_| ArkFr::rand(rng)).collect();
    let lhs = msm1(&ptau.tau_g1[n..2 * n - 1], &r) - msm1(&ptau.tau_g1[..n - 1], &r);
    r.push(ArkFr::zero());
    let domain = Radix2EvaluationDomain::<ArkFr>::new(n).ok_or_else(|| fail("domain"))?;
    let double = Radix2EvaluationDomain::<ArkFr>::new(2 * n).ok_or_else(|| fail("domain"))?;
    Radix2EvaluationDomain::distribute_powers(&mut r, double.group_gen());
    domain.fft_in_place(&mut r);
    let minus_two = -ArkFr::from(2u64);
    r.iter_mut().for_each(|x| *x *= minus_two);
    if !over_delta(msm1(&pk.h_query, &r), lhs, pk.vk.delta_g2) {
        return Err(fail("H query"));
    }
    Ok(())
}

/// `e(p, δ₂) = e(q, G2)`: `p = q/δ`.
fn over_delta(p: G1Projective, q: G1Projective, delta_g2: G2Affine) -> bool {
    Bn254::multi_pairing(
        [p.into_affine(), (-q).into_affine()],
        [delta_g2, G2Affine::generator()],
    )
    .is_zero()
}

/// The whole check: the key is `r1cs`'s ([`ZkeyFile::check_circuit`]), its transcript chains
/// ([`verify_transcript`]) and its points are the circuit's over `ptau` ([`verify_key`]).
pub fn verify_ceremony(z: &ZkeyFile, r1cs: &R1cs, ptau: &PtauPoints) -> Result<VerifiedCeremony> {
    z.check_circuit(r1cs)?;
    let ceremony = verify_transcript(z)?;
    verify_key(z, r1cs, ptau, &mut rand_core::OsRng)?;
    Ok(ceremony)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chacha_is_ffjavascripts() {
        // ffjavascript: new ChaCha([0,…,0]).nextU32() ×2 — the ChaCha20 block of the zero key
        // and nonce (RFC 7539 §2.3.2 style test vector of DJB's original: 76b8e0ad a0f13d90)
        let mut rng = SnarkjsRng::new(&[0u8; 32]);
        assert_eq!(rng.0.next_u32(), 0xade0b876);
        assert_eq!(rng.0.next_u32(), 0x903df1a0);
    }

    #[test]
    fn cofactor_is_ffjavascripts() {
        let want = "30644e72e131a029b85045b68181585e06ceecda572a2489345f2299c0f9fa8d";
        let have: String = ark_bn254::g2::Config::COFACTOR
            .iter()
            .rev()
            .map(|l| format!("{l:016x}"))
            .collect();
        assert_eq!(have, want);
    }

    #[test]
    fn hashed_points_are_in_their_groups() {
        let p = hash_to_g2(&[7u8; 64]);
        assert!(p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve());
        assert!(!p.is_zero());
        let q = SnarkjsRng::new(&[9u8; 32]).g1();
        assert!(q.is_on_curve());
    }
}
