//! What a hunter encrypts to the bounty host, and how the host gets the exact quantized model
//! back.
//!
//! # Plaintext layout
//!
//! The plaintext is a sequence of BN254 field elements, step by step in the architecture's order
//! (`Architecture::steps`: a step per layer, or the tiles and bands of a model committed in tiles,
//! as the bounty's setup compiles it). For step `i`, whose slot is `s_i`:
//!
//! ```text
//! r_i                      the step's model-chain blinding (0 for a public model)
//! w_i[0 .. W(s_i)]         the step's packed kernel in its slot's geometry   } only if slot s_i
//! b_i[0 .. B(s_i)]         the step's packed bias                            } is linear
//! ```
//!
//! where `(W, B) = packing::packed_lens(slot op, fixed point)` and the packed form is
//! `Architecture::packed_weights` (zero-padded to the slot for padded Dense slots). Idle slots are
//! not encrypted: they are zeros by definition. The layout depends only on the architecture, so
//! its length `L` is a constant of the claim circuit.
//!
//! From the plaintext anyone recomputes the model commitment exactly as the Nova circuit does
//! (`fold::commit::model_chain`): `m_0 = model_seed(architecture)`, `m_{i+1} = H_narrow(m_i, r_i,
//! d_i)` with nova-snark's Poseidon, where `d_i = H(w_i ‖ b_i)` for a linear step and `0`
//! otherwise — [`chain_from_plaintext`].
//!
//! # Files
//!
//! - [`CiphertextFile`] (`kerafold encrypt-weights`): the public skeleton of the model (every
//!   step without weights: the architecture is public anyway, the Nova verifier needs it), the
//!   two public keys, the nonce, the ciphertext and its hash.
//! - [`ModelOpening`] (`kerafold decrypt-weights`): the quantized model (JSON of
//!   [`QuantizedModel`], with weights) and the blindings; what the hunter proves with and what
//!   the host gets back.

use crate::crypto::babyjubjub::{Point, SecretKey};
use crate::crypto::bn254::{from_dec, to_be32, to_dec, Fr};
use crate::crypto::cipher;
use crate::crypto::poseidon;
use crate::fold::commit;
use crate::fold::{fe_from_hex, fe_hex, Architecture, Tiling};
use crate::model::QuantizedModel;
use crate::{Error, Result};
use ff::{Field, PrimeField};
use kerafold_step_circuits::native::Weights;
use kerafold_step_circuits::packing::{self, Packed};
use kerafold_step_circuits::spec::Op;
use kerafold_step_circuits::wellformed;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Domain tag of the ciphertext hash ([`ciphertext_hash`]).
pub const TAG_CIPHERTEXT: u64 = 1;
/// Domain tag of the hunter's reveal key ([`reveal_key`]).
pub const TAG_REVEAL_KEY: u64 = 3;
/// Bits of the reveal key κ: below 2^248, so its 32-byte big-endian form is canonical and it is
/// a field element without reduction.
pub const REVEAL_KEY_BITS: usize = 248;

/// The hunter's reveal key κ for a ciphertext with `nonce`: `Poseidon(TAG_REVEAL_KEY, s, nonce)`
/// (circomlib's Poseidon, `s` the hunter's secret scalar) with its top 6 bits cleared (below
/// 2^248). Derived rather than drawn so the hunter keeps no second secret: `kerafold claim`
/// and `kerafold reveal-key` recompute it from the key file and the ciphertext file. It is a
/// one-way function of `s`; revealing it (to be paid) says nothing more about `s`.
pub fn reveal_key(hunter: &SecretKey, nonce: u128) -> Fr {
    let s = from_dec(&hunter.scalar_dec(), "secret scalar").expect("a scalar below l < r");
    let h = poseidon::hash(&[Fr::from(TAG_REVEAL_KEY), s, Fr::from_u128(nonce)]);
    let mut repr = h.to_repr();
    repr.as_mut()[31] = 0; // little-endian: the top byte
    Option::from(Fr::from_repr(repr)).expect("below 2^248")
}

/// `H(κ)`, the claim's public `key_hash`: SHA-256 of κ's 32-byte big-endian form (what the
/// contract's `withdraw` checks with the sha256 precompile).
pub fn key_hash(kappa: &Fr) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(to_be32(kappa)).into()
}

/// Whether `kappa` is a reveal key at all (below 2^248).
pub fn is_reveal_key(kappa: &Fr) -> bool {
    to_be32(kappa)[0] == 0
}

/// The one key derivation of the weights' cipher: from the ECDH shared point `K` and the
/// hunter's reveal key κ, `(Poseidon(K.x, K.y, κ, 0), Poseidon(K.x, K.y, κ, 1))`. The host holds
/// `K` from the start and learns κ only from the contract's `withdraw`, when the hunter is paid;
/// anyone else never holds `K`.
pub fn session_key(shared: &Point, kappa: &Fr) -> (Fr, Fr) {
    let k = |j: u64| poseidon::hash(&[shared.x, shared.y, *kappa, Fr::from(j)]);
    (k(0), k(1))
}

/// Where one step's values sit in the plaintext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepLayout {
    /// Index of `r_i`.
    pub blind: usize,
    /// The step's slot.
    pub slot: usize,
    /// Packed kernel elements (`0` unless the slot is linear); they follow `r_i`.
    pub w_len: usize,
    /// Packed bias elements; they follow the kernel.
    pub b_len: usize,
}

/// The plaintext layout of an architecture (module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Per step.
    pub steps: Vec<StepLayout>,
    /// `(W, B)` of every slot: the zeros an idle slot contributes to the model chain.
    pub slot_lens: Vec<(usize, usize)>,
    /// Plaintext length `L`.
    pub len: usize,
}

impl Layout {
    /// The layout of `arch`.
    pub fn new(arch: &Architecture) -> Self {
        let slot_lens: Vec<(usize, usize)> = arch
            .slots
            .iter()
            .map(|s| packing::packed_lens(&s.op, &arch.fp))
            .collect();
        let mut steps = Vec::with_capacity(arch.steps.len());
        let mut at = 0;
        for d in &arch.steps {
            let (w_len, b_len) = if arch.slots[d.slot].op.has_weights() {
                slot_lens[d.slot]
            } else {
                (0, 0)
            };
            steps.push(StepLayout {
                blind: at,
                slot: d.slot,
                w_len,
                b_len,
            });
            at += 1 + w_len + b_len;
        }
        Self {
            steps,
            slot_lens,
            len: at,
        }
    }

    /// Where step `i`'s packed kernel and bias sit in the plaintext (`None` for a step without
    /// weights, whose weight digest is 0).
    pub fn weights_range(&self, i: usize) -> Option<std::ops::Range<usize>> {
        let st = &self.steps[i];
        (st.w_len + st.b_len > 0).then(|| st.blind + 1..st.blind + 1 + st.w_len + st.b_len)
    }
}

/// The plaintext of `model` with the per-step blindings `blinds` (empty for a public model).
pub fn plaintext(arch: &Architecture, model: &QuantizedModel, blinds: &[Fr]) -> Result<Vec<Fr>> {
    if !blinds.is_empty() && blinds.len() != arch.steps.len() {
        return Err(Error::Usage(format!(
            "{} blindings for {} steps",
            blinds.len(),
            arch.steps.len()
        )));
    }
    let layout = Layout::new(arch);
    let layers = arch.layers();
    let mut out = Vec::with_capacity(layout.len);
    for (i, st) in layout.steps.iter().enumerate() {
        out.push(blinds.get(i).copied().unwrap_or(Fr::ZERO));
        if st.w_len + st.b_len > 0 {
            let p: &Packed<Fr> = &arch.packed_weights::<Fr>(i, layers[i], model)[st.slot];
            out.extend(&p.w);
            out.extend(&p.b);
        }
    }
    debug_assert_eq!(out.len(), layout.len);
    Ok(out)
}

/// The model commitment recomputed from a plaintext (module docs), with nova-snark's Poseidon.
pub fn chain_from_plaintext(arch: &Architecture, plaintext: &[Fr]) -> Result<Fr> {
    let layout = Layout::new(arch);
    if plaintext.len() != layout.len {
        return Err(Error::Invalid(format!(
            "the plaintext has {} elements, the architecture's layout {}",
            plaintext.len(),
            layout.len
        )));
    }
    let digests: Vec<Fr> = (0..layout.steps.len())
        .map(|i| {
            layout.weights_range(i).map_or(Fr::ZERO, |r| {
                kerafold_step_circuits::poseidon::hash(&plaintext[r])
            })
        })
        .collect();
    let blinds: Vec<Fr> = layout.steps.iter().map(|st| plaintext[st.blind]).collect();
    Ok(commit::model_chain(arch, &digests, &blinds))
}

/// Every step's packed weights (its active slot's geometry; empty for a step without weights)
/// and blinding, read from a plaintext of `arch`'s layout: what the accuracy circuit's
/// `SampleWitness` holds.
pub fn packed_steps(arch: &Architecture, plaintext: &[Fr]) -> Result<(Vec<Packed<Fr>>, Vec<Fr>)> {
    let layout = Layout::new(arch);
    if plaintext.len() != layout.len {
        return Err(Error::Invalid(format!(
            "the plaintext has {} elements, the architecture's layout {}",
            plaintext.len(),
            layout.len
        )));
    }
    let packed = layout
        .steps
        .iter()
        .map(|st| {
            let w = st.blind + 1;
            Packed {
                w: plaintext[w..w + st.w_len].to_vec(),
                b: plaintext[w + st.w_len..w + st.w_len + st.b_len].to_vec(),
            }
        })
        .collect();
    let blinds = layout.steps.iter().map(|st| plaintext[st.blind]).collect();
    Ok((packed, blinds))
}

/// The model without its weights: what the ciphertext file publishes.
pub fn skeleton(model: &QuantizedModel) -> QuantizedModel {
    let mut s = model.clone();
    for st in &mut s.steps {
        st.weights = Weights::default();
    }
    s
}

/// Step `i`'s weights in its slot's geometry, unpacked from the plaintext and checked: a packing
/// of in-range lanes that meets the guard bound ([`wellformed::check`], what the claim circuit
/// proves). `None` for a step without weights.
fn slot_weights(
    arch: &Architecture,
    layout: &Layout,
    plaintext: &[Fr],
    i: usize,
) -> Result<Option<Weights>> {
    let st = &layout.steps[i];
    if st.w_len + st.b_len == 0 {
        return Ok(None);
    }
    let name = &arch.steps[i].name;
    let slot_op = &arch.slots[st.slot].op;
    let w = &plaintext[st.blind + 1..st.blind + 1 + st.w_len];
    let b = &plaintext[st.blind + 1 + st.w_len..st.blind + 1 + st.w_len + st.b_len];
    let big = packing::unpack(slot_op, w, b, &arch.fp).ok_or_else(|| {
        Error::Invalid(format!(
            "step {i} ('{name}'): the plaintext is not a packing of in-range weights"
        ))
    })?;
    wellformed::check(slot_op, &big, &arch.fp).map_err(|e| {
        Error::Invalid(format!(
            "step {i} ('{name}'): the weights are not those of an integer model: {e}"
        ))
    })?;
    Ok(Some(big))
}

/// Checks that a plaintext of `arch`'s layout holds well-formed weights at every step (the
/// claim circuit's requirement, checked natively so a bad claim fails with a readable message).
pub fn check_plaintext(arch: &Architecture, plaintext: &[Fr]) -> Result<()> {
    let layout = Layout::new(arch);
    if plaintext.len() != layout.len {
        return Err(Error::Invalid(format!(
            "the plaintext has {} elements, the architecture's layout {}",
            plaintext.len(),
            layout.len
        )));
    }
    for i in 0..layout.steps.len() {
        slot_weights(arch, &layout, plaintext, i)?;
    }
    Ok(())
}

/// Rebuilds the model and the blindings from `skeleton` and a decrypted plaintext of `arch`'s
/// layout (the skeleton's steps as committed: a step per layer, or its tiles and bands). Fails if
/// the plaintext is not a packing of in-range, well-formed weights, or is not the plaintext of
/// the model it rebuilds: weights in a padded slot's padding, a bias on a tile after its output
/// block's first, two bands of one layer with different weights. No integer model of the
/// architecture has such a plaintext.
pub fn model_from_plaintext(
    skeleton: &QuantizedModel,
    arch: &Architecture,
    plaintext: &[Fr],
) -> Result<(QuantizedModel, Vec<Fr>)> {
    let layout = Layout::new(arch);
    check_plaintext(arch, plaintext)?;
    let layers = arch.layers();
    let mut model = skeleton.clone();
    let mut blinds = Vec::with_capacity(layout.steps.len());
    for (i, st) in layout.steps.iter().enumerate() {
        blinds.push(plaintext[st.blind]);
        let Some(big) = slot_weights(arch, &layout, plaintext, i)? else {
            continue;
        };
        let layer = &mut model.steps[layers[i]];
        match (arch.steps[i].tile, layer.op) {
            // a tile: its rows × its outputs of the layer's kernel, the bias on the block's first
            (Some(t), Op::Dense(d)) => {
                let Op::Dense(slot) = arch.slots[st.slot].op else {
                    unreachable!("a tile's slot is a Dense slot")
                };
                let n_out = arch.steps[i].n_out;
                if layer.weights.w.len() != d.n_in * d.n_out {
                    layer.weights = Weights {
                        w: vec![0; d.n_in * d.n_out],
                        b: vec![0; d.n_out],
                    };
                }
                for r in 0..t.rows {
                    let at = (t.row0 + r) * d.n_out + t.col0;
                    layer.weights.w[at..at + n_out]
                        .copy_from_slice(&big.w[r * slot.n_out..r * slot.n_out + n_out]);
                }
                if t.first {
                    layer.weights.b[t.col0..t.col0 + n_out].copy_from_slice(&big.b[..n_out]);
                }
            }
            // a whole layer (or one band of it) in a slot as large or larger
            (_, op) => {
                layer.weights = match (&arch.slots[st.slot].op, op) {
                    (Op::Dense(bd), Op::Dense(sd)) if *bd != sd => {
                        let mut w = Vec::with_capacity(sd.n_in * sd.n_out);
                        for r in 0..sd.n_in {
                            w.extend_from_slice(&big.w[r * bd.n_out..r * bd.n_out + sd.n_out]);
                        }
                        Weights {
                            w,
                            b: big.b[..sd.n_out].to_vec(),
                        }
                    }
                    _ => big,
                };
            }
        }
    }
    // the rebuilt model's plaintext must be this one, step by step
    let again = self::plaintext(arch, &model, &blinds)?;
    for (i, st) in layout.steps.iter().enumerate() {
        if let Some(r) = layout.weights_range(i) {
            if again[r.clone()] != plaintext[r] {
                return Err(Error::Invalid(format!(
                    "step {i} ('{}'): the plaintext is not an integer model's: it has nonzero \
                     weights in its slot's padding, a bias on a tile after its block's first, \
                     or other weights than another band of its layer",
                    arch.steps[i].name
                )));
            }
        }
        debug_assert_eq!(again[st.blind], plaintext[st.blind]);
    }
    Ok((model, blinds))
}

/// The hash that binds a ciphertext (a public input of the claim):
/// `poseidon::chain_hash(TAG_CIPHERTEXT, [nonce, c_0, …, c_last])` (circomlib Poseidon).
pub fn ciphertext_hash(nonce: u128, ciphertext: &[Fr]) -> Fr {
    let mut xs = vec![Fr::from_u128(nonce)];
    xs.extend_from_slice(ciphertext);
    poseidon::chain_hash(TAG_CIPHERTEXT, &xs)
}

/// A model with the blindings of its (private) model commitment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opening {
    /// The quantized model.
    pub model: QuantizedModel,
    /// Per-step blindings `r_i` (all zero, or empty, for a public model).
    pub blinds: Vec<Fr>,
    /// The tiles the model is committed in (`None`: a step per layer). The commitment chains
    /// one digest per step, so a model proven in tiles (`--fold-by layer --step-size N`) has
    /// another commitment, with a blinding per tile.
    pub tiling: Option<Tiling>,
}

impl Opening {
    /// The model's steps as committed: a step per layer, or its tiles.
    pub fn architecture(&self) -> Result<Architecture> {
        Architecture::compile_tiled(&self.model, self.tiling)
    }

    /// The model commitment.
    pub fn commitment(&self) -> Result<Fr> {
        Ok(commit::model_commitment(
            &self.architecture()?,
            &self.model,
            &self.blinds,
        ))
    }

    /// Fresh random blindings for every step of `model` (a private model), a step per layer.
    pub fn private(model: QuantizedModel) -> Result<Self> {
        Self::private_tiled(model, None)
    }

    /// Fresh random blindings for every step of `model` cut as `tiling` says.
    pub fn private_tiled(model: QuantizedModel, tiling: Option<Tiling>) -> Result<Self> {
        let n = Architecture::compile_tiled(&model, tiling)?.steps.len();
        let blinds = (0..n).map(|_| Fr::random(OsRng)).collect();
        Ok(Self {
            model,
            blinds,
            tiling,
        })
    }
}

/// Format tag of [`ModelOpening`] files.
pub const OPENING_FORMAT: &str = "kerafold-model-opening";

/// A model opening file: what `kerafold decrypt-weights` writes (JSON).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelOpening {
    /// [`OPENING_FORMAT`].
    pub format: String,
    /// 1.
    pub version: u32,
    /// The quantized model, with weights (JSON of [`QuantizedModel`]).
    pub model: QuantizedModel,
    /// Blindings `r_i` (hex, as `fold::fe_hex`).
    pub blinds: Vec<String>,
    /// The model commitment (hex, as in proof files' claims).
    pub commitment: String,
    /// The tiles the model is committed in; absent: a step per layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiling: Option<Tiling>,
}

impl ModelOpening {
    /// The file of `o`.
    pub fn new(o: &Opening) -> Result<Self> {
        Ok(Self {
            format: OPENING_FORMAT.into(),
            version: 1,
            model: o.model.clone(),
            blinds: o.blinds.iter().map(fe_hex).collect(),
            commitment: fe_hex(&o.commitment()?),
            tiling: o.tiling,
        })
    }

    /// Reads and checks a model opening file (the commitment must match).
    pub fn read(path: &Path) -> Result<Opening> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let f: ModelOpening = serde_json::from_slice(&bytes)
            .map_err(|e| Error::format(path, format!("not a model opening: {e}")))?;
        if f.format != OPENING_FORMAT {
            return Err(Error::format(
                path,
                format!("format is '{}', not '{OPENING_FORMAT}'", f.format),
            ));
        }
        let o = Opening {
            model: f.model,
            blinds: f
                .blinds
                .iter()
                .map(|b| fe_from_hex(b, "blinding"))
                .collect::<Result<_>>()?,
            tiling: f.tiling,
        };
        // one compile serves the count check and the commitment
        let arch = o.architecture()?;
        let steps = arch.steps.len();
        if !o.blinds.is_empty() && o.blinds.len() != steps {
            return Err(Error::format(
                path,
                format!(
                    "{} blindings for a model of {steps} steps as committed",
                    o.blinds.len()
                ),
            ));
        }
        if fe_hex(&commit::model_commitment(&arch, &o.model, &o.blinds)) != f.commitment {
            return Err(Error::format(
                path,
                "the commitment does not match the model and blindings",
            ));
        }
        Ok(o)
    }

    /// Writes the file.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("opening serializes");
        std::fs::write(path, json).map_err(|e| Error::io(path, e))
    }
}

/// Format tag of ciphertext files.
pub const CIPHERTEXT_FORMAT: &str = "kerafold-ciphertext";
/// Version of ciphertext files: 2 since the cipher key derives from a reveal key (version 1
/// files, under the ECDH point alone, are refused: their host could decrypt without paying).
pub const CIPHERTEXT_VERSION: u32 = 2;

/// An encrypted model (JSON): everything public about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CiphertextFile {
    /// [`CIPHERTEXT_FORMAT`].
    pub format: String,
    /// [`CIPHERTEXT_VERSION`].
    pub version: u32,
    /// The model without weights (architecture, shapes, fixed point).
    pub skeleton: QuantizedModel,
    /// SHA-256 of the architecture (hex), as in proof files.
    pub architecture: String,
    /// The model commitment (hex, as in proof files' claims).
    pub model_commitment: String,
    /// The host's public key (decimal coordinates).
    pub host_public_key: [String; 2],
    /// The hunter's public key.
    pub hunter_public_key: [String; 2],
    /// The cipher nonce (decimal, `< 2^128`).
    pub nonce: String,
    /// Plaintext length `L`.
    pub length: usize,
    /// The ciphertext (decimal), `3·⌈L/3⌉ + 1` elements.
    pub ciphertext: Vec<String>,
    /// [`ciphertext_hash`] (decimal): the claim's public input.
    pub ciphertext_hash: String,
    /// [`key_hash`] of the hunter's reveal key (hex): the claim's public input, and what the
    /// contract checks the revealed key against.
    #[serde(default)]
    pub key_hash: String,
    /// The tiles the model is committed in (as the model opening it was encrypted from); absent:
    /// a step per layer. The plaintext has a blinding and the packed weights of every step as
    /// committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiling: Option<Tiling>,
}

/// A parsed, consistent ciphertext file.
#[derive(Clone, Debug)]
pub struct Encrypted {
    /// The file as read.
    pub file: CiphertextFile,
    /// The architecture of the skeleton.
    pub arch: Architecture,
    /// Host public key.
    pub host: Point,
    /// Hunter public key.
    pub hunter: Point,
    /// Nonce.
    pub nonce: u128,
    /// Ciphertext elements.
    pub ciphertext: Vec<Fr>,
    /// Their hash.
    pub hash: Fr,
    /// The hash of the reveal key the cipher key derives from.
    pub key_hash: [u8; 32],
    /// The model commitment.
    pub commitment: Fr,
}

impl CiphertextFile {
    /// Reads a ciphertext file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let f: CiphertextFile = serde_json::from_slice(&bytes)
            .map_err(|e| Error::format(path, format!("not a ciphertext file: {e}")))?;
        if f.format != CIPHERTEXT_FORMAT {
            return Err(Error::format(
                path,
                format!("format is '{}', not '{CIPHERTEXT_FORMAT}'", f.format),
            ));
        }
        Ok(f)
    }

    /// Writes the file.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("ciphertext serializes");
        std::fs::write(path, json).map_err(|e| Error::io(path, e))
    }

    /// Parses every field and checks that the file is consistent: the skeleton has no weights
    /// and the stated architecture, the lengths fit it, the hash is the ciphertext's.
    pub fn parse(&self) -> Result<Encrypted> {
        if self.version != CIPHERTEXT_VERSION {
            return Err(Error::Invalid(format!(
                "a version-{} ciphertext file (this kerafold makes and reads version {CIPHERTEXT_VERSION}: its key derives from a reveal key, so the host decrypts only once the hunter is paid); encrypt the weights again",
                self.version
            )));
        }
        if self
            .skeleton
            .steps
            .iter()
            .any(|s| s.weights != Weights::default())
        {
            return Err(Error::Invalid("the skeleton carries weights".into()));
        }
        let arch = Architecture::compile_tiled(&self.skeleton, self.tiling)?;
        if hex::encode(arch.digest()) != self.architecture {
            return Err(Error::Invalid(
                "the skeleton's architecture digest differs from the file's".into(),
            ));
        }
        let layout = Layout::new(&arch);
        if self.length != layout.len || self.ciphertext.len() != cipher::ciphertext_len(layout.len)
        {
            return Err(Error::Invalid(format!(
                "the architecture's plaintext has {} elements (ciphertext {}); the file says {} ({})",
                layout.len,
                cipher::ciphertext_len(layout.len),
                self.length,
                self.ciphertext.len()
            )));
        }
        let nonce: u128 = self
            .nonce
            .parse()
            .map_err(|_| Error::Invalid("the nonce is not an integer below 2^128".into()))?;
        let ciphertext = self
            .ciphertext
            .iter()
            .map(|c| from_dec(c, "ciphertext element"))
            .collect::<Result<Vec<Fr>>>()?;
        let hash = ciphertext_hash(nonce, &ciphertext);
        if to_dec(&hash) != self.ciphertext_hash {
            return Err(Error::Invalid(
                "the ciphertext hash does not match the ciphertext".into(),
            ));
        }
        let key_hash: [u8; 32] = hex::decode(&self.key_hash)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::Invalid("the key hash is not 32 bytes of hex".into()))?;
        Ok(Encrypted {
            file: self.clone(),
            key_hash,
            host: Point::from_dec(&self.host_public_key, "host public key")?,
            hunter: Point::from_dec(&self.hunter_public_key, "hunter public key")?,
            nonce,
            ciphertext,
            hash,
            commitment: fe_from_hex(&self.model_commitment, "model commitment")?,
            arch,
        })
    }
}

/// Encrypts `opening` to the host under [`session_key`] (the ECDH point with the host and the
/// hunter's [`reveal_key`]): the hunter's side of `kerafold encrypt-weights`. Returns the file
/// and the plaintext (the claim's witness).
pub fn encrypt(
    opening: &Opening,
    host: &Point,
    hunter: &SecretKey,
) -> Result<(CiphertextFile, Vec<Fr>)> {
    let arch = opening.architecture()?;
    let pt = plaintext(&arch, &opening.model, &opening.blinds)?;
    let shared = hunter.ecdh(host);
    let mut nb = [0u8; 16];
    OsRng.fill_bytes(&mut nb);
    let nonce = u128::from_le_bytes(nb);
    let kappa = reveal_key(hunter, nonce);
    let ct = cipher::encrypt(&pt, session_key(&shared, &kappa), nonce);
    let file = CiphertextFile {
        format: CIPHERTEXT_FORMAT.into(),
        version: CIPHERTEXT_VERSION,
        skeleton: skeleton(&opening.model),
        architecture: hex::encode(arch.digest()),
        model_commitment: fe_hex(&chain_from_plaintext(&arch, &pt)?),
        host_public_key: host.to_dec(),
        hunter_public_key: hunter.public().to_dec(),
        nonce: nonce.to_string(),
        length: pt.len(),
        ciphertext: ct.iter().map(to_dec).collect(),
        ciphertext_hash: to_dec(&ciphertext_hash(nonce, &ct)),
        key_hash: hex::encode(key_hash(&kappa)),
        tiling: opening.tiling,
    };
    Ok((file, pt))
}

/// Decrypts a ciphertext file with the host's key and the reveal key κ the hunter published when
/// it was paid (the contract's `KeyRevealed` event): the host's side of `kerafold
/// decrypt-weights`. Checks that the file is addressed to `host`, that κ is the one its key hash
/// names, that it authenticates, and that the recovered model has the stated commitment.
pub fn decrypt(file: &CiphertextFile, host: &SecretKey, kappa: &Fr) -> Result<Opening> {
    let e = file.parse()?;
    if e.host != host.public() {
        return Err(Error::Invalid(
            "the ciphertext is addressed to another host key".into(),
        ));
    }
    if !is_reveal_key(kappa) || key_hash(kappa) != e.key_hash {
        return Err(Error::Invalid(
            "the reveal key is not the one the ciphertext's key hash names (take it from the contract's KeyRevealed event)".into(),
        ));
    }
    let shared = host.ecdh(&e.hunter);
    let pt = cipher::decrypt(
        &e.ciphertext,
        session_key(&shared, kappa),
        e.nonce,
        file.length,
    )?;
    open(file, &e, &pt)
}

/// The model opening of a decrypted `plaintext` of `file` (parsed as `e`): the plaintext must be
/// an integer model's with the file's model commitment. Shared by [`decrypt`] and a decryption
/// done elsewhere (the web app decrypts in the browser, where the host's key stays).
pub fn open(file: &CiphertextFile, e: &Encrypted, plaintext: &[Fr]) -> Result<Opening> {
    if plaintext.len() != file.length {
        return Err(Error::Invalid(format!(
            "a plaintext of {} elements for a ciphertext of {}",
            plaintext.len(),
            file.length
        )));
    }
    if chain_from_plaintext(&e.arch, plaintext)? != e.commitment {
        return Err(Error::Invalid(
            "the decrypted weights do not have the stated model commitment".into(),
        ));
    }
    let (model, blinds) = model_from_plaintext(&file.skeleton, &e.arch, plaintext)?;
    let o = Opening {
        model,
        blinds,
        tiling: file.tiling,
    };
    if o.commitment()? != e.commitment {
        return Err(Error::Invalid(
            "the rebuilt model does not have the stated model commitment".into(),
        ));
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::QStep;
    use kerafold_step_circuits::spec::{Act, DenseSpec, FixedPoint};

    fn dense(name: &str, n_in: usize, n_out: usize, act: Act) -> QStep {
        QStep {
            name: name.into(),
            views: vec![],
            op: Op::Dense(DenseSpec { n_in, n_out }),
            act,
            save_input: false,
            save_depth: 0,
            weights: Weights {
                w: (0..n_in * n_out).map(|k| (k % 3) as i64 - 1).collect(),
                b: (0..n_out).map(|k| (k % 5) as i64 - 2).collect(),
            },
            output_shape: vec![n_out],
        }
    }

    /// A 200→130→3 MLP: in tiles of one commitment block (124 values at 8 bits) its first layer
    /// is 2 row blocks × 2 output blocks, its second 2 row blocks; the last row blocks are
    /// partial ones (padding rows in the tile slot).
    fn mlp() -> QuantizedModel {
        QuantizedModel {
            name: "m".into(),
            fp: FixedPoint {
                fa: 4,
                fw: 4,
                bits: 8,
                guard: 4,
            },
            input_shape: vec![200],
            output_shape: vec![3],
            softmax: false,
            log_softmax: false,
            sigmoid: false,
            steps: vec![
                dense("d0", 200, 130, Act::Relu),
                dense("d1", 130, 3, Act::Linear),
                QStep {
                    name: "argmax".into(),
                    views: vec![],
                    op: Op::ArgMax { n: 3 },
                    act: Act::Linear,
                    save_input: false,
                    save_depth: 0,
                    weights: Weights::default(),
                    output_shape: vec![3],
                },
            ],
        }
    }

    /// Replaces step `i`'s packed weights in `pt` by `f` of its unpacked slot weights.
    fn retamper(arch: &Architecture, pt: &[Fr], i: usize, f: impl Fn(&mut Weights)) -> Vec<Fr> {
        let layout = Layout::new(arch);
        let st = &layout.steps[i];
        let op = &arch.slots[st.slot].op;
        let r = layout.weights_range(i).unwrap();
        let (w, b) = pt[r.clone()].split_at(st.w_len);
        let mut big = packing::unpack(op, w, b, &arch.fp).unwrap();
        f(&mut big);
        let p: Packed<Fr> = packing::pack(op, &big, &arch.fp);
        let mut out = pt.to_vec();
        out[r].copy_from_slice(&[p.w, p.b].concat());
        out
    }

    #[test]
    fn a_model_committed_in_tiles_comes_back_from_its_plaintext() {
        let model = mlp();
        let tiling = Tiling::square(1, &model.fp).unwrap();
        let opening = Opening::private_tiled(model.clone(), Some(tiling)).unwrap();
        let arch = opening.architecture().unwrap();
        let tiles: Vec<usize> = (0..arch.steps.len())
            .filter(|&i| arch.steps[i].tile.is_some())
            .collect();
        assert_eq!(tiles.len(), 6);
        let pt = plaintext(&arch, &opening.model, &opening.blinds).unwrap();
        assert_eq!(
            chain_from_plaintext(&arch, &pt).unwrap(),
            opening.commitment().unwrap()
        );
        let (back, blinds) = model_from_plaintext(&skeleton(&model), &arch, &pt).unwrap();
        assert_eq!(back, model);
        assert_eq!(blinds, opening.blinds);

        let refused = |bad: Vec<Fr>, i: usize| {
            let e = model_from_plaintext(&skeleton(&model), &arch, &bad)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&format!("step {i} ")) && e.contains("not an integer model's"),
                "{e}"
            );
        };
        // a bias on a tile after its output block's first (the circuit adds it only there)
        let later = tiles
            .iter()
            .copied()
            .find(|&i| !arch.steps[i].tile.unwrap().first)
            .unwrap();
        refused(retamper(&arch, &pt, later, |w| w.b[0] = 1), later);
        // a weight in the padding rows of a partial row block's tile
        let partial = tiles
            .iter()
            .copied()
            .find(|&i| arch.steps[i].tile.unwrap().rows < tiling.rows)
            .unwrap();
        let n_out = match arch.slots[arch.steps[partial].slot].op {
            Op::Dense(d) => d.n_out,
            _ => unreachable!(),
        };
        refused(
            retamper(&arch, &pt, partial, |w| {
                let last = w.w.len() - n_out;
                w.w[last] = 1;
            }),
            partial,
        );
    }
}
