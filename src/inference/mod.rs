//! Proofs of one inference (docs/DESIGN.md §4.2): the layer-by-layer statement, its claim,
//! prover and verifier.
//!
//! ```no_run
//! # fn main() -> kerafold::Result<()> {
//! use kerafold::inference::{self, ProveOptions, VerifyOptions};
//! let graph = kerafold::model::load("model.keras".as_ref())?;
//! let program = kerafold::model::lower(&graph)?;
//! let sample = vec![0.5f32; graph.input_len()];
//! let (model, _) = kerafold::model::calibrate(&program, &[sample.clone()])?;
//! let input = model.quantize_input(&sample, None)?;
//! let (proof, _stats) = inference::prove(&model, &input, &ProveOptions::default(), &mut |_| {})?;
//! let verified = inference::verify(&proof, &VerifyOptions::default())?;
//! println!("class {}", verified.claim.class);
//! # Ok(()) }
//! ```

pub mod circuit;

use crate::fold::backend::{Backend, Bn254Ipa, Bn254Kzg, PastaIpa, Scalar};
use crate::fold::commit::{self, arch_chain, nothing_saved, tensor_commitment};
use crate::fold::packed::{self, Packed};
use crate::fold::pipeline;
use crate::fold::statement::{self, Statement, VerifyContext};
use crate::fold::{
    default_params_dir, fe_from_hex, fe_hex, proof, Architecture, ModelClaim, ParamsStore,
    Progress, ProveStats, Srs, StepSize, System, Tiling, Visibility,
};
use crate::model::{QuantizedModel, Trace};
use crate::{Error, Result};
use circuit::{LayerStep, StepWitness};
use ff::Field as _;
use kerafold_step_circuits::saved::{self, SavedStack};
use kerafold_step_circuits::spec::FixedPoint;
use kerafold_step_circuits::{Act, Field, Op};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How to prove.
#[derive(Clone, Debug)]
pub struct ProveOptions {
    /// Proof system (curve cycle and commitment scheme).
    pub system: System,
    /// Where the commitment key comes from (powers of tau for `bn254-kzg`).
    pub srs: Srs,
    /// Whether the input is revealed in the claim or committed.
    pub input: Visibility,
    /// Whether the weights are public or committed.
    pub model: Visibility,
    /// Whether the logits are revealed in the claim or committed.
    pub output: Visibility,
    /// Parameter cache directory.
    pub params_dir: PathBuf,
    /// Cut Dense layers into tiles of this geometry (`None`: a step per layer).
    pub tiling: Option<Tiling>,
    /// Steps (layers or tiles) proven in one fold (docs/DESIGN.md §7.2); `None`: chosen from
    /// the step circuit's size ([`default_steps_per_fold`]).
    pub steps_per_fold: Option<usize>,
}

impl Default for ProveOptions {
    fn default() -> Self {
        Self {
            system: System::Bn254Ipa,
            srs: Srs::Transparent,
            input: Visibility::Public,
            model: Visibility::Public,
            output: Visibility::Public,
            params_dir: default_params_dir(),
            tiling: None,
            steps_per_fold: None,
        }
    }
}

/// A committed or revealed tensor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "visibility", rename_all = "lowercase")]
pub enum Opening {
    /// The integer values (fixed point at scale `2^fa`).
    Public {
        /// The values, in the tensor's flat order.
        values: Vec<i64>,
    },
    /// A blinded commitment (hex of the field element).
    Private {
        /// Hex of the commitment field element.
        commitment: String,
    },
}

/// What a proof states.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The prover's label for the model (its Keras name): not bound by the proof.
    pub model_name: String,
    /// Number of folded steps.
    pub steps: usize,
    /// Fixed-point parameters of the quantized model.
    pub fixed_point: FixedPoint,
    /// The quantized input, revealed or committed.
    pub input: Opening,
    /// Visibility and commitment of the model.
    pub model: ModelClaim,
    /// The logits.
    pub output: Opening,
    /// ArgMax of the logits.
    pub class: usize,
    /// How Dense layers were tiled (absent: a step per layer); the verifier compiles the model
    /// file's architecture with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiling: Option<Tiling>,
    /// Steps proven in one fold (absent: one); the verifier derives the packed circuit's key.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub steps_per_fold: usize,
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

/// The inference statement's kind tag in proof files.
pub const INFERENCE: &str = "inference";

/// An inference proof file.
pub type ProofFile = proof::ProofFile<Claim>;
/// An inference proof file (the name [`ProofFile`] has for it elsewhere).
pub type InferenceProof = ProofFile;

impl proof::ProofFile<Claim> {
    /// Reads an inference proof file.
    pub fn read(path: &Path) -> Result<Self> {
        Self::read_kind(path, INFERENCE)
    }
}

/// The statement of one inference: the layer-by-layer circuit from the input's commitment to the
/// output's, with the architecture and model chains and the class in the state
/// (docs/DESIGN.md §4.2).
pub struct Inference;

impl Statement for Inference {
    const KIND: &'static str = INFERENCE;
    const SYSTEMS: &'static [System] = &[System::Bn254Ipa, System::Bn254Kzg, System::PastaIpa];
    const STATE: &'static [&'static str] = &[
        "step count",
        "output commitment",
        "residual state",
        "architecture chain",
        "model commitment",
        "class",
        "tile input re-hash",
        "tile partial sums",
        "tile output chain",
    ];
    type Claim = Claim;
    type Circuit<F: Field> = Packed<LayerStep<F>>;

    fn model(claim: &Claim) -> &ModelClaim {
        &claim.model
    }

    fn tiling(claim: &Claim) -> Option<Tiling> {
        claim.tiling
    }

    fn derive<F: Field>(
        arch: &Arc<Architecture>,
        claim: &Claim,
    ) -> Result<statement::Derived<F, Packed<LayerStep<F>>>> {
        if claim.fixed_point != arch.fp {
            return Err(Error::Invalid(
                "claimed fixed-point parameters differ from the architecture's".into(),
            ));
        }
        if claim.steps != arch.steps.len() {
            return Err(Error::Invalid(format!(
                "claim has {} steps, the architecture {}",
                claim.steps,
                arch.steps.len()
            )));
        }
        check_steps_per_fold(claim.steps_per_fold, claim.steps).map_err(|e| match e {
            Error::Usage(m) => Error::Invalid(format!("the claim: {m}")),
            e => e,
        })?;
        let (z0, zn) = public_io::<F>(arch, claim)?;
        let inner =
            LayerStep::shape_for(arch.clone(), claim.model.visibility == Visibility::Private);
        let circuit = Packed::shape(claim.steps_per_fold, inner.clone());
        Ok(statement::Derived {
            digest: circuit.digest(inner.digest()),
            circuit,
            folds: packed::folds(claim.steps, claim.steps_per_fold),
            z0,
            zn,
        })
    }
}

/// Blinding values of one proof.
struct Blinding<F> {
    input: F,
    output: F,
    /// Per step (empty for a public model).
    model: Vec<F>,
}

fn random_or_zero<F: Field>(v: Visibility) -> F {
    match v {
        Visibility::Public => F::ZERO,
        Visibility::Private => F::random(OsRng),
    }
}

/// What a tile continues from: the re-hash of its layer's input before its rows, the block's
/// packed partial sums before them, and the layer's output chain before its block.
#[derive(Clone, Debug)]
struct Carry<F> {
    r_in: F,
    acc_in: Vec<F>,
    r_out: F,
}

/// The packed form of per-output partial sums, `lanes` to a field element (the tile's layout).
fn pack_sums<F: Field>(sums: &[i128], fp: &FixedPoint, len: usize) -> Vec<F> {
    let mut out: Vec<F> = sums
        .chunks(kerafold_step_circuits::packing::lanes(fp))
        .map(|group| kerafold_step_circuits::field::pack_lanes(group, fp.lane_bits()))
        .collect();
    out.resize(len, F::ZERO);
    out
}

/// What a row band continues from: the input stream's chain before its new blocks, the output
/// chain before its outputs, the tail, outputs and recurrent state carried in, and its new
/// blocks.
#[derive(Clone, Debug)]
struct BandCarry<F> {
    r_in: F,
    r_out: F,
    tail: Vec<i64>,
    carried: Vec<i64>,
    state: Vec<i64>,
    fresh: Vec<i64>,
}

/// Every band's [`BandCarry`], walked forward through each banded layer's streams (`None` for
/// other steps, and for an architecture that is not this model's: its bands then fail their
/// constraints instead of panicking here).
fn band_carries<F: Field>(
    arch: &Architecture,
    model: &QuantizedModel,
    trace: &Trace,
    layers: &[usize],
    blind: &Blinding<F>,
) -> Vec<Option<BandCarry<F>>> {
    let mut out = vec![None; arch.steps.len()];
    let (Ok(plans), Some(io)) = (arch.band_plans(), arch.band_io()) else {
        return out;
    };
    let bits = arch.fp.bits;
    // per layer: the band, and the output rows written before it
    let (mut r, mut o, mut j, mut done) = (F::ZERO, F::ZERO, 0usize, 0usize);
    let (mut tail, mut carried, mut state) = (vec![], vec![], vec![]);
    for (i, desc) in arch.steps.iter().enumerate() {
        let (Some(b), Some(Some(plan))) = (desc.band, plans.get(desc.slot)) else {
            continue;
        };
        let st = &trace.steps[layers[i]];
        if b.first {
            r = if layers[i] == 0 { blind.input } else { F::ZERO };
            o = F::ZERO;
            (j, done) = (0, 0);
            tail = vec![0; io.tail];
            carried = vec![0; io.block - 1];
            state = vec![0; io.state];
        }
        let out_row = plan.out_row();
        let rows = done * out_row..(done + b.out_rows) * out_row;
        if plan.bands.get(j) != Some(&b) || st.y.get(rows.clone()).is_none() {
            return out;
        }
        let win = plan.window_values(j, &st.input);
        out[i] = Some(BandCarry {
            r_in: r,
            r_out: o,
            tail: tail.clone(),
            carried: carried.clone(),
            state: state.clone(),
            fresh: win[plan.tail..].to_vec(),
        });
        // a timestep of a recurrent layer hands its cell's next state to the next band
        if let (Op::Recurrent(rs), Act::Cell { gate, act }) =
            (&plan.op, &model.steps[layers[i]].act)
        {
            let n = rs.cell.state_len();
            let Ok(next) = kerafold_step_circuits::native::cell_step(
                &rs.cell,
                gate,
                act,
                &plan.input_values(j, &st.input),
                &state[..n],
                &model.steps[layers[i]].weights,
                &arch.fp,
            ) else {
                return out;
            };
            state[..n].copy_from_slice(&next);
        }
        (r, tail) = plan.read_native(j, &st.input, r, bits);
        (o, carried) = plan.write_native(j, &carried, &st.y[rows], o, bits);
        j += 1;
        done += b.out_rows;
    }
    out
}

/// Everything the witnesses of one proof share, computed once: each step's model layer and each
/// tile's [`Carry`], walked forward through the tiles (each prefix absorbed once), and each
/// band's [`BandCarry`].
struct Witnesses<'a, F> {
    arch: &'a Architecture,
    model: &'a QuantizedModel,
    trace: &'a Trace,
    blind: &'a Blinding<F>,
    layers: Vec<usize>,
    carries: Vec<Option<Carry<F>>>,
    bands: Vec<Option<BandCarry<F>>>,
    /// Per merge (or swap) step, the saved tensor it pops: its blinding and the stack below it.
    pops: Vec<Option<Pop<F>>>,
    /// Per step, the saved tensors' commitments after its pop, bottom first: what an insert
    /// under the top opens (empty unless the architecture saves below the top).
    stacks: Vec<Vec<F>>,
}

/// What a merge pops off the saved-tensor stack.
#[derive(Clone, Copy)]
struct Pop<F> {
    /// Blinding of the popped tensor's commitment (the input's, if step 0 saved it).
    r_skip: F,
    /// The stack below it.
    rest: F,
}

/// Walks the saved-tensor stack through the steps: what each merge or swap pops, and (if the
/// architecture saves below the top) the stack each step saves into.
fn stack_pops<F: Field>(
    arch: &Architecture,
    trace: &Trace,
    layers: &[usize],
    blind: &Blinding<F>,
) -> (Vec<Option<Pop<F>>>, Vec<Vec<F>>) {
    let mut pops = vec![None; arch.steps.len()];
    let mut stacks = vec![vec![]; arch.steps.len()];
    let inserts = arch.max_save_depth() > 0;
    // (commitment, blinding) of each saved tensor
    let mut stack: SavedStack<(F, F)> = SavedStack::new();
    for (i, d) in arch.steps.iter().enumerate() {
        let op = &arch.slots[d.slot].op;
        if let (true, Some((&(_, r_skip), below))) =
            (op.reads_saved(), stack.entries().split_last())
        {
            let rest = saved::stack_commitment(&below.iter().map(|e| e.0).collect::<Vec<_>>());
            pops[i] = Some(Pop { r_skip, rest });
        }
        if inserts {
            // the insert goes into the stack less what the step pops or moves
            let moved = op.pops_saved() || saved::moves_kept(op);
            let kept = stack.len() - usize::from(moved && !stack.is_empty());
            stacks[i] = stack.entries()[..kept].iter().map(|e| e.0).collect();
        }
        stack.step(op, d.save_input, d.save_depth, || {
            // only the model input is blinded among the tensors a step reads
            let r = if layers[i] == 0 { blind.input } else { F::ZERO };
            let c = tensor_commitment(&trace.steps[layers[i]].input, arch.fp.bits, r);
            (c, r)
        });
    }
    (pops, stacks)
}

impl<'a, F: Field> Witnesses<'a, F> {
    fn new(
        arch: &'a Architecture,
        model: &'a QuantizedModel,
        trace: &'a Trace,
        blind: &'a Blinding<F>,
    ) -> Self {
        let layers = arch.layers();
        let (bits, carried) = (arch.fp.bits, circuit::carried_len(arch));
        let mut carries = vec![None; arch.steps.len()];
        let (mut r, mut o) = (F::ZERO, F::ZERO);
        let mut sums: Vec<i128> = vec![];
        for (i, desc) in arch.steps.iter().enumerate() {
            let Some(t) = desc.tile else { continue };
            let (ms, st) = (&model.steps[layers[i]], &trace.steps[layers[i]]);
            let cols = t.col0..t.col0 + desc.n_out;
            // an architecture that is not this model's (a tamper test's) gets no carries: its
            // tiles then fail their constraints instead of panicking here
            let (kerafold_step_circuits::Op::Dense(d), Some(bias), Some(rows), Some(_)) = (
                ms.op,
                ms.weights.b.get(cols.clone()),
                st.input.get(t.row0..t.row0 + t.rows),
                st.y.get(cols.clone()),
            ) else {
                continue;
            };
            if t.first {
                r = if layers[i] == 0 { blind.input } else { F::ZERO };
                sums = bias.iter().map(|&b| b as i128).collect();
            }
            if t.first && t.out_first {
                o = F::ZERO;
            }
            carries[i] = Some(Carry {
                r_in: r,
                acc_in: if t.first {
                    vec![F::ZERO; carried]
                } else {
                    pack_sums(&sums, &arch.fp, carried)
                },
                r_out: o,
            });
            // this tile's rows extend the re-hash and the sums; its block, the output chain
            r = commit::tensor_commitment(rows, bits, r);
            for (k, &x) in rows.iter().enumerate() {
                let row = &ms.weights.w[(t.row0 + k) * d.n_out..(t.row0 + k + 1) * d.n_out];
                for (a, &w) in sums.iter_mut().zip(&row[cols.clone()]) {
                    *a += x as i128 * w as i128;
                }
            }
            if t.last {
                o = commit::tensor_commitment(&st.y[cols], bits, o);
            }
        }
        let bands = band_carries(arch, model, trace, &layers, blind);
        let (pops, stacks) = stack_pops(arch, trace, &layers, blind);
        Self {
            arch,
            model,
            trace,
            blind,
            layers,
            carries,
            bands,
            pops,
            stacks,
        }
    }

    /// Step `i`'s witness.
    fn step(&self, i: usize) -> StepWitness<F> {
        let (arch, blind) = (self.arch, self.blind);
        let width = arch.width;
        let pad = |v: &[i64]| {
            let mut v = v.to_vec();
            v.resize(width, 0);
            v
        };
        let layer = self.layers[i];
        let (desc, st) = (&arch.steps[i], &self.trace.steps[layer]);
        let n = arch.steps.len();
        // only a merge opens the saved tensor; other steps feed zeros (an idle merge slot then
        // computes on zeros, which stay in range)
        let pop = self.pops[i];
        let skip = st.skip.as_deref().filter(|_| pop.is_some());
        let mut w = StepWitness {
            slot: desc.slot,
            n_out: desc.n_out,
            blocks: arch.step_blocks(i),
            save_input: desc.save_input,
            save_depth: desc.save_depth,
            stack: self.stacks[i].clone(),
            x: pad(&st.input),
            // only the model input is blinded among the tensors a step reads
            r_in: if layer == 0 { blind.input } else { F::ZERO },
            skip: skip.map(pad).unwrap_or_else(|| vec![0; width]),
            r_skip: pop.map_or(F::ZERO, |p| p.r_skip),
            skip_blocks: skip.map_or(1, |s| {
                kerafold_step_circuits::commit::num_blocks(s.len(), arch.fp.bits)
            }),
            skip_top: match (skip, pop) {
                (Some(s), Some(p)) => tensor_commitment(s, arch.fp.bits, p.r_skip),
                _ => F::ZERO,
            },
            skip_rest: pop.map_or(F::ZERO, |p| p.rest),
            weights: arch.packed_weights(i, layer, self.model),
            r_model: blind.model.get(i).copied().unwrap_or(F::ZERO),
            r_out: if i + 1 == n { blind.output } else { F::ZERO },
            tile: None,
            acc_in: vec![F::ZERO; circuit::carried_len(arch)],
            band: None,
            tail: vec![],
            carried: vec![],
            state: vec![],
        };
        if let (Some(b), Some(c)) = (desc.band, &self.bands[i]) {
            w.x = pad(&c.fresh);
            w.r_in = c.r_in;
            w.r_out = c.r_out;
            w.tail = c.tail.clone();
            w.carried = c.carried.clone();
            w.state = c.state.clone();
            w.band = Some(b);
        }
        if let (Some(t), Some(c)) = (desc.tile, &self.carries[i]) {
            w.x = pad(&st.input[t.row0..t.row0 + t.rows]);
            w.r_in = c.r_in;
            w.acc_in = c.acc_in.clone();
            w.r_out = c.r_out;
            w.tile = Some(circuit::TileFlags {
                first: t.first,
                last: t.last,
                out_first: t.out_first,
                out_last: t.out_last,
            });
        }
        w
    }
}

/// The witness of step `i` of a proof whose input, model and output are all public (nothing
/// blinded): exactly what [`prove`] folds at that step. For code that drives Nova directly
/// (benchmarks).
pub fn public_step_witness<F: Field>(
    arch: &Architecture,
    model: &QuantizedModel,
    trace: &Trace,
    i: usize,
) -> StepWitness<F> {
    Witnesses::new(arch, model, trace, &Blinding::public()).step(i)
}

/// The witnesses of every step of `trace` with a public (unblinded) input and output and the
/// model chain blinded with `model_blinds` (one per step; empty for a public model): what an
/// accuracy proof folds layer by layer for one sample.
pub fn sample_step_witnesses<F: Field>(
    arch: &Architecture,
    model: &QuantizedModel,
    trace: &Trace,
    model_blinds: &[F],
) -> Vec<StepWitness<F>> {
    let blind = Blinding {
        input: F::ZERO,
        output: F::ZERO,
        model: model_blinds.to_vec(),
    };
    let w = Witnesses::new(arch, model, trace, &blind);
    (0..arch.steps.len()).map(|i| w.step(i)).collect()
}

/// The initial state `z0` of a proof with a public input (see [`public_step_witness`]).
pub fn public_initial_state<F: Field>(arch: &Architecture, trace: &Trace) -> Vec<F> {
    initial_state(arch, trace, &Blinding::public())
}

impl<F: Field> Blinding<F> {
    fn public() -> Self {
        Self {
            input: F::ZERO,
            output: F::ZERO,
            model: vec![],
        }
    }
}

/// The initial state.
fn initial_state<F: Field>(arch: &Architecture, trace: &Trace, blind: &Blinding<F>) -> Vec<F> {
    let mut z = vec![
        F::ZERO,
        tensor_commitment(&trace.input, arch.fp.bits, blind.input),
        nothing_saved(),
        F::ZERO,
        commit::model_seed(arch),
        F::ZERO,
    ];
    z.resize(circuit::arity(arch), F::ZERO); // a tiled layer's state is empty between layers
    z
}

fn prove_with<B: Backend>(
    model: &QuantizedModel,
    input: &[i64],
    opts: &ProveOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<(ProofFile, ProveStats)> {
    let arch = Arc::new(Architecture::compile_tiled(model, opts.tiling)?);
    let private_weights = opts.model == Visibility::Private;
    if private_weights {
        // the circuit holds each tile to its share of the bound: say which one fails, and why
        arch.check_tile_shares(model)?;
    }
    let inner = LayerStep::shape_for(arch.clone(), private_weights);
    let per_fold = match opts.steps_per_fold {
        Some(k) => k,
        None => default_steps_per_fold(
            opts.system,
            pipeline::circuit_constraints::<Scalar<B>, _>(&inner)?,
            arch.steps.len(),
        ),
    };
    check_steps_per_fold(per_fold, arch.steps.len())?;
    let trace = model.trace(input, None)?;
    let blind = Blinding::<Scalar<B>> {
        input: random_or_zero(opts.input),
        output: random_or_zero(opts.output),
        model: match opts.model {
            Visibility::Public => vec![],
            Visibility::Private => (0..arch.steps.len())
                .map(|_| Scalar::<B>::random(OsRng))
                .collect(),
        },
    };
    let z0 = initial_state(&arch, &trace, &blind);
    let witnesses = Witnesses::new(&arch, model, &trace, &blind);
    let store = ParamsStore::new(&opts.params_dir);
    let steps_of = |fold: usize| fold * per_fold..((fold + 1) * per_fold).min(arch.steps.len());
    let circuit = |fold: usize| Packed {
        per_fold,
        steps: steps_of(fold)
            .map(|i| LayerStep {
                witness: Some(Arc::new(witnesses.step(i))),
                ..inner.clone()
            })
            .collect(),
    };
    let what = |fold: usize| {
        let r = steps_of(fold);
        let name = |i: usize| format!("step {i} ('{}')", arch.steps[i].name);
        if r.len() == 1 {
            name(r.start)
        } else {
            format!("fold {fold}: {} to {}", name(r.start), name(r.end - 1))
        }
    };
    let shape = Packed::shape(per_fold, inner.clone());
    let folding = pipeline::Folding {
        digest: shape.digest(inner.digest()),
        shape,
        n: packed::folds(arch.steps.len(), per_fold),
        circuit: &circuit,
        what: &what,
    };
    let (snark, zn, stats) = pipeline::prove::<B, _>(&store, &opts.srs, &folding, &z0, progress)?;
    store.save_arch(B::ID, &arch.digest(), &*arch)?;
    if zn[5] != Scalar::<B>::from(trace.class as u64) {
        return Err(Error::Prover(
            "proven class differs from the reference inference".into(),
        ));
    }
    let claim = Claim {
        model_name: model.name.clone(),
        steps: arch.steps.len(),
        fixed_point: model.fp,
        input: match opts.input {
            Visibility::Public => Opening::Public {
                values: trace.input.clone(),
            },
            Visibility::Private => Opening::Private {
                commitment: fe_hex(&z0[1]),
            },
        },
        model: ModelClaim {
            visibility: opts.model,
            commitment: fe_hex(&zn[4]),
        },
        output: match opts.output {
            Visibility::Public => Opening::Public {
                values: trace.logits.clone(),
            },
            Visibility::Private => Opening::Private {
                commitment: fe_hex(&zn[1]),
            },
        },
        class: trace.class,
        tiling: opts.tiling,
        steps_per_fold: per_fold,
    };
    let proof = ProofFile::new(INFERENCE, B::ID, &arch.digest(), claim, hex::encode(snark));
    Ok((proof, stats))
}

/// A fold's fixed cost (Nova's augmentation of the step circuit and its secondary circuit),
/// in constraints of the step circuit that cost as much to set up and compress, by proof system.
/// Measured with `kerafold bench-run --steps-per-fold K` (IPA) and `prove --steps-per-fold K`
/// (HyperKZG) on this project's machine (docs/DESIGN.md §7.2): a fold's fixed cost is ~0.11 s,
/// and one step-circuit constraint costs ~0.36 ms of setup and compression on IPA, ~0.07 ms on
/// HyperKZG.
pub fn fold_cost_in_constraints(system: System) -> f64 {
    match system {
        System::Bn254Ipa | System::PastaIpa => 300.0,
        System::Bn254Kzg => 1600.0,
    }
}

/// The most constraints the default packs into a fold's step circuit: memory, the verifier key
/// and verification grow with it (measured on HyperKZG, Dense 16→16 × 128: 254 MB peak and
/// 0.74 s verification at 14.5k, 368 MB and 0.88 s at 29k; × 512 at 29k verified in 1.27 s), so
/// the default keeps them bounded whatever the depth.
pub const FOLD_CIRCUIT_BUDGET: usize = 16_384;

/// The steps a fold when none is asked for: the `k` that minimizes the time of `steps` steps of
/// a `step_constraints` circuit, `steps/k` folds of fixed cost `W` (in constraints,
/// [`fold_cost_in_constraints`]) plus setup and compression of a `k`-times larger circuit,
/// `k = √(steps · W / step_constraints)` rounded, within [`FOLD_CIRCUIT_BUDGET`], at least 1
/// (docs/DESIGN.md §7.2). Narrow deep models pack several steps a fold; wide or shallow ones
/// keep one.
pub fn default_steps_per_fold(system: System, step_constraints: usize, steps: usize) -> usize {
    let s = step_constraints.max(1);
    let k = (steps as f64 * fold_cost_in_constraints(system) / s as f64)
        .sqrt()
        .round() as usize;
    k.min(FOLD_CIRCUIT_BUDGET / s)
        .clamp(1, packed::MAX_PER_FOLD.min(steps.max(1)))
}

/// Folding's cost per step-circuit constraint and fold, in constraints of setup and
/// compression: a fold spends ~0.02 s on a 4.8k-constraint step (~4.2 µs a constraint) against
/// ~0.36 ms (IPA) or ~0.07 ms (HyperKZG) of setup and compression per constraint (§7.2).
pub fn fold_cost_per_constraint(system: System) -> f64 {
    match system {
        System::Bn254Ipa | System::PastaIpa => 0.012,
        System::Bn254Kzg => 0.06,
    }
}

/// The proving cost the defaults minimize, in constraints of setup and compression: `steps`
/// steps of a `step_constraints` circuit, `per_fold` a fold, cost `C·S + folds·(W + u·S)` with
/// `S` a fold's circuit, `W` its fixed cost ([`fold_cost_in_constraints`]) and `u`
/// [`fold_cost_per_constraint`] (docs/DESIGN.md §7.3).
pub fn estimated_cost(
    system: System,
    step_constraints: usize,
    steps: usize,
    per_fold: usize,
) -> f64 {
    let fold_circuit = (step_constraints * per_fold.max(1)) as f64;
    let folds = packed::folds(steps, per_fold.max(1)) as f64;
    fold_circuit
        + folds
            * (fold_cost_in_constraints(system) + fold_cost_per_constraint(system) * fold_circuit)
}

/// Tiles must save this share of the estimated cost to be chosen by default: below it the
/// estimate's error decides, and a step per layer is the simpler proof.
const TILES_MUST_SAVE: f64 = 0.1;

/// The step circuit above which `--step-size auto` cuts layers into tiles and bands whatever the
/// estimated time: peak memory and verification grow with the fold's circuit, and bounding them
/// is the point of a step size (docs/DESIGN.md §7.3). The MNIST CNN's 213k-constraint step per
/// layer proves a little faster than its 45k in bands (15.6 s vs 22.6 s on HyperKZG) but with
/// 2.4× the memory and 1.6× the verification time.
pub const STEP_BUDGET: usize = 1 << 16;

/// The estimated cost of proving `model` compiled with `tiling` (public weights, the default
/// steps a fold; [`estimated_cost`]) and its step circuit's constraints.
fn cost_of_tiling(
    model: &QuantizedModel,
    system: System,
    tiling: Option<Tiling>,
) -> Result<(f64, usize)> {
    let arch = Arc::new(Architecture::compile_tiled(model, tiling)?);
    let steps = arch.steps.len();
    // circuit layouts do not depend on the curve (`PACK_CAPACITY`): count on one
    let s =
        pipeline::circuit_constraints::<Scalar<Bn254Ipa>, _>(&LayerStep::shape_for(arch, false))?;
    Ok((
        estimated_cost(system, s, steps, default_steps_per_fold(system, s, steps)),
        s,
    ))
}

/// The tiling a proof of `model` uses for `step_size`. [`StepSize::Auto`] cuts Dense layers into
/// tiles of one commitment block, convolution and pooling layers into row bands of about a
/// block of outputs and recurrent layers into a step a timestep, when a step per layer would
/// exceed [`STEP_BUDGET`] constraints (the MNIST CNN: 213k, or 45k in bands) or when that saves at least a tenth of [`estimated_cost`] (the
/// MNIST MLP: 3 folds of 125k constraints, or 11 of 24k), and keeps a step per layer otherwise
/// (narrow layers). `Auto` proves a private model a step per layer: in tiles each tile's weights
/// must stay within its share of the layer's bound (docs/DESIGN.md §7.1), which honest weights
/// concentrated in a few rows may not, and every weight's digits are proven.
pub fn resolve_tiling(
    model: &QuantizedModel,
    system: System,
    weights: Visibility,
    step_size: StepSize,
) -> Result<Option<Tiling>> {
    match step_size {
        StepSize::PerLayer => Ok(None),
        StepSize::Rows(n) => Tiling::square(n, &model.fp).map(Some),
        StepSize::Auto if weights == Visibility::Private => Ok(None),
        StepSize::Auto => {
            let block = Tiling::square(1, &model.fp)?;
            let (tiled, s_tiled) = cost_of_tiling(model, system, Some(block))?;
            let (per_layer, s_layer) = cost_of_tiling(model, system, None)?;
            let bounded = s_layer > STEP_BUDGET && s_tiled < s_layer;
            Ok((bounded || tiled < (1.0 - TILES_MUST_SAVE) * per_layer).then_some(block))
        }
    }
}

/// Checks a number of steps a fold against the number of steps: at least one, at most
/// [`packed::MAX_PER_FOLD`] and the number of steps.
pub fn check_steps_per_fold(per_fold: usize, steps: usize) -> Result<()> {
    if per_fold == 0 || per_fold > packed::MAX_PER_FOLD.min(steps.max(1)) {
        return Err(Error::Usage(format!(
            "{per_fold} steps a fold: this architecture folds 1 to {} steps at once (it has {steps})",
            packed::MAX_PER_FOLD.min(steps.max(1))
        )));
    }
    Ok(())
}

/// Proves one inference of `model` on the quantized `input`.
pub fn prove(
    model: &QuantizedModel,
    input: &[i64],
    opts: &ProveOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<(ProofFile, ProveStats)> {
    match opts.system {
        System::Bn254Ipa => prove_with::<Bn254Ipa>(model, input, opts, progress),
        System::Bn254Kzg => prove_with::<Bn254Kzg>(model, input, opts, progress),
        System::PastaIpa => prove_with::<PastaIpa>(model, input, opts, progress),
    }
}

/// How to verify.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// Parameter cache directory.
    pub params_dir: PathBuf,
    /// For HyperKZG proofs whose verifier key is not cached: the powers of tau.
    pub srs: Option<Srs>,
    /// The model file's quantized model (public models only): the architecture is rebuilt from
    /// it and the commitment recomputed.
    pub model: Option<QuantizedModel>,
    /// The architecture (an `arch.json`), for a proof whose model the verifier does not have;
    /// checked against the proof's digest. Without it and without `model`, the parameter
    /// directory's copy is used (checked the same way).
    pub arch: Option<Architecture>,
    /// The quantized input, checked against a public input in the claim.
    pub input: Option<Vec<i64>>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            params_dir: default_params_dir(),
            srs: None,
            model: None,
            arch: None,
            input: None,
        }
    }
}

/// A verified claim and what was checked beyond the proof itself.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The verified claim.
    pub claim: Claim,
    /// The proof system the proof was verified under.
    pub system: System,
    /// The model commitment was recomputed from a model file.
    pub model_checked: bool,
    /// The public input was compared with an input file.
    pub input_checked: bool,
}

fn opening_commitment<F: Field>(o: &Opening, len: usize, fp: &FixedPoint, what: &str) -> Result<F> {
    match o {
        Opening::Public { values } => {
            if values.len() != len {
                return Err(Error::Invalid(format!(
                    "{what} has {} values, the architecture has {len}",
                    values.len()
                )));
            }
            if let Some(v) = values.iter().find(|v| !fp.in_range(**v)) {
                return Err(Error::Invalid(format!(
                    "{what} value {v} is outside the {}-bit range",
                    fp.bits
                )));
            }
            Ok(tensor_commitment(values, fp.bits, F::ZERO))
        }
        Opening::Private { commitment } => fe_from_hex(commitment, &format!("{what} commitment")),
    }
}

/// The public state of an inference proof of `claim` over `arch`: `(z0, zn)` as the verifier
/// derives them (public values are committed here, never taken as commitments).
pub fn public_io<F: Field>(arch: &Architecture, claim: &Claim) -> Result<(Vec<F>, Vec<F>)> {
    let fp = arch.fp;
    let in_len: usize = arch.input_shape.iter().product();
    let input_c: F = opening_commitment(&claim.input, in_len, &fp, "input")?;
    let output_c: F = opening_commitment(&claim.output, arch.output_len(), &fp, "output")?;
    if let Opening::Public { values } = &claim.output {
        if kerafold_step_circuits::native::argmax(values) != claim.class {
            return Err(Error::Invalid(
                "the claimed class is not the ArgMax of the claimed logits".into(),
            ));
        }
    }
    let model_c: F = fe_from_hex(&claim.model.commitment, "model commitment")?;
    let zero_c = nothing_saved();
    let z0 = vec![
        F::ZERO,
        input_c,
        zero_c,
        F::ZERO,
        commit::model_seed(arch),
        F::ZERO,
    ];
    let mut zn = vec![
        F::from(arch.steps.len() as u64),
        output_c,
        zero_c,
        arch_chain(arch),
        model_c,
        F::from(claim.class as u64),
    ];
    let (mut z0, arity) = (z0, circuit::arity(arch));
    z0.resize(arity, F::ZERO);
    zn.resize(arity, F::ZERO);
    Ok((z0, zn))
}

/// Verifies an inference proof file. Returns the claim if the proof holds; [`Error::Invalid`]
/// otherwise.
pub fn verify(proof: &ProofFile, opts: &VerifyOptions) -> Result<Verified> {
    let claim = &proof.claim;
    let mut input_checked = false;
    if let Some(x) = &opts.input {
        match &claim.input {
            Opening::Public { values } if values == x => input_checked = true,
            Opening::Public { .. } => {
                return Err(Error::Invalid(
                    "the input file differs from the proof's public input".into(),
                ))
            }
            Opening::Private { .. } => {
                return Err(Error::Usage(
                    "the proof's input is private: it cannot be compared with an input file".into(),
                ))
            }
        }
    }
    let v = statement::verify::<Inference>(
        proof,
        &VerifyContext {
            params_dir: &opts.params_dir,
            srs: opts.srs.as_ref(),
            model: opts.model.as_ref(),
            arch: opts.arch.as_ref(),
        },
    )?;
    Ok(Verified {
        claim: claim.clone(),
        system: v.system,
        model_checked: v.model_checked,
        input_checked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Narrow deep models pack several steps a fold, more where compression is cheap (HyperKZG);
    /// wide or shallow ones fold one step at a time; the result always fits the architecture.
    #[test]
    fn the_default_steps_a_fold_balance_folds_against_compression() {
        // Dense 16→16 × 128 (+ ArgMax): ~4.8k constraints a step
        assert_eq!(default_steps_per_fold(System::Bn254Ipa, 4830, 129), 3);
        assert_eq!(default_steps_per_fold(System::Bn254Kzg, 4830, 33), 3);
        // deeper, the fold's circuit stays within its budget: memory stays flat in depth
        assert_eq!(default_steps_per_fold(System::Bn254Kzg, 4830, 129), 3);
        assert_eq!(default_steps_per_fold(System::Bn254Kzg, 4830, 513), 3);
        // the MNIST MLP in tiles of 88 and the shipped CNN: one step a fold
        assert_eq!(default_steps_per_fold(System::Bn254Kzg, 23_600, 11), 1);
        assert_eq!(default_steps_per_fold(System::Bn254Ipa, 51_259, 7), 1);
        // never more than the steps, nor the bound on what a claim may name
        assert_eq!(default_steps_per_fold(System::Bn254Kzg, 10, 3), 3);
        assert_eq!(
            default_steps_per_fold(System::Bn254Kzg, 100, 1 << 20),
            packed::MAX_PER_FOLD
        );
        assert_eq!(FOLD_CIRCUIT_BUDGET / 4830, 3);
        assert!(check_steps_per_fold(3, 3).is_ok());
        assert!(check_steps_per_fold(0, 3).is_err());
        assert!(check_steps_per_fold(4, 3).is_err());
    }
    /// The estimate ranks the MNIST MLP's measured runs (IPA, DESIGN.md §7.3): a step per layer
    /// (3 folds of 125k constraints, 60.6 s) costs more than tiles of 88 (11 of 23.6k, 20.8 s) or
    /// of 176 (7 of 43k, 22.1 s), and tiles of 352 (5 of 82k, 41.4 s) fall between.
    #[test]
    fn the_cost_estimate_orders_measured_step_sizes() {
        let ipa = |s, steps| estimated_cost(System::Bn254Ipa, s, steps, 1);
        let (layer, t88, t176, t352) = (
            ipa(125_000, 3),
            ipa(23_600, 11),
            ipa(43_000, 7),
            ipa(82_000, 5),
        );
        assert!(t88 < t176 && t176 < t352 && t352 < layer);
        assert!(t88 < 0.3 * layer);
        // steps a fold multiply the fold's circuit and divide the folds
        assert!(
            estimated_cost(System::Bn254Kzg, 4830, 129, 3)
                < estimated_cost(System::Bn254Kzg, 4830, 129, 1)
        );
    }

    fn fixture(name: &str) -> QuantizedModel {
        let (graph, inputs) = crate::model::test_fixture(name);
        crate::model::calibrate(&crate::model::lower(&graph).unwrap(), &inputs)
            .unwrap()
            .0
    }

    /// `auto` tiles where one block's tiles are estimated to be cheaper: a Dense 256→6 after a
    /// convolution (`upsample`: 4 steps of 54k constraints, or 7 of 32k), not a 16-wide MLP or
    /// a model whose step is set by a convolution (`cnn`); never a private model. Explicit sizes
    /// are kept.
    #[test]
    fn auto_tiles_public_models_only_where_the_estimate_says_cheaper() {
        let ipa = System::Bn254Ipa;
        let public = Visibility::Public;
        let up = fixture("upsample");
        let block = Tiling::square(1, &up.fp).unwrap();
        assert_eq!(
            resolve_tiling(&up, ipa, public, StepSize::Auto).unwrap(),
            Some(block)
        );
        assert_eq!(
            resolve_tiling(&up, ipa, Visibility::Private, StepSize::Auto).unwrap(),
            None
        );
        assert_eq!(
            resolve_tiling(&up, ipa, public, StepSize::PerLayer).unwrap(),
            None
        );
        assert_eq!(
            resolve_tiling(&up, ipa, public, StepSize::Rows(200)).unwrap(),
            Some(Tiling::square(200, &up.fp).unwrap())
        );
        // a narrow MLP keeps a step per layer; the fixture CNN (51k constraints a layer step)
        // is estimated cheaper in row bands (36k) on IPA, whose compression is dear
        let mlp = fixture("mlp");
        assert_eq!(
            resolve_tiling(&mlp, ipa, public, StepSize::Auto).unwrap(),
            None
        );
        let cnn = fixture("cnn");
        assert_eq!(
            resolve_tiling(&cnn, ipa, public, StepSize::Auto).unwrap(),
            Some(Tiling::square(1, &cnn.fp).unwrap())
        );
    }

    #[test]
    fn step_sizes_parse_and_print_as_the_command_line_writes_them() {
        for (text, size) in [
            ("auto", StepSize::Auto),
            ("layer", StepSize::PerLayer),
            ("88", StepSize::Rows(88)),
        ] {
            assert_eq!(text.parse::<StepSize>().unwrap(), size);
            assert_eq!(size.to_string(), text);
            let json = serde_json::to_string(&size).unwrap();
            assert_eq!(serde_json::from_str::<StepSize>(&json).unwrap(), size);
        }
        assert_eq!(serde_json::to_string(&StepSize::Rows(88)).unwrap(), "88");
        for bad in ["0", "-3", "wide", ""] {
            assert!(bad.parse::<StepSize>().is_err(), "{bad}");
        }
    }
}
