//! Keras' masks from an `Embedding(mask_zero=True)`, as far as kerafold follows them: through
//! layers that leave a sequence as it is (Dropout and the like, a Bidirectional's reversal) into
//! a recurrent layer that returns its last state, where a timestep of padding (token 0) keeps the
//! state. The mask travels as data: the embedding imports as `{name}/table` (the lookup),
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
    /// `origins` are the layers the masked inputs' Embeddings read (`None`: not masked).
    pub(super) fn mask_given(&self, defs: &[LayerDef], origins: &[Option<&String>]) -> Result<()> {
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
            Some(ids) if origins.iter().flatten().any(|o| *o == ids) => Ok(()),
            _ => Err(self.unsupported(format!(
                "its mask is the output of '{from}', which is not the token ids != 0 of an \
                 Embedding with mask_zero = true whose sequence the layer reads; kerafold \
                 follows only that mask"
            ))),
        }
    }

    /// Which of the parts a layer built output a masked sequence, given which of the layer's
    /// inputs are masked: a masked Embedding's last part; a part that passes its masked input on
    /// unchanged (Dropout and the like, a reversal). A masked recurrent layer ends the mask.
    /// Any other reader of a mask is refused: kerafold would compute it without the mask.
    pub(super) fn mask_flow(&self, parts: &[Part], inputs_masked: &[bool]) -> Result<Vec<bool>> {
        let mut out: Vec<bool> = Vec::with_capacity(parts.len());
        for (k, p) in parts.iter().enumerate() {
            let reads_mask = p.inputs.iter().any(|s| match *s {
                PartSrc::Layer(j) => inputs_masked.get(j).copied().unwrap_or(false),
                PartSrc::Part(j) => out.get(j).copied().unwrap_or(false),
            });
            let masked = if !reads_mask {
                k + 1 == parts.len() && self.masks_zero()?
            } else {
                match &p.kind {
                    LayerKind::Dropout | LayerKind::Reverse => true,
                    LayerKind::Recurrent(r) if r.masked => false,
                    _ => return Err(self.unsupported(MASK_READER)),
                }
            };
            out.push(masked);
        }
        Ok(out)
    }
}

/// The layers that may read a mask (when they return their last state).
pub(super) const RECURRENT: [&str; 4] = ["SimpleRNN", "GRU", "LSTM", "Bidirectional"];

/// Why a layer that reads a mask is refused.
pub(super) const MASK_READER: &str = "reads the mask of an Embedding with mask_zero = true; \
    kerafold follows a mask only through Dropout-like layers into a SimpleRNN, GRU or LSTM (or a \
    Bidirectional one) that returns its last state. Train without mask_zero, or feed the \
    Embedding straight into such a recurrent layer";
