//! Keras' masks from an `Embedding(mask_zero=True)`, as far as kerafold follows them: through
//! layers that leave a sequence as it is (Dropout and the like, a Bidirectional's reversal) into
//! recurrent layers, where a timestep of padding (token 0) keeps the state, and from a recurrent
//! layer returning sequences into the next. The mask travels as data: the embedding imports as `{name}/table` (the lookup),
//! `{name}/ids` (the token ids as a column) and `{name}`, their concatenation, so each
//! timestep's values end with its token id, and the recurrent cell reads the id and proves its
//! mask bit from it ([`kerafold_step_circuits::recurrent::cell`]). A mask is a function of the
//! model input the verifier checks like any other wiring: nothing for the prover to choose.

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
        let part = |suffix: &str, kind: LayerKind, inputs: Vec<PartSrc>, shape: Vec<usize>| Part {
            name: match suffix {
                "" => self.def.name.clone(),
                s => format!("{}/{s}", self.def.name),
            },
            class: self.def.class.clone(),
            kind,
            inputs,
            shape,
        };
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

    /// Whether this layer is an Embedding with `mask_zero = true`.
    pub(super) fn masks_zero(&self) -> Result<bool> {
        Ok(self.def.class == "Embedding" && self.boolean("mask_zero", false)?)
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
                (k + 1 == parts.len() && self.masks_zero()?).then(|| Mask {
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

/// The part of a masked Embedding holding its ids as a column.
const IDS_PART: usize = 1;

/// The layers that may read a mask (when they return their last state).
pub(super) const RECURRENT: [&str; 4] = ["SimpleRNN", "GRU", "LSTM", "Bidirectional"];

/// Why a layer that reads a mask is refused.
pub(super) const MASK_READER: &str = "reads the mask of an Embedding with mask_zero = true; \
    kerafold follows a mask only through Dropout-like layers into SimpleRNN, GRU or LSTM layers \
    (also Bidirectional ones, also stacked), the last of which returns its last state. Train \
    without mask_zero, or feed the Embedding straight into such recurrent layers";
