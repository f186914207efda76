//! Keras' masks, as far as kerafold follows them: from an `Embedding(mask_zero=True)` or a
//! `Masking` layer, through layers that leave a sequence as it is (Dropout and the like, a
//! Bidirectional's reversal) into recurrent layers, where a masked timestep keeps the state, and
//! from a recurrent layer returning sequences into the next. The mask travels as data: each
//! timestep's values end with a column that is zero exactly where the timestep is masked. A masked
//! embedding imports as `{name}/table` (the lookup), `{name}/ids` (the token ids as a column) and
//! `{name}`, their concatenation; a Masking layer as `{name}/diff`, `{name}/ids` (how far the
//! timestep's features are from the mask value, summed), `{name}/column` (a copy) and `{name}`,
//! its input with that column.
//! The recurrent cell reads the column and proves its mask bit from it
//! ([`kerafold_step_circuits::recurrent::cell`]). A mask is a function of the model input the
//! verifier checks like any other wiring: nothing for the prover to choose.

use super::*;

impl Ctx<'_> {
    /// An Embedding with `mask_zero = true`: the lookup, the ids as a column, and their
    /// concatenation `[length, dim + 1]`.
    pub(super) fn build_masked_embedding(&self, inputs: &[Vec<usize>]) -> Result<Vec<Part>> {
        let [input] = inputs else {
            return Err(self.unsupported("an Embedding of several inputs"));
        };
        let (kind, shape) = self.build_embedding(input)?;
        let n = shape[0];
        // the ids are part IDS_PART
        let part = |suffix, kind, inputs, shape| self.mask_part(suffix, kind, inputs, shape);
        let out = vec![n, shape[1] + 1];
        Ok(vec![
            part("table", kind, vec![PartSrc::Layer(0)], shape),
            part(
                "ids",
                LayerKind::Reshape { target: vec![n, 1] },
                vec![PartSrc::Layer(0)],
                vec![n, 1],
            ),
            part(
                "",
                LayerKind::Concatenate { axis: 1 },
                vec![PartSrc::Part(0), PartSrc::Part(1)],
                out,
            ),
        ])
    }

    /// A Masking layer over a sequence `[timesteps, features]`, which masks a timestep whose
    /// features all equal `mask_value`: `{name}/diff`, a Dense over the last axis with ReLU
    /// giving `max(x − v, 0)` and `max(v − x, 0)` per feature; `{name}/ids`, their sum (zero
    /// exactly at a masked timestep, as a masked embedding's token id is zero exactly at
    /// padding); `{name}/column`, a copy of it; and `{name}`, the input with the copy appended
    /// `[timesteps, features + 1]`.
    /// Only integer mask values: their fixed-point value is exact at every scale, so a masked
    /// timestep's column is exactly zero in the integer model too. (Keras also zeroes masked
    /// timesteps' features; the recurrent layers that read the mask never use them.)
    pub(super) fn build_masking(&self, inputs: &[Vec<usize>]) -> Result<Vec<Part>> {
        let [input] = inputs else {
            return Err(self.unsupported("a Masking layer of several inputs"));
        };
        self.rank(input, 2, "a sequence [timesteps, features]")?;
        let v = self.number("mask_value")?.unwrap_or(0.0);
        if v.fract() != 0.0 || v.abs() > MAX_MASK_VALUE {
            return Err(self.unsupported(format!(
                "mask_value {v} is not supported: kerafold proves masks exactly for integer mask \
                 values of magnitude at most {MAX_MASK_VALUE} (pad with 0 or -1)"
            )));
        }
        let (t, f) = (input[0], input[1]);
        let v = v as f32;
        // row i of the kernel: +1 into column i, −1 into column f + i
        let mut diff_kernel = vec![0.0f32; f * 2 * f];
        for i in 0..f {
            diff_kernel[i * 2 * f + i] = 1.0;
            diff_kernel[i * 2 * f + f + i] = -1.0;
        }
        let diff_bias: Vec<f32> = (0..2 * f).map(|j| if j < f { -v } else { v }).collect();
        let part = |suffix, kind, inputs, shape| self.mask_part(suffix, kind, inputs, shape);
        // the sum of `n` values of a row, exactly (weights 1)
        let sum = |n: usize| LayerKind::Dense {
            units: 1,
            kernel: vec![1.0; n],
            bias: vec![0.0],
            activation: Activation::Linear,
        };
        // the column is part IDS_PART, as a masked embedding's
        Ok(vec![
            part(
                "diff",
                LayerKind::Dense {
                    units: 2 * f,
                    kernel: diff_kernel,
                    bias: diff_bias,
                    activation: Activation::Relu,
                },
                vec![PartSrc::Layer(0)],
                vec![t, 2 * f],
            ),
            part("ids", sum(2 * f), vec![PartSrc::Part(0)], vec![t, 1]),
            // the same column again, which the concatenation reads: a concatenation cannot set
            // its own input aside, and a stacked recurrent layer reads the ids later
            part("column", sum(1), vec![PartSrc::Part(1)], vec![t, 1]),
            part(
                "",
                LayerKind::Concatenate { axis: 1 },
                vec![PartSrc::Layer(0), PartSrc::Part(2)],
                vec![t, f + 1],
            ),
        ])
    }

    /// Part `{name}/{suffix}` of a layer making a mask (`{name}` for the empty suffix).
    fn mask_part(
        &self,
        suffix: &str,
        kind: LayerKind,
        inputs: Vec<PartSrc>,
        shape: Vec<usize>,
    ) -> Part {
        Part {
            name: match suffix {
                "" => self.def.name.clone(),
                s => format!("{}/{s}", self.def.name),
            },
            class: self.def.class.clone(),
            kind,
            inputs,
            shape,
        }
    }

    /// Whether this layer is an Embedding with `mask_zero = true`.
    pub(super) fn masks_zero(&self) -> Result<bool> {
        Ok(self.def.class == "Embedding" && self.boolean("mask_zero", false)?)
    }

    /// Whether this layer's output carries a mask it makes: a masked Embedding, a Masking layer.
    fn makes_mask(&self) -> Result<bool> {
        Ok(self.def.registered.is_none() && (self.def.class == "Masking" || self.masks_zero()?))
    }

    /// A mask passed as the call's `mask` argument (Keras 3 Functional models record an
    /// Embedding's mask so: a `NotEqual` op on its token ids and 0) must be the one kerafold
    /// carries with the layer's input: the token ids the masked Embedding read, compared with 0.
    /// `inputs` are the masks of the layer's inputs (`None`: not masked).
    fn mask_given(&self, defs: &[LayerDef], inputs: &[Option<&Mask>]) -> Result<()> {
        let Some(from) = &self.def.mask_from else {
            return Ok(());
        };
        let producer = defs.iter().find(|d| &d.name == from);
        let ids = producer.and_then(|p| match (p.class.as_str(), &p.call_args[..]) {
            ("NotEqual", [_, zero]) if p.registered.is_none() && zero.as_f64() == Some(0.0) => {
                p.inbound.first()
            }
            _ => None,
        });
        match ids {
            Some(ids) if inputs.iter().flatten().any(|m| &m.ids_from == ids) => Ok(()),
            _ => Err(self.unsupported(format!(
                "its mask is the output of '{from}', which is not the token ids != 0 of an \
                 Embedding with mask_zero = true whose sequence the layer reads; kerafold \
                 follows only that mask"
            ))),
        }
    }

    /// Follows the masks of a layer's inputs (`inputs`, `None` where unmasked) through the
    /// parts it built, the first of which will be graph node `first`: checks a Functional
    /// model's `mask` argument ([`Ctx::mask_given`]), refuses a part that reads a mask it cannot
    /// follow, and returns the parts with the mask each one's output carries: a masked
    /// Embedding's last; a part passing its masked input on unchanged (Dropout and the like, a
    /// reversal). A masked recurrent layer's output has no ids: when the layer returns
    /// sequences, a last part `{name}/ids` appends the Embedding's ids column to its output
    /// again, for the next masked recurrent layer (what it outputs at padding timesteps is
    /// then never read: Keras' zeros or the kept state alike).
    pub(super) fn follow_mask(
        &self,
        mut parts: Vec<Part>,
        defs: &[LayerDef],
        inputs: &[Option<&Mask>],
        first: usize,
    ) -> Result<(Vec<Part>, Vec<Option<Mask>>)> {
        self.mask_given(defs, inputs)?;
        let from = inputs.iter().flatten().next();
        let mut out: Vec<Option<Mask>> = Vec::with_capacity(parts.len() + 1);
        let mut sequences = false;
        for (k, p) in parts.iter().enumerate() {
            let reads_mask = p.inputs.iter().any(|s| match *s {
                PartSrc::Layer(j) => inputs.get(j).is_some_and(Option::is_some),
                PartSrc::Part(j) => out.get(j).is_some_and(Option::is_some),
                PartSrc::Node(_) => false,
            });
            let mask = if !reads_mask {
                (k + 1 == parts.len() && self.makes_mask()?).then(|| Mask {
                    ids_from: self.def.inbound.first().cloned().unwrap_or_default(),
                    ids: first + IDS_PART,
                })
            } else {
                match &p.kind {
                    LayerKind::Dropout | LayerKind::Reverse => from.cloned().cloned(),
                    LayerKind::Recurrent(r) if r.masked => {
                        sequences |= r.return_sequences;
                        None
                    }
                    _ => return Err(self.unsupported(MASK_READER)),
                }
            };
            out.push(mask);
        }
        if let (true, Some(m), Some(last)) = (sequences, from, parts.last()) {
            let &[t, c] = &last.shape[..] else {
                return Err(self.shape_err(format!(
                    "a masked layer's output {:?} is not a sequence",
                    last.shape
                )));
            };
            parts.push(Part {
                name: format!("{}/ids", self.def.name),
                class: self.def.class.clone(),
                kind: LayerKind::Concatenate { axis: 1 },
                inputs: vec![PartSrc::Part(parts.len() - 1), PartSrc::Node(m.ids)],
                shape: vec![t, c + 1],
            });
            out.push(Some((*m).clone()));
        }
        Ok((parts, out))
    }
}

/// The mask a tensor carries, from an Embedding with `mask_zero = true`.
#[derive(Clone, Debug)]
pub(super) struct Mask {
    /// The layer whose output the Embedding read as token ids (a Functional model's `mask`
    /// argument must compare exactly that with 0).
    pub(super) ids_from: String,
    /// The graph node holding the ids as a column `[length, 1]` (`{embedding}/ids`).
    pub(super) ids: usize,
}

/// The part of a masked Embedding holding its ids as a column (of a Masking layer, its
/// distances from the mask value).
const IDS_PART: usize = 1;

/// The largest mask value a Masking layer may have (an integer): far beyond any padding value,
/// and within every fixed point's range.
const MAX_MASK_VALUE: f64 = 1024.0;

/// The layers that may read a mask (when they return their last state).
pub(super) const RECURRENT: [&str; 4] = ["SimpleRNN", "GRU", "LSTM", "Bidirectional"];

/// Why a layer that reads a mask is refused.
pub(super) const MASK_READER: &str = "reads the mask of an Embedding with mask_zero = true or \
    of a Masking layer; kerafold follows a mask only through Dropout-like layers into SimpleRNN, \
    GRU or LSTM layers (also Bidirectional ones, also stacked), the last of which returns its \
    last state. Train without the mask, or feed it straight into such recurrent layers";
