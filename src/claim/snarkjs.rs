//! snarkjs-format exports of Groth16 keys and proofs, and EVM calldata.
//!
//! - G1 points are `[x, y, "1"]`, G2 points `[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]` (real part
//!   first), all decimal; the point at infinity is `["0", "1", "0"]`.
//! - `verification_key.json`: `protocol`, `curve` (`bn128`), `nPublic`, `vk_alpha_1`,
//!   `vk_beta_2`, `vk_gamma_2`, `vk_delta_2`, `IC`.
//! - `proof.json`: `pi_a`, `pi_b`, `pi_c`, `protocol`, `curve`; `public.json`: decimal strings.
//! - EVM: G2 coordinates go imaginary part first (`[c1, c0]`), as precompile 0x08 wants; the
//!   calldata of `verifyProof(uint256[2] a, uint256[2][2] b, uint256[2] c, uint256[N] input)` is
//!   those words in order, and [`calldata_text`] prints them as `snarkjs zkey export
//!   soliditycalldata` does.

use crate::crypto::bn254::{from_dec, to_dec, Fr};
use crate::{Error, Result};
use ark_bn254::{Bn254, Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};
use ark_groth16::{Proof, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// snarkjs `verification_key.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VkJson {
    /// `groth16`.
    pub protocol: String,
    /// `bn128`.
    pub curve: String,
    /// Number of public inputs.
    #[serde(rename = "nPublic")]
    pub n_public: usize,
    /// α in G1.
    pub vk_alpha_1: [String; 3],
    /// β in G2.
    pub vk_beta_2: [[String; 2]; 3],
    /// γ in G2.
    pub vk_gamma_2: [[String; 2]; 3],
    /// δ in G2.
    pub vk_delta_2: [[String; 2]; 3],
    /// The input commitments `IC[0..=n]`.
    #[serde(rename = "IC")]
    pub ic: Vec<[String; 3]>,
}

/// snarkjs `proof.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofJson {
    /// A.
    pub pi_a: [String; 3],
    /// B.
    pub pi_b: [[String; 2]; 3],
    /// C.
    pub pi_c: [String; 3],
    /// `groth16`.
    pub protocol: String,
    /// `bn128`.
    pub curve: String,
}

fn fq(x: &Fq) -> String {
    x.into_bigint().to_string()
}

fn g1(p: &G1Affine) -> [String; 3] {
    match p.xy() {
        Some((x, y)) => [fq(&x), fq(&y), "1".into()],
        None => ["0".into(), "1".into(), "0".into()],
    }
}

fn g2(p: &G2Affine) -> [[String; 2]; 3] {
    match p.xy() {
        Some((x, y)) => [
            [fq(&x.c0), fq(&x.c1)],
            [fq(&y.c0), fq(&y.c1)],
            ["1".into(), "0".into()],
        ],
        None => [
            ["0".into(), "0".into()],
            ["1".into(), "0".into()],
            ["0".into(), "0".into()],
        ],
    }
}

fn parse_fq(s: &str) -> Result<Fq> {
    use ark_ff::PrimeField;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Invalid(format!("'{s}' is not a decimal coordinate")));
    }
    // canonical only: arkworks' `from_str` reduces modulo q, so a coordinate c + q would be
    // accepted as c (a second encoding of the same proof); snarkjs writes reduced coordinates
    // without leading zeros
    let q = Fq::MODULUS.to_string();
    let reduced = s.len() < q.len() || (s.len() == q.len() && s < q.as_str());
    if !reduced || (s.len() > 1 && s.starts_with('0')) {
        return Err(Error::Invalid(format!(
            "coordinate '{s}' is not a canonical element of the base field (below q, no leading zeros)"
        )));
    }
    Fq::from_str(s).map_err(|_| {
        Error::Invalid(format!(
            "coordinate '{s}' is not below the base field modulus"
        ))
    })
}

fn parse_g1(p: &[String; 3], what: &str) -> Result<G1Affine> {
    if p[2] == "0" {
        return Ok(G1Affine::zero());
    }
    if p[2] != "1" {
        return Err(Error::Invalid(format!("{what}: not in affine form")));
    }
    let q = G1Affine::new_unchecked(parse_fq(&p[0])?, parse_fq(&p[1])?);
    if !q.is_on_curve() || !q.is_in_correct_subgroup_assuming_on_curve() {
        return Err(Error::Invalid(format!("{what} is not a point of G1")));
    }
    Ok(q)
}

fn parse_g2(p: &[[String; 2]; 3], what: &str) -> Result<G2Affine> {
    if p[2][0] == "0" && p[2][1] == "0" {
        return Ok(G2Affine::zero());
    }
    if p[2][0] != "1" || p[2][1] != "0" {
        return Err(Error::Invalid(format!("{what}: not in affine form")));
    }
    let x = Fq2::new(parse_fq(&p[0][0])?, parse_fq(&p[0][1])?);
    let y = Fq2::new(parse_fq(&p[1][0])?, parse_fq(&p[1][1])?);
    let q = G2Affine::new_unchecked(x, y);
    if !q.is_on_curve() || !q.is_in_correct_subgroup_assuming_on_curve() {
        return Err(Error::Invalid(format!("{what} is not a point of G2")));
    }
    Ok(q)
}

impl VkJson {
    /// From an arkworks verifying key.
    pub fn new(vk: &VerifyingKey<Bn254>) -> Self {
        Self {
            protocol: "groth16".into(),
            curve: "bn128".into(),
            n_public: vk.gamma_abc_g1.len() - 1,
            vk_alpha_1: g1(&vk.alpha_g1),
            vk_beta_2: g2(&vk.beta_g2),
            vk_gamma_2: g2(&vk.gamma_g2),
            vk_delta_2: g2(&vk.delta_g2),
            ic: vk.gamma_abc_g1.iter().map(g1).collect(),
        }
    }

    /// Back to an arkworks verifying key (points validated).
    pub fn to_ark(&self) -> Result<VerifyingKey<Bn254>> {
        if self.protocol != "groth16" || self.ic.len() != self.n_public + 1 {
            return Err(Error::Invalid("not a Groth16 verification key".into()));
        }
        Ok(VerifyingKey {
            alpha_g1: parse_g1(&self.vk_alpha_1, "vk_alpha_1")?,
            beta_g2: parse_g2(&self.vk_beta_2, "vk_beta_2")?,
            gamma_g2: parse_g2(&self.vk_gamma_2, "vk_gamma_2")?,
            delta_g2: parse_g2(&self.vk_delta_2, "vk_delta_2")?,
            gamma_abc_g1: self
                .ic
                .iter()
                .map(|p| parse_g1(p, "IC"))
                .collect::<Result<_>>()?,
        })
    }
}

impl ProofJson {
    /// From an arkworks proof.
    pub fn new(p: &Proof<Bn254>) -> Self {
        Self {
            pi_a: g1(&p.a),
            pi_b: g2(&p.b),
            pi_c: g1(&p.c),
            protocol: "groth16".into(),
            curve: "bn128".into(),
        }
    }

    /// Back to an arkworks proof (points validated).
    pub fn to_ark(&self) -> Result<Proof<Bn254>> {
        Ok(Proof {
            a: parse_g1(&self.pi_a, "pi_a")?,
            b: parse_g2(&self.pi_b, "pi_b")?,
            c: parse_g1(&self.pi_c, "pi_c")?,
        })
    }
}

/// `public.json`: decimal strings.
pub fn public_json(inputs: &[Fr]) -> Vec<String> {
    inputs.iter().map(to_dec).collect()
}

/// Parses `public.json`.
pub fn parse_public(v: &[String]) -> Result<Vec<Fr>> {
    v.iter().map(|s| from_dec(s, "public input")).collect()
}

fn word(x: &Fq) -> [u8; 32] {
    let mut b = [0u8; 32];
    b.copy_from_slice(&x.into_bigint().to_bytes_be());
    b
}

fn g1_words(p: &G1Affine) -> [[u8; 32]; 2] {
    match p.xy() {
        Some((x, y)) => [word(&x), word(&y)],
        None => [[0; 32], [0; 32]],
    }
}

/// The 32-byte words `a, b, c` of a proof in EVM order (G2 imaginary part first): 8 words.
pub fn proof_words(p: &Proof<Bn254>) -> Vec<[u8; 32]> {
    let mut w = Vec::with_capacity(8);
    w.extend(g1_words(&p.a));
    match p.b.xy() {
        Some((x, y)) => w.extend([word(&x.c1), word(&x.c0), word(&y.c1), word(&y.c0)]),
        None => w.extend([[0u8; 32]; 4]),
    }
    w.extend(g1_words(&p.c));
    w
}

/// The verifying key in EVM order, as the generated verifier's constructor takes it:
/// `vk[14] = [α.x, α.y, β.x1, β.x0, β.y1, β.y0, γ…, δ…]` and `ic[2·(n+1)]`.
pub fn vk_words(vk: &VerifyingKey<Bn254>) -> (Vec<[u8; 32]>, Vec<[u8; 32]>) {
    let mut v = Vec::with_capacity(14);
    v.extend(g1_words(&vk.alpha_g1));
    for p in [&vk.beta_g2, &vk.gamma_g2, &vk.delta_g2] {
        let (x, y) = p.xy().expect("verifying key points are finite");
        v.extend([word(&x.c1), word(&x.c0), word(&y.c1), word(&y.c0)]);
    }
    let ic = vk.gamma_abc_g1.iter().flat_map(g1_words).collect();
    (v, ic)
}

/// ABI-encoded arguments of `verifyProof(a, b, c, input)` (no selector).
pub fn calldata(p: &Proof<Bn254>, inputs: &[Fr]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 * (8 + inputs.len()));
    for w in proof_words(p) {
        out.extend(w);
    }
    for x in inputs {
        out.extend(crate::crypto::bn254::to_be32(x));
    }
    out
}

/// The calldata as `snarkjs zkey export soliditycalldata` prints it:
/// `["0x…","0x…"],[["0x…","0x…"],["0x…","0x…"]],["0x…","0x…"],["0x…",…]`.
pub fn calldata_text(p: &Proof<Bn254>, inputs: &[Fr]) -> String {
    let h = |w: &[u8; 32]| format!("\"0x{}\"", hex::encode(w));
    let w = proof_words(p);
    let xs: Vec<String> = inputs
        .iter()
        .map(|x| h(&crate::crypto::bn254::to_be32(x)))
        .collect();
    format!(
        "[{},{}],[[{},{}],[{},{}]],[{},{}],[{}]",
        h(&w[0]),
        h(&w[1]),
        h(&w[2]),
        h(&w[3]),
        h(&w[4]),
        h(&w[5]),
        h(&w[6]),
        h(&w[7]),
        xs.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::AffineRepr;
    use ark_ff::{BigInteger, PrimeField};

    /// `v + q` in decimal: the same residue as `v`, a second encoding.
    fn plus_q(v: &Fq) -> String {
        let mut b = v.into_bigint();
        assert!(!b.add_with_carry(&Fq::MODULUS));
        b.to_string()
    }

    #[test]
    fn coordinates_must_be_canonical() {
        assert_eq!(parse_fq("0").unwrap(), Fq::from(0u64));
        assert_eq!(parse_fq("7").unwrap(), Fq::from(7u64));
        let q = Fq::MODULUS.to_string();
        for bad in ["", "07", "-1", "1e3", q.as_str(), &plus_q(&Fq::from(7u64))] {
            assert!(parse_fq(bad).is_err(), "accepted '{bad}'");
        }
        // a G1 point with x + q for x: refused, although it reduces to the same point
        let g = G1Affine::generator();
        let (x, y) = g.xy().unwrap();
        let honest = [x.to_string(), y.to_string(), "1".to_string()];
        assert_eq!(parse_g1(&honest, "g").unwrap(), g);
        let forged = [plus_q(&x), y.to_string(), "1".to_string()];
        let e = parse_g1(&forged, "g").unwrap_err().to_string();
        assert!(e.contains("canonical"), "{e}");
    }
}
