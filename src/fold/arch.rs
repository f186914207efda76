//! Compiling a quantized model into one uniform step circuit (docs/DESIGN.md §4).
//!
//! Nova folds the same circuit at every step. The model's steps are grouped into **slots**: all
//! Dense steps with the same activation share one slot sized to the largest of them (smaller ones
//! are zero-padded into it, and a mask zeroes their unused outputs), as do merges of one kind and
//! identity steps; every other step shares a slot only with steps of identical geometry. Each fold
//! runs exactly one slot, picked by a one-hot selector derived from the step's descriptor; the
//! descriptors are hashed into the architecture chain, so the verifier knows which slot ran at
//! every step.

use crate::model::QuantizedModel;
use crate::{Error, Result};
use kerafold_step_circuits::band::{Band, BandIo, BandPlan};
use kerafold_step_circuits::native::Weights;
use kerafold_step_circuits::packing::{self, Packed};
use kerafold_step_circuits::saved::{check_insert, moves_kept};
use kerafold_step_circuits::spec::{Act, DenseSpec, FixedPoint, Merge, Op, ViewOp};
use kerafold_step_circuits::Field;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A slot: one gadget instance in the step circuit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// Relabellings applied to the bus before the op (constant wiring).
    pub views: Vec<ViewOp>,
    /// The operation, sized to the largest step it runs.
    pub op: Op,
    /// Activation applied to the op's result.
    pub act: Act,
    /// Steps padded into this slot may be smaller than it: outputs past the step's own length are
    /// masked to zero.
    pub padded: bool,
    /// The slot runs the tiles of Dense layers ([`TileDesc`], `kerafold_step_circuits::tile`):
    /// its op is one tile's geometry, rows × outputs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tile: bool,
    /// The slot runs the row bands of a convolution or pooling layer
    /// (`kerafold_step_circuits::band`): its op is one band's geometry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<BandSlot>,
}

/// The layer a band slot's bands cut, and the output rows of a band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BandSlot {
    /// The whole layer's operation.
    pub layer: Op,
    /// Output rows per band.
    pub rows: usize,
}

impl Slot {
    /// Values the slot reads from the activation bus (before its views).
    pub fn raw_input_len(&self) -> usize {
        self.views
            .first()
            .map_or(self.op.input_len(), |v| v.input_len())
    }

    /// Whether an idle slot must be fed zeros rather than the bus: a merge of arbitrary
    /// in-range values can overflow, a one-hot encoding has no assignment for a value that is
    /// not a token id, a layer normalization's output can leave the range (up to `√n` at
    /// activation scale), and so can a weightless polynomial or piecewise-linear
    /// activation (SELU's slope is above 1). Weighted slots get zero weights when idle and never
    /// overflow.
    pub fn gated(&self) -> bool {
        matches!(
            self.op,
            Op::Merge { .. } | Op::OneHot { .. } | Op::LayerNorm(_)
        ) || (!self.op.is_linear() && matches!(self.act, Act::Poly { .. } | Act::Pwl(_)))
    }
}

/// What the circuit learns about one step: which slot runs, how many outputs are real, and
/// whether the step's input is saved for a merge. Hashed into the architecture chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepDesc {
    /// The step's name (Keras layers it covers).
    pub name: String,
    /// Index of the slot this step runs.
    pub slot: usize,
    /// Number of real outputs (at most the slot's output length).
    pub n_out: usize,
    /// Save this step's input as the residual tensor for a later merge.
    pub save_input: bool,
    /// How many saved tensors, merged before this one, stay above it when it is saved
    /// (crossed skips; 0: on top).
    #[serde(default, skip_serializing_if = "kerafold_step_circuits::saved::on_top")]
    pub save_depth: usize,
    /// For a tile of a Dense layer: where it lies in the layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tile: Option<TileDesc>,
    /// For a row band of a convolution or pooling layer: where it lies in the layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<Band>,
}

impl StepDesc {
    /// Where the step saves its input: `Some(depth)` under the top, `None` if it does not.
    pub fn save(&self) -> Option<usize> {
        self.save_input.then_some(self.save_depth)
    }
}

/// One tile of a Dense layer: input rows `row0 .. row0 + rows` against the output block
/// `col0 .. col0 + n_out`. The tiles of an output block run in row order, the blocks in column
/// order; the flags are hashed into the architecture chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TileDesc {
    /// First tile of its output block: the partial sums start from the bias.
    pub first: bool,
    /// Last tile of its output block: the sums are requantized and the block is output.
    pub last: bool,
    /// In the layer's first output block: the output chain starts.
    pub out_first: bool,
    /// In the layer's last output block: the output chain becomes the current tensor.
    pub out_last: bool,
    /// First input row.
    pub row0: usize,
    /// Number of input rows (at most the tile slot's).
    pub rows: usize,
    /// First output of the block.
    pub col0: usize,
}

/// How Dense layers are cut into tiles: `rows` input rows (a whole number of commitment blocks)
/// × at most `outputs` outputs per tile. Set by the prover's step size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tiling {
    /// Input rows per tile.
    pub rows: usize,
    /// Outputs per tile (a whole number of commitment blocks when a layer has more).
    pub outputs: usize,
    /// Convolution and pooling layers run in row bands of about `rows` output values
    /// (`kerafold_step_circuits::band`; at least one output row).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bands: bool,
}

impl Tiling {
    /// Tiles of `n` input rows × `n` outputs, `n` rounded up to whole commitment blocks of
    /// `fp.bits`-bit values.
    pub fn square(n: usize, fp: &FixedPoint) -> Result<Self> {
        if n == 0 || n > kerafold_step_circuits::spec::MAX_LEN {
            return Err(Error::Usage(format!(
                "a step size of {n} rows: give 1 to 2^24"
            )));
        }
        let block = kerafold_step_circuits::commit::block_len(fp.bits);
        let rows = n.div_ceil(block) * block;
        Ok(Self {
            rows,
            outputs: rows,
            bands: true,
        })
    }

    /// Output rows per band of a layer with `op`'s output: about `rows` output values, at least
    /// one row.
    pub fn band_rows(&self, op: &Op) -> usize {
        let out = op.output_shape();
        (self.rows / (out.w * out.c).max(1)).max(1)
    }
}

/// The public architecture of a model: everything the verifier needs except weights.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Architecture {
    /// The model's name.
    pub name: String,
    /// Fixed-point parameters.
    pub fp: FixedPoint,
    /// Input shape without the batch axis.
    pub input_shape: Vec<usize>,
    /// Shape of the logits.
    pub output_shape: Vec<usize>,
    /// The Keras model ends in a Softmax (applied outside the proof).
    pub softmax: bool,
    /// Length of the activation bus: the largest tensor any step reads or writes.
    pub width: usize,
    /// The slots, each one gadget instance in the step circuit.
    pub slots: Vec<Slot>,
    /// One descriptor per fold, in order.
    pub steps: Vec<StepDesc>,
    /// How Dense layers are tiled (`None`: every layer is one step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiling: Option<Tiling>,
}

/// Slot grouping key.
#[derive(PartialEq)]
enum Key {
    Band(Op, usize, Act),
    Tile(Act),
    Dense(Act),
    Merge(Merge, bool, bool, Act),
    Swap(bool),
    Identity(Act),
    Exact(Vec<ViewOp>, Op, Act),
}

fn key(views: &[ViewOp], op: &Op, act: &Act) -> Key {
    match op {
        Op::Dense(_) if views.is_empty() => Key::Dense(act.clone()),
        Op::Merge {
            merge,
            saved_first,
            keep,
            ..
        } if views.is_empty() => Key::Merge(*merge, *saved_first, *keep, act.clone()),
        Op::Identity { .. } if views.is_empty() => Key::Identity(act.clone()),
        Op::Swap { keep, .. } if views.is_empty() && *act == Act::Linear => Key::Swap(*keep),
        _ => Key::Exact(views.to_vec(), *op, act.clone()),
    }
}

fn merge(a: &Op, b: &Op) -> Op {
    match (a, b) {
        (Op::Dense(x), Op::Dense(y)) => Op::Dense(DenseSpec {
            n_in: x.n_in.max(y.n_in),
            n_out: x.n_out.max(y.n_out),
        }),
        (
            Op::Merge {
                merge,
                n: x,
                saved_first,
                keep,
            },
            Op::Merge { n: y, .. },
        ) => Op::Merge {
            merge: *merge,
            n: *x.max(y),
            saved_first: *saved_first,
            keep: *keep,
        },
        (Op::Identity { n: x }, Op::Identity { n: y }) => Op::Identity { n: *x.max(y) },
        (
            Op::Swap {
                n: x,
                saved: s,
                keep,
            },
            Op::Swap { n: y, saved: t, .. },
        ) => Op::Swap {
            n: *x.max(y),
            saved: *s.max(t),
            keep: *keep,
        },
        _ => *a,
    }
}

/// The output rows per band of a layer cut into row bands under `tiling`, or `None` for a layer
/// run whole: convolution and pooling layers without views that make more than one band, and
/// recurrent layers of more than one timestep (a band a timestep, whatever the step size: the
/// cell is the smallest step a recurrent layer has).
fn banded_rows(s: &crate::model::QStep, tiling: Option<Tiling>, bits: u32) -> Option<usize> {
    let t = tiling.filter(|t| t.bands)?;
    if !s.views.is_empty() || !kerafold_step_circuits::band::bandable(&s.op) {
        return None;
    }
    let rows = match s.op {
        Op::Recurrent(_) => 1,
        _ => t.band_rows(&s.op),
    };
    BandPlan::new(&s.op, rows, bits)
        .ok()
        .filter(|p| p.bands.len() > 1)
        .map(|_| rows)
}

/// The tail the bands of `layers` (op, rows per band) share: the longest any of them needs.
fn shared_tail(layers: impl Iterator<Item = (Op, usize)>, bits: u32) -> usize {
    layers
        .filter_map(|(op, rows)| BandPlan::new(&op, rows, bits).ok())
        .map(|p| p.tail)
        .max()
        .unwrap_or(0)
}

impl Architecture {
    /// Compiles the step circuit's layout for `model`, one step per layer.
    pub fn compile(model: &QuantizedModel) -> Result<Self> {
        Self::compile_tiled(model, None)
    }

    /// Compiles the step circuit's layout for `model`; with `tiling`, every Dense layer (without
    /// views) is cut into tiles of `tiling.rows` input rows × at most `tiling.outputs` outputs.
    pub fn compile_tiled(model: &QuantizedModel, tiling: Option<Tiling>) -> Result<Self> {
        if model.steps.is_empty() {
            return Err(Error::Usage("the model has no steps".into()));
        }
        let mut slots: Vec<Slot> = vec![];
        let mut keys: Vec<Key> = vec![];
        let mut steps = Vec::with_capacity(model.steps.len());
        let tiled = |s: &crate::model::QStep| {
            tiling.is_some() && s.views.is_empty() && matches!(s.op, Op::Dense(_))
        };
        // the layers cut into row bands, and the tail their bands share (one window per step)
        let band_rows: Vec<Option<usize>> = model
            .steps
            .iter()
            .map(|s| banded_rows(s, tiling, model.fp.bits))
            .collect();
        let tail = shared_tail(
            model
                .steps
                .iter()
                .zip(&band_rows)
                .filter_map(|(s, r)| r.map(|r| (s.op, r))),
            model.fp.bits,
        );
        let mut width = if model.steps.first().is_some_and(tiled) || band_rows[0].is_some() {
            0
        } else {
            model.input_len()
        };
        for (s, rows) in model.steps.iter().zip(&band_rows) {
            if let Some(rows) = *rows {
                let plan = BandPlan::with_tail(&s.op, rows, model.fp.bits, tail)
                    .map_err(|e| Error::Usage(format!("layer '{}': {e}", s.name)))?;
                let k = Key::Band(s.op, rows, s.act.clone());
                let idx = match keys.iter().position(|x| *x == k) {
                    Some(i) => i,
                    None => {
                        keys.push(k);
                        slots.push(Slot {
                            views: vec![],
                            op: plan.op,
                            act: s.act.clone(),
                            padded: true,
                            tile: false,
                            band: Some(BandSlot { layer: s.op, rows }),
                        });
                        slots.len() - 1
                    }
                };
                let out_row = plan.out_row();
                width = width
                    .max(plan.new_blocks * plan.block)
                    .max(plan.op.output_len());
                for (j, b) in plan.bands.iter().enumerate() {
                    steps.push(StepDesc {
                        name: s.name.clone(),
                        slot: idx,
                        n_out: b.out_rows * out_row,
                        save_input: s.save_input && j == 0,
                        save_depth: if j == 0 { s.save_depth } else { 0 },
                        tile: None,
                        band: Some(*b),
                    });
                }
                continue;
            }
            if let (Some(t), Op::Dense(d)) = (tiling, s.op) {
                if tiled(s) {
                    let k = Key::Tile(s.act.clone());
                    let block = kerafold_step_circuits::commit::block_len(model.fp.bits);
                    if t.rows == 0 || !t.rows.is_multiple_of(block) || t.outputs == 0 {
                        return Err(Error::Usage(format!(
                            "tiles of {} rows × {} outputs: rows must be a positive multiple of {block} (a commitment block)",
                            t.rows, t.outputs
                        )));
                    }
                    let out_block = if d.n_out <= t.outputs {
                        d.n_out
                    } else if t.outputs.is_multiple_of(block) {
                        t.outputs
                    } else {
                        return Err(Error::Usage(format!(
                            "layer '{}' has {} outputs: tiles of {} outputs must be a multiple of {block} (a commitment block)",
                            s.name, d.n_out, t.outputs
                        )));
                    };
                    let tile_op = Op::Dense(DenseSpec {
                        n_in: t.rows,
                        n_out: out_block,
                    });
                    let idx = match keys.iter().position(|x| *x == k) {
                        Some(i) => {
                            slots[i].op = merge(&slots[i].op, &tile_op);
                            i
                        }
                        None => {
                            keys.push(k);
                            slots.push(Slot {
                                views: vec![],
                                op: tile_op,
                                act: s.act.clone(),
                                padded: true,
                                tile: true,
                                band: None,
                            });
                            slots.len() - 1
                        }
                    };
                    let row_tiles = d.n_in.div_ceil(t.rows);
                    let col_blocks = d.n_out.div_ceil(out_block);
                    for ob in 0..col_blocks {
                        let col0 = ob * out_block;
                        for rt in 0..row_tiles {
                            let row0 = rt * t.rows;
                            steps.push(StepDesc {
                                name: s.name.clone(),
                                slot: idx,
                                n_out: out_block.min(d.n_out - col0),
                                save_input: s.save_input && ob == 0 && rt == 0,
                                save_depth: if ob == 0 && rt == 0 { s.save_depth } else { 0 },
                                tile: Some(TileDesc {
                                    first: rt == 0,
                                    last: rt + 1 == row_tiles,
                                    out_first: ob == 0,
                                    out_last: ob + 1 == col_blocks,
                                    row0,
                                    rows: t.rows.min(d.n_in - row0),
                                    col0,
                                }),
                                band: None,
                            });
                        }
                    }
                    continue;
                }
            }
            let k = key(&s.views, &s.op, &s.act);
            let idx = match keys.iter().position(|x| *x == k) {
                Some(i) => {
                    let merged = merge(&slots[i].op, &s.op);
                    if merged != slots[i].op || merged != s.op {
                        slots[i].padded = true;
                    }
                    slots[i].op = merged;
                    i
                }
                None => {
                    keys.push(k);
                    slots.push(Slot {
                        views: s.views.clone(),
                        op: s.op,
                        act: s.act.clone(),
                        padded: false,
                        tile: false,
                        band: None,
                    });
                    slots.len() - 1
                }
            };
            width = width.max(s.raw_input_len()).max(s.op.output_len());
            steps.push(StepDesc {
                name: s.name.clone(),
                slot: idx,
                n_out: s.op.output_len(),
                save_input: s.save_input,
                save_depth: s.save_depth,
                tile: None,
                band: None,
            });
        }
        // a padded slot may have grown past steps that were assigned before it grew; a tile
        // slot reads its rows from the bus and writes its outputs there
        for s in &mut slots {
            if s.padded && s.band.is_none() {
                width = width.max(s.op.input_len()).max(s.op.output_len());
            }
        }
        let arch = Self {
            name: model.name.clone(),
            fp: model.fp,
            input_shape: model.input_shape.clone(),
            output_shape: model.output_shape.clone(),
            softmax: model.softmax,
            width,
            slots,
            steps,
            tiling,
        };
        arch.validate()
            .map_err(|e| Error::Usage(format!("model '{}' cannot be proven: {e}", model.name)))?;
        Ok(arch)
    }

    /// For every step, the index of the model layer (`QuantizedModel::steps`) it computes: one
    /// per step, except that the tiles of a layer share it.
    pub fn layers(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.steps.len());
        let mut layer = 0usize;
        for (i, s) in self.steps.iter().enumerate() {
            let continues = s.tile.is_some_and(|t| !(t.first && t.out_first))
                || s.band.is_some_and(|b| !b.first);
            if i > 0 && !continues {
                layer += 1;
            }
            out.push(layer);
        }
        out
    }

    /// Checks everything the step circuits and the native reference rely on, for an architecture
    /// read from a file (a verifier's `arch.json`): bounded, consistent shapes, slots and steps
    /// as [`Architecture::compile`] makes them. A hostile file gets an error naming what is
    /// wrong, never a panic in synthesis.
    pub fn validate(&self) -> std::result::Result<(), String> {
        use kerafold_step_circuits::spec::MAX_LEN;
        self.fp
            .validate(kerafold_step_circuits::field::PACK_CAPACITY)
            .map_err(|e| format!("fixed point: {e}"))?;
        let len = |shape: &[usize], what: &str| -> std::result::Result<usize, String> {
            if shape.is_empty() || shape.len() > 8 || shape.contains(&0) {
                return Err(format!(
                    "{what} shape {shape:?} is empty or has an empty axis"
                ));
            }
            shape
                .iter()
                .try_fold(1usize, |acc, &d| {
                    acc.checked_mul(d).filter(|&n| n <= MAX_LEN)
                })
                .ok_or_else(|| format!("{what} shape {shape:?} exceeds 2^24 values"))
        };
        let in_len = len(&self.input_shape, "input")?;
        let out_len = len(&self.output_shape, "output")?;
        // a tiled first layer reads the input a tile at a time; anything else reads it whole
        let tiled_input = self
            .steps
            .first()
            .is_some_and(|s| s.tile.is_some() || s.band.is_some());
        if self.width == 0 || self.width > MAX_LEN || (in_len > self.width && !tiled_input) {
            return Err(format!("bus width {} does not hold the input", self.width));
        }
        if self.slots.is_empty() || self.slots.len() > 4096 {
            return Err(format!("{} slots (1..=4096 expected)", self.slots.len()));
        }
        if self.steps.is_empty() || self.steps.len() > 1 << 20 {
            return Err(format!("{} steps (1..=2^20 expected)", self.steps.len()));
        }
        for (i, slot) in self.slots.iter().enumerate() {
            let err = |e: String| format!("slot {i}: {e}");
            let mut n = slot.views.first().map(|v| v.input_len());
            for v in &slot.views {
                v.validate().map_err(err)?;
                if n != Some(v.input_len()) {
                    return Err(err("views do not chain".into()));
                }
                n = Some(v.output_shape().len());
            }
            slot.op.validate().map_err(err)?;
            slot.act.validate(&self.fp).map_err(err)?;
            if n.is_some_and(|n| n != slot.op.input_len()) {
                return Err(err("the views' output is not the op's input".into()));
            }
            // a band slot reads its rows from the band window, not the bus
            let reads = if slot.band.is_some() {
                0
            } else {
                slot.raw_input_len()
            };
            if reads > self.width || slot.op.output_len() > self.width {
                return Err(err(format!("wider than the bus ({})", self.width)));
            }
            if slot.padded
                && slot.band.is_none()
                && !(slot.views.is_empty()
                    && matches!(
                        slot.op,
                        Op::Dense(_) | Op::Merge { .. } | Op::Identity { .. } | Op::Swap { .. }
                    ))
            {
                return Err(err(
                    "only Dense, merge, Identity, swap and band slots are padded".into(),
                ));
            }
            if slot.tile {
                let block = kerafold_step_circuits::commit::block_len(self.fp.bits);
                match (&slot.op, self.tiling) {
                    (Op::Dense(d), Some(_))
                        if slot.padded && d.n_in.is_multiple_of(block) && d.n_out > 0 => {}
                    _ => {
                        return Err(err(format!(
                            "a tile slot is a padded Dense of whole blocks of {block} rows in a tiled architecture"
                        )))
                    }
                }
            }
        }
        self.validate_bands()?;
        for (i, st) in self.steps.iter().enumerate() {
            let slot = self.slots.get(st.slot).ok_or_else(|| {
                format!("step {i} ('{}'): slot {} does not exist", st.name, st.slot)
            })?;
            let full = slot.op.output_len();
            match (slot.tile, st.tile) {
                (true, Some(t)) if t.rows >= 1 && t.rows <= slot.op.input_len() => {}
                (false, None) => {}
                _ => {
                    return Err(format!(
                        "step {i} ('{}'): a tile must run in a tile slot, within its rows",
                        st.name
                    ))
                }
            }
            // a band may output nothing (a recurrent layer's timesteps before its last, without
            // `return_sequences`); `validate_bands` holds it to its rows
            let silent = st.band.is_some_and(|b| b.out_rows == 0);
            if (st.n_out == 0 && !silent) || st.n_out > full || (!slot.padded && st.n_out != full) {
                return Err(format!(
                    "step {i} ('{}'): {} outputs from a slot of {full}",
                    st.name, st.n_out
                ));
            }
            // a swap sets its input aside (a push), a merge only pops or moves what it keeps;
            // an insert under the top is bounded (it pays two hashes a level)
            check_insert(&slot.op, st.save_input, st.save_depth)
                .map_err(|e| format!("step {i} ('{}'): {e}", st.name))?;
        }
        let argmax: Vec<usize> = (0..self.slots.len())
            .filter(|&i| matches!(self.slots[i].op, Op::ArgMax { .. }))
            .collect();
        let last = self.steps.last().expect("steps checked non-empty");
        match argmax.as_slice() {
            [a] if last.slot == *a
                && self.slots[*a].op == (Op::ArgMax { n: out_len })
                && self.steps.iter().filter(|s| s.slot == *a).count() == 1 => {}
            _ => {
                return Err("the last step, and only it, must be the ArgMax over the output".into())
            }
        }
        Ok(())
    }

    /// Per slot, the row bands of its layer for a band slot: every band layer's plan, with the
    /// tail they share.
    pub fn band_plans(&self) -> std::result::Result<Vec<Option<BandPlan>>, String> {
        let bits = self.fp.bits;
        let layers = || {
            self.slots
                .iter()
                .filter_map(|s| s.band.map(|b| (b.layer, b.rows)))
        };
        let tail = shared_tail(layers(), bits);
        self.slots
            .iter()
            .map(|s| {
                s.band
                    .map(|b| BandPlan::with_tail(&b.layer, b.rows, bits, tail))
                    .transpose()
            })
            .collect()
    }

    /// The band IO the step circuit shares among its band slots (`None`: no bands).
    pub fn band_io(&self) -> Option<BandIo> {
        let plans = self.band_plans().ok()?;
        plans.iter().flatten().map(BandPlan::io).reduce(BandIo::max)
    }

    /// Whether the architecture carries state between the steps of a layer (Dense tiles or row
    /// bands): the state then holds the input stream, the carried values and the output chain.
    pub fn has_carry(&self) -> bool {
        self.tiling.is_some() || self.slots.iter().any(|s| s.band.is_some())
    }

    /// The row bands: every band slot is its layer's band geometry in a banded architecture,
    /// within the bus; every band step runs in a band slot, and each layer's bands run whole and
    /// in order, exactly as [`BandPlan`] cuts the layer (what the circuit's shifters and counts
    /// are sized by).
    fn validate_bands(&self) -> std::result::Result<(), String> {
        if !self.slots.iter().any(|s| s.band.is_some())
            && !self.steps.iter().any(|s| s.band.is_some())
        {
            return Ok(());
        }
        if !self.tiling.is_some_and(|t| t.bands) {
            return Err("row bands in an architecture whose tiling has none".into());
        }
        let plans = self.band_plans().map_err(|e| format!("a band slot: {e}"))?;
        for (i, (slot, plan)) in self.slots.iter().zip(&plans).enumerate() {
            let Some(plan) = plan else { continue };
            if slot.op != plan.op || !slot.views.is_empty() || !slot.padded || slot.tile {
                return Err(format!(
                    "slot {i}: a band slot is its layer's band, padded, without views"
                ));
            }
            if plan.new_blocks * plan.block > self.width {
                return Err(format!("slot {i}: a band's window is wider than the bus"));
            }
        }
        let mut run: Option<(usize, usize)> = None; // (slot, next band) of an unfinished layer
        for (i, st) in self.steps.iter().enumerate() {
            let err = |what: &str| format!("step {i} ('{}'): {what}", st.name);
            let plan = self
                .slots
                .get(st.slot)
                .and(plans.get(st.slot))
                .and_then(|p| p.as_ref());
            match (plan, st.band) {
                (None, None) if run.is_none() => {}
                (None, None) => return Err(err("interrupts a layer's bands")),
                (Some(plan), Some(b)) => {
                    let k = match run {
                        _ if b.first => 0,
                        Some((slot, k)) if slot == st.slot => k,
                        _ => return Err(err("a band outside its layer's run")),
                    };
                    if plan.bands.get(k) != Some(&b) {
                        return Err(err("a band that is not its layer's next"));
                    }
                    if st.n_out != b.out_rows * plan.out_row() {
                        return Err(err("a band outputs other than its rows"));
                    }
                    if run.is_some() && b.first {
                        return Err(err("interrupts a layer's bands"));
                    }
                    run = (!b.last).then_some((st.slot, k + 1));
                }
                _ => return Err(err("a band must run in a band slot, and only a band")),
            }
        }
        if run.is_some() {
            return Err("a layer's bands do not finish".into());
        }
        Ok(())
    }

    /// Whether any step uses the residual tensor.
    pub fn has_skip(&self) -> bool {
        self.slots.iter().any(|s| s.op.reads_saved())
    }

    /// Whether a merge keeps the tensor it reads saved (the circuit then pays one more
    /// constraint for the stack it leaves).
    pub fn has_keep(&self) -> bool {
        self.slots.iter().any(|s| s.op.keeps_saved())
    }

    /// The deepest save under the top of the stack (0 without crossed skips: the circuit then
    /// pushes, without [`kerafold_step_circuits::saved::insert`]).
    pub fn max_save_depth(&self) -> usize {
        self.steps.iter().map(|s| s.save_depth).max().unwrap_or(0)
    }

    /// Whether a merge or concatenation that keeps its operand moves it under the top (a
    /// crossed skip through a kept tensor): the circuit then selects what its insert takes.
    pub fn has_moving_keep(&self) -> bool {
        self.steps
            .iter()
            .any(|s| s.save_depth > 0 && moves_kept(&self.slots[s.slot].op))
    }

    /// Whether any step is a branch point (pops a saved tensor and pushes its input).
    pub fn has_swap(&self) -> bool {
        self.slots.iter().any(|s| matches!(s.op, Op::Swap { .. }))
    }

    /// Whether any slot is padded (the circuit then builds an output mask).
    pub fn has_padding(&self) -> bool {
        self.slots.iter().any(|s| s.padded)
    }

    /// Length of the output mask: the largest output of a padded slot.
    pub fn mask_len(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.padded)
            .map(|s| s.op.output_len())
            .max()
            .unwrap_or(0)
    }

    /// Index of the ArgMax slot.
    pub fn argmax_slot(&self) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| matches!(s.op, Op::ArgMax { .. }))
    }

    /// Number of output logits.
    pub fn output_len(&self) -> usize {
        self.output_shape.iter().product()
    }

    /// Number of classes the ArgMax step tells apart: one per logit, or two for a single logit
    /// (a binary classifier, class `[logit > 0]`).
    pub fn classes(&self) -> usize {
        match self.output_len() {
            1 => 2,
            n => n,
        }
    }

    /// Number of values step `step` reads: the model input's, or the previous step's outputs.
    pub fn step_input_len(&self, step: usize) -> usize {
        if let Some(t) = self.steps[step].tile {
            return t.rows; // a tile reads its rows
        }
        match step {
            0 => self.input_shape.iter().product(),
            i => self.step_output_len(i - 1),
        }
    }

    /// Number of values of the tensor step `step` leaves as the current one: its outputs, or for
    /// the last tile of a Dense layer the layer's.
    pub fn step_output_len(&self, step: usize) -> usize {
        let s = &self.steps[step];
        match (
            s.tile,
            s.band,
            self.slots.get(s.slot).and_then(|slot| slot.band),
        ) {
            (Some(t), _, _) => t.col0 + s.n_out,
            // a band leaves its layer's input current, the last its layer's output
            (None, Some(_), Some(b)) => b.layer.output_len(),
            _ => s.n_out,
        }
    }

    /// Commitment blocks of the tensor step `step` reads and of the one it writes (each tensor is
    /// committed over its own length, `kerafold_step_circuits::commit`).
    pub fn step_blocks(&self, step: usize) -> (usize, usize) {
        use kerafold_step_circuits::commit::num_blocks;
        if let Some(b) = self.steps[step].band {
            // a band reads its new blocks (the bus opening holds at least one, zeros if none)
            // and writes through its own output stream
            return (b.new_blocks.max(1), 1);
        }
        (
            num_blocks(self.step_input_len(step), self.fp.bits),
            num_blocks(self.steps[step].n_out, self.fp.bits),
        )
    }

    /// The most blocks a tensor on the bus can have.
    pub fn max_blocks(&self) -> usize {
        kerafold_step_circuits::commit::num_blocks(self.width, self.fp.bits)
    }

    /// Reads an architecture file (JSON, as `arch.json` in a parameter directory or
    /// `architecture.json` from `kerafold claim-setup`). The caller checks its digest against the
    /// proof's and validates it.
    pub fn read(path: &std::path::Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::format(path, format!("not an architecture file: {e}")))
    }

    /// Writes the architecture file.
    pub fn write(&self, path: &std::path::Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("architecture serializes");
        std::fs::write(path, json).map_err(|e| Error::io(path, e))
    }

    /// SHA-256 of the canonical JSON form without the names (of the model and of its steps): what
    /// the circuit and the model commitment depend on. Two models that differ only in their
    /// layer names have one architecture (a bounty hunter's model need not reuse the host's
    /// names); names are labels, never bound by a proof.
    pub fn digest(&self) -> [u8; 32] {
        let mut unnamed = self.clone();
        unnamed.name.clear();
        for s in &mut unnamed.steps {
            s.name.clear();
        }
        let json = serde_json::to_vec(&unnamed).expect("architecture serializes");
        Sha256::digest(&json).into()
    }

    /// The step's weights laid out in its slot's geometry (zero-padded for padded slots).
    pub fn slot_weights(&self, step: usize, weights: &Weights, step_op: &Op) -> Weights {
        let slot = &self.slots[self.steps[step].slot];
        match (&slot.op, step_op) {
            (Op::Dense(big), Op::Dense(small)) if big != small => {
                let mut w = vec![0; big.n_in * big.n_out];
                for i in 0..small.n_in {
                    for o in 0..small.n_out {
                        w[i * big.n_out + o] = weights.w[i * small.n_out + o];
                    }
                }
                let mut b = vec![0; big.n_out];
                b[..small.n_out].copy_from_slice(&weights.b);
                Weights { w, b }
            }
            _ => weights.clone(),
        }
    }

    /// Packed weights of every slot at `step`: the step's own in its slot, zeros elsewhere.
    /// `layer` is the step's model layer ([`Architecture::layers`], computed once by the caller).
    pub fn packed_weights<F: Field>(
        &self,
        step: usize,
        layer: usize,
        model: &QuantizedModel,
    ) -> Vec<Packed<F>> {
        let active = self.steps[step].slot;
        self.slots
            .iter()
            .enumerate()
            .map(|(i, slot)| {
                let (wl, bl) = packing::packed_lens(&slot.op, &self.fp);
                if i == active && slot.op.has_weights() {
                    let ms = &model.steps[layer];
                    let w = match self.steps[step].tile {
                        Some(t) => {
                            let (own, op) = tile_weights(ms, &t, self.steps[step].n_out);
                            self.slot_weights(step, &own, &op)
                        }
                        None => self.slot_weights(step, &ms.weights, &ms.op),
                    };
                    if slot.op.weight_lens() != (w.w.len(), w.b.len()) {
                        // an architecture that is not this model's (a tamper test's): zeros,
                        // which fail the model chain instead of panicking here
                        return Packed {
                            w: vec![F::ZERO; wl],
                            b: vec![F::ZERO; bl],
                        };
                    }
                    packing::pack(&slot.op, &w, &self.fp)
                } else {
                    Packed {
                        w: vec![F::ZERO; wl],
                        b: vec![F::ZERO; bl],
                    }
                }
            })
            .collect()
    }
}

impl Architecture {
    /// Per slot, the share of the lane bound each of its tiles may use, as a number of parts
    /// (`kerafold_step_circuits::wellformed::share_limit`; 1 for a slot that is not a tile slot):
    /// the most tiles of any *run* the slot's tiles are in. A run is what one carried partial sum
    /// accumulates: the tile steps from a `first` tile up to the next (in step order, whatever
    /// their slots; before the first `first`, from the start). With every tile within
    /// `1/parts` of the bound and `parts` at least its run's length, no run's sums exceed the
    /// bound (docs/DESIGN.md §7.4). Compiled architectures have runs of `R` row tiles.
    pub fn tile_parts(&self) -> Vec<u32> {
        let mut runs: Vec<Vec<usize>> = vec![];
        for s in &self.steps {
            if let Some(t) = s.tile {
                if t.first || runs.is_empty() {
                    runs.push(vec![]);
                }
                runs.last_mut().expect("a run was started").push(s.slot);
            }
        }
        let mut parts = vec![1u32; self.slots.len()];
        for run in &runs {
            let len = u32::try_from(run.len()).unwrap_or(u32::MAX);
            for &slot in run {
                parts[slot] = parts[slot].max(len);
            }
        }
        parts
    }

    /// For a private model in tiles: checks natively that every tile's weights stay within its
    /// share of the lane bound ([`Architecture::tile_parts`]), which the step circuit enforces.
    /// Honest weights are within the whole layer's bound (the quantizer's guard); a layer whose
    /// weight mass sits in a few rows may still give one tile more than its share.
    pub fn check_tile_shares(&self, model: &QuantizedModel) -> Result<()> {
        let parts = self.tile_parts();
        for (step, layer) in self.steps.iter().zip(self.layers()) {
            let Some(t) = step.tile else { continue };
            let (own, op) = tile_weights(&model.steps[layer], &t, step.n_out);
            let n = parts[step.slot];
            kerafold_step_circuits::wellformed::check_share(&op, &own, &self.fp, n).map_err(
                |e| {
                    Error::Usage(format!(
                        "layer '{}', tile of input rows {}..{} and outputs {}..{}: {e}. A private \
                         model's tile may use 1/{n} of its layer's bound on |weights|; prove it a \
                         step per layer, or quantize with a larger guard",
                        model.steps[layer].name,
                        t.row0,
                        t.row0 + t.rows,
                        t.col0,
                        t.col0 + step.n_out
                    ))
                },
            )?;
        }
        Ok(())
    }
}

/// A tile's own weights (its rows × its output block; the bias on the block's first tile only)
/// and its Dense geometry.
fn tile_weights(layer: &crate::model::QStep, t: &TileDesc, n_out: usize) -> (Weights, Op) {
    let Op::Dense(d) = layer.op else {
        unreachable!("tiles are compiled from Dense layers only")
    };
    let mut w = Vec::with_capacity(t.rows * n_out);
    for i in t.row0..t.row0 + t.rows {
        w.extend_from_slice(&layer.weights.w[i * d.n_out + t.col0..i * d.n_out + t.col0 + n_out]);
    }
    let b = if t.first {
        layer.weights.b[t.col0..t.col0 + n_out].to_vec()
    } else {
        vec![0; n_out]
    };
    (
        Weights { w, b },
        Op::Dense(DenseSpec {
            n_in: t.rows,
            n_out,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::QStep;

    fn dense(name: &str, n_in: usize, n_out: usize, act: Act) -> QStep {
        QStep {
            name: name.into(),
            views: vec![],
            op: Op::Dense(DenseSpec { n_in, n_out }),
            act,
            save_input: false,
            save_depth: 0,
            weights: Weights {
                w: (0..(n_in * n_out) as i64).collect(),
                b: vec![1; n_out],
            },
            output_shape: vec![n_out],
        }
    }

    #[test]
    fn dense_steps_share_a_padded_slot_per_activation() {
        let model = QuantizedModel {
            name: "m".into(),
            fp: FixedPoint {
                fa: 8,
                fw: 8,
                bits: 16,
                guard: 1,
            },
            input_shape: vec![4],
            output_shape: vec![3],
            softmax: true,
            log_softmax: false,
            sigmoid: false,
            steps: vec![
                dense("d0", 4, 6, Act::Relu),
                dense("d1", 6, 6, Act::Relu),
                dense("d2", 6, 3, Act::Linear),
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
        };
        let arch = Architecture::compile(&model).unwrap();
        assert_eq!(arch.slots.len(), 3);
        assert_eq!(arch.slots[0].op, Op::Dense(DenseSpec { n_in: 6, n_out: 6 }));
        assert!(arch.slots[0].padded);
        assert!(!arch.slots[1].padded);
        assert_eq!(
            arch.steps.iter().map(|s| s.slot).collect::<Vec<_>>(),
            vec![0, 0, 1, 2]
        );
        assert_eq!(arch.width, 6);
        let w = arch.slot_weights(0, &model.steps[0].weights, &model.steps[0].op);
        assert_eq!(w.w.len(), 36);
        // d0 is 4→6 padded into 6→6: rows 0..4 are its weights, rows 4..6 are zero
        assert_eq!(w.w[6 + 1], model.steps[0].weights.w[6 + 1]); // row 1, col 1
        assert!(w.w[4 * 6..].iter().all(|&v| v == 0));
        assert_eq!(w.b[..6], model.steps[0].weights.b[..]);
    }

    #[test]
    fn validate_refuses_what_synthesis_would_panic_on() {
        let model = QuantizedModel {
            name: "m".into(),
            fp: FixedPoint {
                fa: 8,
                fw: 8,
                bits: 16,
                guard: 1,
            },
            input_shape: vec![4],
            output_shape: vec![3],
            softmax: false,
            log_softmax: false,
            sigmoid: false,
            steps: vec![
                dense("d0", 4, 3, Act::Relu),
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
        };
        let arch = Architecture::compile(&model).unwrap();
        assert_eq!(arch.validate(), Ok(()));
        // three logits tell three classes apart; one logit (a binary classifier's) two
        assert_eq!(arch.classes(), 3);
        let mut binary = arch.clone();
        binary.output_shape = vec![1];
        assert_eq!(binary.classes(), 2);
        let mut wide = arch.clone();
        wide.slots[0].op = Op::Dense(DenseSpec { n_in: 9, n_out: 3 });
        assert!(wide.validate().unwrap_err().contains("wider than the bus"));
        let mut lost = arch.clone();
        lost.steps[0].slot = 7;
        assert!(lost.validate().unwrap_err().contains("does not exist"));
        let mut two = arch.clone();
        two.steps[0].n_out = 2;
        assert!(two.validate().unwrap_err().contains("2 outputs"));
        let mut no_argmax = arch.clone();
        no_argmax.steps.pop();
        assert!(no_argmax.validate().unwrap_err().contains("ArgMax"));
        let mut guardless = arch;
        guardless.fp.guard = 0;
        assert!(guardless.validate().unwrap_err().contains("guard"));
    }
}
