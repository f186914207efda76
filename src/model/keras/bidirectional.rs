//! Keras' Bidirectional wrapper, imported as the graph it computes: the forward layer on the
//! sequence, the backward layer on the sequence reversed (its sequence output reversed back),
//! and the merge of the two. Lowering then folds it as any fork whose two branches are joined
//! by a merge.

use super::*;

impl Ctx<'_> {
    /// A Bidirectional wrapper of a SimpleRNN, GRU or LSTM: `{name}/forward` (the wrapped
    /// layer), `{name}/reverse` (the sequence from its last timestep), `{name}/backward`,
    /// with `return_sequences` `{name}/unreverse` (Keras puts the backward sequence back in
    /// order), and `{name}` merging them as `merge_mode` says (concat, sum, mul, ave).
    pub(super) fn build_bidirectional(&self, inputs: &[Vec<usize>]) -> Result<Vec<Part>> {
        let [input] = inputs else {
            return Err(self.unsupported("a Bidirectional wrapper of several inputs"));
        };
        // (`get` reads a null as absent; here null means two outputs)
        let merge = match self.def.config.get("merge_mode") {
            None => None,
            Some(Value::String(m)) => match m.as_str() {
                "concat" => None,
                "sum" => Some(Merge::Add),
                "mul" => Some(Merge::Multiply),
                "ave" => Some(Merge::Average),
                other => {
                    return Err(self.unsupported(format!("merge_mode '{other}' is not supported")))
                }
            },
            Some(_) => {
                return Err(self.unsupported(
                    "merge_mode None (the two directions as two outputs) is not supported: \
                     kerafold proves models with one output; use concat, sum, mul or ave",
                ))
            }
        };
        let forward = self.wrapped_layer("layer", false)?;
        let backward = match self.get("backward_layer") {
            Some(_) => self.wrapped_layer("backward_layer", true)?,
            None => {
                return Err(self.bad_config(
                    "no 'backward_layer' (Keras 3 saves it; re-save the model with Keras 3)",
                ))
            }
        };
        let built = |(def, group): &(LayerDef, &str)| {
            // a legacy .h5 names the wrapped layer's weights by its own name
            let name = def
                .config
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let ctx = Ctx {
                def,
                wrapped: Some((group, name)),
                ..*self
            };
            ctx.build_recurrent(input)
        };
        let (fwd_kind, fwd_shape) = built(&forward)?;
        let (bwd_kind, bwd_shape) = built(&backward)?;
        if fwd_shape.len() != bwd_shape.len() {
            return Err(
                self.unsupported("the forward and backward layers differ in return_sequences")
            );
        }
        let sequences = fwd_shape.len() == 2;
        let name = &self.def.name;
        let mut parts = vec![
            Part {
                name: format!("{name}/forward"),
                class: forward.0.class.clone(),
                kind: fwd_kind,
                inputs: vec![PartSrc::Layer(0)],
                shape: fwd_shape.clone(),
            },
            Part {
                name: format!("{name}/reverse"),
                class: self.def.class.clone(),
                kind: LayerKind::Reverse,
                inputs: vec![PartSrc::Layer(0)],
                shape: input.clone(),
            },
            Part {
                name: format!("{name}/backward"),
                class: backward.0.class.clone(),
                kind: bwd_kind,
                inputs: vec![PartSrc::Part(1)],
                shape: bwd_shape.clone(),
            },
        ];
        if sequences {
            parts.push(Part {
                name: format!("{name}/unreverse"),
                class: self.def.class.clone(),
                kind: LayerKind::Reverse,
                inputs: vec![PartSrc::Part(2)],
                shape: bwd_shape.clone(),
            });
        }
        let back = parts.len() - 1;
        let (kind, shape) = match merge {
            None => {
                let axis = fwd_shape.len() - 1;
                let mut shape = fwd_shape.clone();
                shape[axis] += bwd_shape[axis];
                (LayerKind::Concatenate { axis }, shape)
            }
            Some(m) => {
                if fwd_shape != bwd_shape {
                    return Err(self.shape_err(format!(
                        "merge_mode of outputs {fwd_shape:?} and {bwd_shape:?}"
                    )));
                }
                (LayerKind::Merge(m), fwd_shape)
            }
        };
        parts.push(Part {
            name: name.clone(),
            class: self.def.class.clone(),
            kind,
            inputs: vec![PartSrc::Part(0), PartSrc::Part(back)],
            shape: self.out_shape(shape)?,
        });
        Ok(parts)
    }

    /// The recurrent layer under `key` of the wrapper's config, as a layer definition whose
    /// weights are the wrapper's (`forward_layer` or `backward_layer` in a `.keras` file). The
    /// backward layer must read its sequence backwards (`go_backwards`), which the `reverse`
    /// part does: its definition has it cleared.
    fn wrapped_layer(&self, key: &str, backwards: bool) -> Result<(LayerDef, &'static str)> {
        let inner = self
            .get(key)
            .and_then(Value::as_object)
            .ok_or_else(|| self.bad_config(format!("'{key}' is not a layer")))?;
        let class = inner
            .get("class_name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !matches!(class, "SimpleRNN" | "GRU" | "LSTM") {
            return Err(self.unsupported(format!(
                "a Bidirectional wrapper of {class}: kerafold wraps SimpleRNN, GRU and LSTM"
            )));
        }
        let mut config = inner
            .get("config")
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| self.bad_config(format!("'{key}' has no config")))?;
        let go_backwards = config
            .get("go_backwards")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if go_backwards != backwards {
            return Err(self.unsupported(format!(
                "a Bidirectional wrapper whose {} layer has go_backwards = {go_backwards}",
                if backwards { "backward" } else { "forward" }
            )));
        }
        config.insert("go_backwards".into(), Value::Bool(false));
        let def = LayerDef {
            class: class.to_string(),
            registered: None,
            config,
            inbound: vec![],
            built_for: None,
            ..self.def.clone()
        };
        Ok((
            def,
            if backwards {
                "backward_layer"
            } else {
                "forward_layer"
            },
        ))
    }
}
