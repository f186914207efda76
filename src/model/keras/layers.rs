//! One builder per supported layer class: its config, its weights (checked for shape and
//! finiteness) and its output shape.

use super::*;

/// Building one layer: its config, its weights, its output shape.
pub(super) struct Ctx<'a> {
    pub(super) path: &'a Path,
    pub(super) file: &'a ModelFile,
    pub(super) def: &'a LayerDef,
    /// A layer inside a wrapper (a Bidirectional's forward or backward layer): its weights'
    /// group under the wrapper's in a `.keras` file and its name in a legacy `.h5`.
    pub(super) wrapped: Option<(&'a str, &'a str)>,
    /// The layer's input carries an Embedding's mask (a token id after each timestep's values):
    /// the graph node holding the ids as a column (`mask`).
    pub(super) mask_ids: Option<usize>,
}

/// A weight a layer expects: accepted stored names and shape.
pub(super) struct Want {
    pub(super) names: &'static [&'static str],
    pub(super) shape: Vec<usize>,
}

/// A normalization's per-channel scale and offset, and the weights read after them.
pub(super) struct ScaleOffset {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    rest: std::vec::IntoIter<Vec<f32>>,
}

impl Ctx<'_> {
    /// Whether the layer's input carries an Embedding's mask.
    pub(super) fn masked(&self) -> bool {
        self.mask_ids.is_some()
    }

    pub(super) fn unsupported(&self, msg: impl Into<String>) -> Error {
        Error::Unsupported {
            layer: self.def.name.clone(),
            class: self.def.class.clone(),
            msg: msg.into(),
        }
    }
    pub(super) fn bad_config(&self, msg: impl std::fmt::Display) -> Error {
        Error::format(
            self.path,
            format!("layer '{}' ({}): {msg}", self.def.name, self.def.class),
        )
    }
    pub(super) fn shape_err(&self, msg: impl Into<String>) -> Error {
        Error::Shape {
            context: format!("layer '{}' ({})", self.def.name, self.def.class),
            msg: msg.into(),
        }
    }
    pub(super) fn get(&self, key: &str) -> Option<&Value> {
        self.def.config.get(key).filter(|v| !v.is_null())
    }
    pub(super) fn usize_of(&self, key: &str, v: &Value) -> Result<usize> {
        v.as_u64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n <= MAX_ELEMS)
            .ok_or_else(|| self.bad_config(format!("'{key}' = {v} is not a non-negative integer")))
    }
    pub(super) fn uint(&self, key: &str) -> Result<usize> {
        let v = self
            .get(key)
            .ok_or_else(|| self.bad_config(format!("missing '{key}'")))?;
        self.usize_of(key, v)
    }
    pub(super) fn positive(&self, key: &str) -> Result<usize> {
        let n = self.uint(key)?;
        if n == 0 {
            return Err(self.bad_config(format!("'{key}' must be positive")));
        }
        Ok(n)
    }
    /// An int or a list of `rank` ints (`rank` = 1 or 2), as `(1, k)` or `(kh, kw)`.
    pub(super) fn tuple(
        &self,
        key: &str,
        rank: usize,
        default: Option<(usize, usize)>,
    ) -> Result<(usize, usize)> {
        let v = match self.get(key) {
            Some(v) => v,
            None => return default.ok_or_else(|| self.bad_config(format!("missing '{key}'"))),
        };
        let vals: Vec<usize> = match v {
            Value::Array(a) => a
                .iter()
                .map(|x| self.usize_of(key, x))
                .collect::<Result<_>>()?,
            _ => vec![self.usize_of(key, v)?; rank],
        };
        if vals.len() != rank || vals.contains(&0) {
            return Err(self.bad_config(format!(
                "'{key}' = {v}: expected {rank} positive integer(s)"
            )));
        }
        Ok(if rank == 1 {
            (1, vals[0])
        } else {
            (vals[0], vals[1])
        })
    }
    pub(super) fn boolean(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.bad_config(format!("'{key}' = {v} is not a boolean"))),
        }
    }
    pub(super) fn number(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.bad_config(format!("'{key}' = {v} is not a number"))),
        }
    }
    pub(super) fn string(&self, key: &str) -> Result<Option<&str>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| self.bad_config(format!("'{key}' = {v} is not a string"))),
        }
    }
    /// The padding mode; `causal` only where `causal` allows it (the 1-D convolutions).
    pub(super) fn padding(&self, causal: bool) -> Result<Padding> {
        match self.string("padding")?.unwrap_or("valid") {
            "valid" => Ok(Padding::Valid),
            "same" => Ok(Padding::Same),
            "causal" if causal => Ok(Padding::Causal),
            "causal" => Err(self.unsupported(
                "padding 'causal' is supported for 1-D convolutions only; use 'valid' or 'same'",
            )),
            other => Err(self.unsupported(format!(
                "padding '{other}' is not supported; use 'valid' or 'same'"
            ))),
        }
    }
    pub(super) fn channels_last(&self) -> Result<()> {
        match self.string("data_format")? {
            None | Some("channels_last") => Ok(()),
            Some(other) => Err(self.unsupported(format!(
                "data_format '{other}' is not supported; kerafold needs channels_last (the Keras \
                 default)"
            ))),
        }
    }
    pub(super) fn not_quantized(&self) -> Result<()> {
        if self.get("quantization_config").is_some() {
            return Err(self.unsupported(
                "Keras-quantized layers (model.quantize) are not supported; import the float \
                 model, kerafold quantizes it itself",
            ));
        }
        if let Some(name) = self
            .get("dtype")
            .and_then(|d| d.get("config"))
            .and_then(|c| c.get("name"))
            .and_then(Value::as_str)
        {
            if name.starts_with("int") || name.starts_with("float8") {
                return Err(self.unsupported(format!(
                    "dtype policy '{name}' (a Keras-quantized layer) is not supported; import \
                     the float model"
                )));
            }
        }
        Ok(())
    }
    pub(super) fn rank(&self, input: &[usize], rank: usize, what: &str) -> Result<()> {
        if input.len() != rank {
            return Err(self.shape_err(format!(
                "input shape {input:?}: expected {what} (rank {rank} without the batch axis)"
            )));
        }
        Ok(())
    }
    pub(super) fn activation(&self, key: &str) -> Result<Activation> {
        let v = match self.get(key) {
            None => return Ok(Activation::Linear),
            Some(v) => v,
        };
        let name = match v {
            Value::String(s) => s.clone(),
            Value::Object(o) => {
                let module = o.get("module").and_then(Value::as_str).unwrap_or("");
                let cfg = o.get("config").and_then(Value::as_str).unwrap_or("");
                if module.starts_with("keras") && !cfg.is_empty() {
                    cfg.to_string()
                } else {
                    return Err(self.unsupported(format!(
                        "custom activation function {} is not supported; kerafold supports \
                         {SUPPORTED_ACTIVATIONS}",
                        if cfg.is_empty() {
                            v.to_string()
                        } else {
                            format!("'{cfg}'")
                        }
                    )));
                }
            }
            _ => return Err(self.bad_config(format!("'{key}' = {v} is not an activation"))),
        };
        activation_by_name(&name).ok_or_else(|| {
            self.unsupported(format!(
                "activation '{name}' is not supported; kerafold supports {SUPPORTED_ACTIVATIONS}"
            ))
        })
    }

    /// The layer's weights, checked against `want` (count, names when stored, shapes, finite).
    pub(super) fn weights(&self, want: &[Want]) -> Result<Vec<Vec<f32>>> {
        self.weights_within(want, "")
    }

    /// [`Ctx::weights`] stored under the layer's sub-object `within` in a `.keras` file (a
    /// recurrent layer's `cell`).
    pub(super) fn weights_within(&self, want: &[Want], within: &str) -> Result<Vec<Vec<f32>>> {
        let key = self.def.key.as_deref().unwrap_or("");
        let vars = self
            .file
            .layer_vars(&self.def.name, key, within, self.wrapped)?;
        let expected: Vec<&str> = want.iter().map(|w| w.names[0]).collect();
        if vars.len() != want.len() {
            let found: Vec<String> = vars
                .iter()
                .map(|v| v.name.clone().unwrap_or_else(|| v.path.clone()))
                .collect();
            return Err(self.file.h5.error(
                vars.first().map(|v| v.path.as_str()).unwrap_or(""),
                format!(
                    "layer '{}' ({}) needs {} weights ({}) but the file has {} ({}): missing \
                     or extra datasets",
                    self.def.name,
                    self.def.class,
                    want.len(),
                    expected.join(", "),
                    vars.len(),
                    found.join(", ")
                ),
            ));
        }
        let mut out = Vec::with_capacity(want.len());
        for (v, w) in vars.into_iter().zip(want) {
            if let Some(stored) = &v.name {
                let last = stored.rsplit('/').next().unwrap_or(stored);
                let last = last.split(':').next().unwrap_or(last);
                if !w.names.contains(&last) {
                    return Err(self.file.h5.error(
                        &v.path,
                        format!(
                            "layer '{}' ({}): expected weight '{}' here, found '{stored}'",
                            self.def.name, self.def.class, w.names[0]
                        ),
                    ));
                }
            }
            if v.array.shape != w.shape {
                return Err(self.shape_err(format!(
                    "weight '{}' ({}) has shape {:?}, expected {:?}",
                    w.names[0], v.path, v.array.shape, w.shape
                )));
            }
            if let Some((i, x)) = v
                .array
                .data
                .iter()
                .enumerate()
                .find(|(_, x)| !x.is_finite())
            {
                return Err(Error::Overflow {
                    layer: self.def.name.clone(),
                    sample: None,
                    msg: format!(
                        "weight '{}' ({}) holds a non-finite value {x} at index {i}; the model \
                         file is corrupt or its training diverged",
                        w.names[0], v.path
                    ),
                });
            }
            out.push(v.array.data);
        }
        Ok(out)
    }

    pub(super) fn out_shape(&self, shape: Vec<usize>) -> Result<Vec<usize>> {
        if shape.is_empty() || checked_len(&shape).is_none() || shape.contains(&0) {
            return Err(self.shape_err(format!("output shape {shape:?} is empty or too large")));
        }
        Ok(shape)
    }

    pub(super) fn window(
        &self,
        input: Shape3,
        k: (usize, usize),
        s: (usize, usize),
        d: (usize, usize),
        padding: Padding,
    ) -> Result<Window> {
        Window::keras(input, k, s, d, padding)
            .map_err(|e| self.shape_err(format!("input {}x{}x{}: {e}", input.h, input.w, input.c)))
    }

    /// The layer's kind and output shape from its input shapes.
    pub(super) fn build(&self, inputs: &[Vec<usize>]) -> Result<(LayerKind, Vec<usize>)> {
        let class = self.def.class.as_str();
        if let Some(reg) = &self.def.registered {
            if reg == "kerafold>PolyAct" {
                return self.build_poly(inputs);
            }
            return Err(self.unsupported(format!(
                "custom layer '{reg}' is not supported; the only custom layer kerafold knows is \
                 kerafold>PolyAct (x*x + a*x, registered with \
                 @keras.saving.register_keras_serializable(package=\"kerafold\"))"
            )));
        }
        if class == "Concatenate" {
            return self.build_concat(inputs);
        }
        if class == "Dot" {
            return Err(self.unsupported(
                "merge layer Dot is not supported; kerafold merges element-wise (Add, Subtract, \
                 Multiply, Average, Maximum, Minimum) and concatenates",
            ));
        }
        if let Some(merge) = Merge::ALL.into_iter().find(|m| m.keras_name() == class) {
            return self.build_merge(merge, inputs);
        }
        let input = match inputs {
            [one] => one.as_slice(),
            _ => {
                return Err(self.unsupported(format!(
                    "the layer has {} inputs; only the element-wise merges (Add, Subtract, \
                     Multiply, Average, Maximum, Minimum) take several tensors",
                    inputs.len()
                )))
            }
        };
        self.channels_last()?;
        self.not_quantized()?;
        match class {
            "Dense" => self.build_dense(input),
            "Embedding" => self.build_embedding(input),
            "Conv1D" | "Conv2D" => self.build_conv(input, if class == "Conv1D" { 1 } else { 2 }),
            "Conv2DTranspose" => self.build_conv_transpose(input),
            "DepthwiseConv1D" => self.build_depthwise(input, 1),
            "DepthwiseConv2D" => self.build_depthwise(input, 2),
            "SeparableConv1D" => self.build_separable(input, 1),
            "SeparableConv2D" => self.build_separable(input, 2),
            "BatchNormalization" => self.build_batchnorm(input),
            "LayerNormalization" => self.build_layer_norm(input),
            "RMSNormalization" => self.build_rms_norm(input),
            "GroupNormalization" => self.build_group_norm(input),
            "Rescaling" => self.build_rescaling(input),
            "Normalization" => self.build_normalization(input),
            "MaxPooling1D" | "MaxPooling2D" | "AveragePooling1D" | "AveragePooling2D" => self
                .build_pool(
                    input,
                    class.starts_with("Max"),
                    if class.ends_with("1D") { 1 } else { 2 },
                ),
            "GlobalAveragePooling1D"
            | "GlobalAveragePooling2D"
            | "GlobalMaxPooling1D"
            | "GlobalMaxPooling2D" => self.build_global_pool(
                input,
                class.starts_with("GlobalMax"),
                if class.ends_with("1D") { 1 } else { 2 },
            ),
            "Flatten" => Ok((
                LayerKind::Flatten,
                self.out_shape(vec![input.iter().product()])?,
            )),
            "Reshape" => self.build_reshape(input),
            "UpSampling2D" => self.build_upsampling(input),
            "UpSampling1D" => {
                let s3 = self.shape3(input, 1)?;
                let size = self.tuple("size", 1, Some((1, 2)))?.1;
                let out = self.out_shape(vec![s3.w.saturating_mul(size), s3.c])?;
                Ok((LayerKind::UpSampling { size: (1, size) }, out))
            }
            "RepeatVector" => {
                self.rank(input, 1, "a vector [features]")?;
                let n = self.tuple("n", 1, None)?.1;
                let out = self.out_shape(vec![n, input[0]])?;
                Ok((LayerKind::UpSampling { size: (1, n) }, out))
            }
            "Permute" => self.build_permute(input),
            "ZeroPadding2D" => self.build_zero_padding(input),
            "ZeroPadding1D" => self.build_edges_1d(input, "padding", false),
            "Cropping1D" => self.build_edges_1d(input, "cropping", true),
            "Cropping2D" => self.build_cropping_2d(input),
            "CenterCrop" => self.build_center_crop(input),
            "Resizing" => self.build_resizing(input),
            // identities at inference (Keras applies them only in training; augmentation
            // layers return their input unchanged outside `training=True`)
            "Dropout"
            | "SpatialDropout1D"
            | "SpatialDropout2D"
            | "SpatialDropout3D"
            | "GaussianNoise"
            | "GaussianDropout"
            | "AlphaDropout"
            | "ActivityRegularization"
            | "Identity"
            | "RandomFlip"
            | "RandomRotation"
            | "RandomZoom"
            | "RandomTranslation"
            // Keras 3's image augmentation layers beyond those: each returns its input outside
            // `training=True` (BaseImagePreprocessingLayer.transform_images), checked by the
            // augment_color fixture. RandomCrop (a crop at inference) is not one of them.
            | "RandomContrast"
            | "RandomBrightness"
            | "RandomSaturation"
            | "RandomHue"
            | "RandomColorJitter"
            | "RandomColorDegeneration"
            | "RandomSharpness"
            | "RandomGrayscale"
            | "RandomInvert"
            | "RandomPosterization"
            | "Solarization"
            | "RandomGaussianBlur"
            | "RandomErasing"
            | "RandomPerspective"
            | "RandomElasticTransform"
            | "RandAugment"
            | "AugMix"
            | "CutMix"
            | "MixUp" => Ok((LayerKind::Dropout, input.to_vec())),
            "Activation" => Ok((
                LayerKind::Activation(self.activation("activation")?),
                input.to_vec(),
            )),
            "ReLU" => self.build_relu(input),
            "ELU" => {
                let alpha = self.number("alpha")?.unwrap_or(1.0);
                Ok((
                    LayerKind::Activation(Activation::Smooth(Smooth::Elu(alpha as f32))),
                    input.to_vec(),
                ))
            }
            "LeakyReLU" => {
                let slope = match self.number("negative_slope")? {
                    Some(s) => s,
                    None => self.number("alpha")?.unwrap_or(0.3),
                };
                Ok((
                    LayerKind::Activation(Activation::LeakyRelu(slope as f32)),
                    input.to_vec(),
                ))
            }
            "Softmax" => {
                let axis = self.get("axis");
                let last = input.len() as i64;
                let ok = match axis {
                    None => true,
                    Some(Value::Array(a)) => {
                        a.len() == 1 && matches!(a[0].as_i64(), Some(x) if x == -1 || x == last)
                    }
                    Some(v) => matches!(v.as_i64(), Some(x) if x == -1 || x == last),
                };
                if !ok {
                    return Err(self.unsupported(format!(
                        "softmax over axis {} is not supported; only the last axis",
                        axis.map(|v| v.to_string()).unwrap_or_default()
                    )));
                }
                Ok((LayerKind::Activation(Activation::Softmax), input.to_vec()))
            }
            "SimpleRNN" | "GRU" | "LSTM" => self.build_recurrent(input),
            "RNN" => Err(self.unsupported(
                "the generic RNN layer (a cell given to keras.layers.RNN) is not supported; use \
                 the SimpleRNN, GRU or LSTM layer",
            )),
            "Masking" => Err(self.unsupported(
                "a Masking layer inside a wrapper is not supported; put it in the model's own \
                 layers, before the recurrent layers that read its mask",
            )),
            "InputLayer" => Err(self.unsupported("an InputLayer that is not the model input")),
            "Lambda" => Err(self.unsupported(
                "Lambda layers hold Python bytecode, which kerafold cannot run; write the \
                 operation as a supported layer (kerafold>PolyAct for x*x + a*x)",
            )),
            "PolyAct" => Err(self.unsupported(
                "a PolyAct layer that is not registered as kerafold>PolyAct; register it with \
                 @keras.saving.register_keras_serializable(package=\"kerafold\")",
            )),
            other => Err(self.unsupported(format!(
                "layer class {other} is not supported; kerafold supports {SUPPORTED}"
            ))),
        }
    }

    /// The weights `want` names and the bias of `n` values (zeros without `use_bias`).
    pub(super) fn weights_and_bias(
        &self,
        mut want: Vec<Want>,
        use_bias: bool,
        n: usize,
    ) -> Result<(Vec<Vec<f32>>, Vec<f32>)> {
        if use_bias {
            want.push(Want {
                names: &["bias"],
                shape: vec![n],
            });
        }
        let mut w = self.weights(&want)?;
        let bias = if use_bias {
            w.pop().unwrap_or_default()
        } else {
            vec![0.0; n]
        };
        Ok((w, bias))
    }

    pub(super) fn build_dense(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        let units = self.positive("units")?;
        let activation = self.activation("activation")?;
        let use_bias = self.boolean("use_bias", true)?;
        let n_in = *input.last().unwrap_or(&0);
        let (mut w, bias) = self.weights_and_bias(
            vec![Want {
                names: &["kernel"],
                shape: vec![n_in, units],
            }],
            use_bias,
            units,
        )?;
        let kernel = w.pop().unwrap_or_default();
        let mut shape = input.to_vec();
        if let Some(l) = shape.last_mut() {
            *l = units;
        }
        Ok((
            LayerKind::Dense {
                units,
                kernel,
                bias,
                activation,
            },
            self.out_shape(shape)?,
        ))
    }

    pub(super) fn build_embedding(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        self.rank(input, 1, "a sequence of token ids [length]")?;
        let vocab = self.positive("input_dim")?;
        let dim = self.positive("output_dim")?;
        if self.get("lora_rank").is_some_and(|v| !v.is_null()) {
            return Err(self.unsupported(
                "a LoRA-adapted Embedding; merge the adapter into the table before export",
            ));
        }
        let mut w = self.weights(&[Want {
            names: &["embeddings"],
            shape: vec![vocab, dim],
        }])?;
        Ok((
            LayerKind::Embedding {
                vocab,
                dim,
                table: w.pop().unwrap_or_default(),
            },
            self.out_shape(vec![input[0], dim])?,
        ))
    }

    /// SimpleRNN, GRU or LSTM over a sequence `[timesteps, features]`; Keras 3 stores the
    /// weights in the layer's `cell`.
    pub(super) fn build_recurrent(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        self.rank(input, 2, "a sequence [timesteps, features]")?;
        self.refuse_recurrent_options()?;
        let units = self.positive("units")?;
        let cell = self.recurrent_cell()?;
        let activation = self.activation_or("activation", Activation::Smooth(Smooth::Tanh))?;
        let use_bias = self.boolean("use_bias", true)?;
        let return_sequences = self.boolean("return_sequences", false)?;
        // a masked sequence's timesteps end with their token id (`mask`)
        let (steps, features) = (input[0], input[1] - usize::from(self.masked()));
        let width = cell.gates() * units;
        let bias_shape = match cell.bias_rows() {
            1 => vec![width],
            rows => vec![rows, width],
        };
        let mut want = vec![
            Want {
                names: &["kernel"],
                shape: vec![features, width],
            },
            Want {
                names: &["recurrent_kernel"],
                shape: vec![units, width],
            },
        ];
        if use_bias {
            want.push(Want {
                names: &["bias"],
                shape: bias_shape,
            });
        }
        let mut w = self.weights_within(&want, "cell")?.into_iter();
        let kernel = w.next().unwrap_or_default();
        let recurrent_kernel = w.next().unwrap_or_default();
        let bias = w
            .next()
            .unwrap_or_else(|| vec![0.0; cell.bias_rows() * width]);
        let out = if return_sequences {
            vec![steps, units]
        } else {
            vec![units]
        };
        Ok((
            LayerKind::Recurrent(Recurrent {
                cell,
                units,
                activation,
                return_sequences,
                kernel,
                recurrent_kernel,
                bias,
                masked: self.masked(),
            }),
            self.out_shape(out)?,
        ))
    }

    /// The cell of a SimpleRNN, GRU or LSTM layer, with Keras' defaults.
    fn recurrent_cell(&self) -> Result<RecurrentCell> {
        let sigmoid = Activation::Smooth(Smooth::Sigmoid);
        Ok(match self.def.class.as_str() {
            "SimpleRNN" => RecurrentCell::SimpleRnn,
            "GRU" => RecurrentCell::Gru {
                recurrent_activation: self.activation_or("recurrent_activation", sigmoid)?,
                reset_after: self.boolean("reset_after", true)?,
            },
            "LSTM" => RecurrentCell::Lstm {
                recurrent_activation: self.activation_or("recurrent_activation", sigmoid)?,
            },
            other => return Err(self.unsupported(format!("{other} is not a recurrent layer"))),
        })
    }

    /// Refuses the options that change what a recurrent layer computes and that kerafold does
    /// not follow (`unroll`, the dropouts and the initializers do not change inference).
    fn refuse_recurrent_options(&self) -> Result<()> {
        for (key, why) in [
            (
                "go_backwards",
                "go_backwards = true (the sequence read last to first) is not supported; \
                 reverse the sequence before the model and set go_backwards = False",
            ),
            (
                "stateful",
                "stateful = true (a state carried over from the previous batch) is not \
                 supported: kerafold runs every sample from a zero state; rebuild the layer \
                 with stateful = False",
            ),
            (
                "return_state",
                "return_state = true (the states as extra outputs) is not supported: kerafold \
                 supports models with one output; rebuild the layer with return_state = False",
            ),
            (
                "time_major",
                "time_major = true (the timesteps before the batch axis) is not supported; \
                 rebuild the layer with time_major = False",
            ),
        ] {
            if self.boolean(key, false)? {
                return Err(self.unsupported(why));
            }
        }
        Ok(())
    }

    /// The activation of `key`, or `default` (the layer's own Keras default) when the config
    /// does not name one; a `null` activation is linear, as in Keras.
    fn activation_or(&self, key: &str, default: Activation) -> Result<Activation> {
        if self.def.config.contains_key(key) {
            self.activation(key)
        } else {
            Ok(default)
        }
    }

    pub(super) fn groups_one(&self) -> Result<()> {
        match self.get("groups") {
            None => Ok(()),
            Some(v) if v.as_u64() == Some(1) => Ok(()),
            Some(v) => Err(self.unsupported(format!(
                "grouped convolution (groups = {v}) is not supported; use groups = 1"
            ))),
        }
    }

    /// Input as HWC (`h = 1` for 1-D layers).
    pub(super) fn shape3(&self, input: &[usize], rank: usize) -> Result<Shape3> {
        if input.contains(&0) {
            return Err(self.shape_err(format!("input shape {input:?} is empty")));
        }
        if rank == 1 {
            self.rank(input, 2, "a sequence [length, channels]")?;
            Ok(Shape3::new(1, input[0], input[1]))
        } else {
            self.rank(input, 3, "an image [height, width, channels]")?;
            Ok(Shape3::new(input[0], input[1], input[2]))
        }
    }

    pub(super) fn spatial_out(&self, win: &Window, rank: usize, c: usize) -> Result<Vec<usize>> {
        self.out_shape(if rank == 1 {
            vec![win.out_w, c]
        } else {
            vec![win.out_h, win.out_w, c]
        })
    }

    pub(super) fn build_conv(
        &self,
        input: &[usize],
        rank: usize,
    ) -> Result<(LayerKind, Vec<usize>)> {
        let s3 = self.shape3(input, rank)?;
        self.groups_one()?;
        let filters = self.positive("filters")?;
        let kernel_size = self.tuple("kernel_size", rank, None)?;
        let strides = self.tuple("strides", rank, Some((1, 1)))?;
        let dilation = self.tuple("dilation_rate", rank, Some((1, 1)))?;
        let padding = self.padding(rank == 1)?;
        let activation = self.activation("activation")?;
        let use_bias = self.boolean("use_bias", true)?;
        let win = self.window(s3, kernel_size, strides, dilation, padding)?;
        let kshape = self.kernel_shape(rank, kernel_size, vec![s3.c, filters]);
        let (mut w, bias) = self.weights_and_bias(
            vec![Want {
                names: &["kernel"],
                shape: kshape,
            }],
            use_bias,
            filters,
        )?;
        let kernel = w.pop().unwrap_or_default();
        let out = self.spatial_out(&win, rank, filters)?;
        Ok((
            LayerKind::Conv {
                rank,
                filters,
                kernel_size,
                strides,
                dilation,
                padding,
                kernel,
                bias,
                activation,
            },
            out,
        ))
    }

    /// Conv2DTranspose: `valid` or `same` padding, no dilation, no `output_padding`.
    pub(super) fn build_conv_transpose(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        let s3 = self.shape3(input, 2)?;
        let filters = self.positive("filters")?;
        let kernel_size = self.tuple("kernel_size", 2, None)?;
        let strides = self.tuple("strides", 2, Some((1, 1)))?;
        if self.tuple("dilation_rate", 2, Some((1, 1)))? != (1, 1) {
            return Err(self.unsupported(
                "a dilated transposed convolution is not supported; use dilation_rate 1",
            ));
        }
        if !matches!(self.get("output_padding"), None | Some(Value::Null)) {
            return Err(
                self.unsupported("output_padding is not supported; leave it None (Keras' default)")
            );
        }
        let padding = self.padding(false)?;
        let activation = self.activation("activation")?;
        let use_bias = self.boolean("use_bias", true)?;
        let geometry = |n, k, st| {
            transpose_geometry(n, k, st, padding).ok_or_else(|| {
                self.shape_err(format!("output of {n} inputs by stride {st} overflows"))
            })
        };
        let (oh, _) = geometry(s3.h, kernel_size.0, strides.0)?;
        let (ow, _) = geometry(s3.w, kernel_size.1, strides.1)?;
        let (mut w, bias) = self.weights_and_bias(
            vec![Want {
                names: &["kernel"],
                shape: vec![kernel_size.0, kernel_size.1, filters, s3.c],
            }],
            use_bias,
            filters,
        )?;
        let kernel = w.pop().unwrap_or_default();
        Ok((
            LayerKind::ConvTranspose {
                filters,
                kernel_size,
                strides,
                padding,
                kernel,
                bias,
                activation,
            },
            self.out_shape(vec![oh, ow, filters])?,
        ))
    }

    /// A convolution kernel's shape as Keras stores it: the spatial axes (`[k]` for `rank` 1,
    /// `[kh, kw]` for 2), then `rest`.
    fn kernel_shape(
        &self,
        rank: usize,
        kernel_size: (usize, usize),
        rest: Vec<usize>,
    ) -> Vec<usize> {
        let mut shape = if rank == 1 {
            vec![kernel_size.1]
        } else {
            vec![kernel_size.0, kernel_size.1]
        };
        shape.extend(rest);
        shape
    }

    /// DepthwiseConv1D (`rank` 1: a sequence is one row, the kernel `[k, c, mult]`) or
    /// DepthwiseConv2D.
    pub(super) fn build_depthwise(
        &self,
        input: &[usize],
        rank: usize,
    ) -> Result<(LayerKind, Vec<usize>)> {
        let s3 = self.shape3(input, rank)?;
        let mult = self.positive("depth_multiplier")?;
        let kernel_size = self.tuple("kernel_size", rank, None)?;
        let strides = self.tuple("strides", rank, Some((1, 1)))?;
        let dilation = self.tuple("dilation_rate", rank, Some((1, 1)))?;
        let padding = self.padding(rank == 1)?;
        let activation = self.activation("activation")?;
        let use_bias = self.boolean("use_bias", true)?;
        let win = self.window(s3, kernel_size, strides, dilation, padding)?;
        let c_out = s3.c * mult;
        let (mut w, bias) = self.weights_and_bias(
            vec![Want {
                names: &["kernel", "depthwise_kernel"],
                shape: self.kernel_shape(rank, kernel_size, vec![s3.c, mult]),
            }],
            use_bias,
            c_out,
        )?;
        let kernel = w.pop().unwrap_or_default();
        let out = self.spatial_out(&win, rank, c_out)?;
        Ok((
            LayerKind::DepthwiseConv2D {
                kernel_size,
                strides,
                dilation,
                padding,
                depth_multiplier: mult,
                kernel,
                bias,
                activation,
            },
            out,
        ))
    }

    /// SeparableConv1D (`rank` 1: a sequence is one row, the kernels `[k, c, mult]` and
    /// `[1, c·mult, filters]`) or SeparableConv2D.
    pub(super) fn build_separable(
        &self,
        input: &[usize],
        rank: usize,
    ) -> Result<(LayerKind, Vec<usize>)> {
        let s3 = self.shape3(input, rank)?;
        let mult = self.positive("depth_multiplier")?;
        let filters = self.positive("filters")?;
        let kernel_size = self.tuple("kernel_size", rank, None)?;
        let strides = self.tuple("strides", rank, Some((1, 1)))?;
        let dilation = self.tuple("dilation_rate", rank, Some((1, 1)))?;
        let padding = self.padding(rank == 1)?;
        let activation = self.activation("activation")?;
        let use_bias = self.boolean("use_bias", true)?;
        let win = self.window(s3, kernel_size, strides, dilation, padding)?;
        let (mut w, bias) = self.weights_and_bias(
            vec![
                Want {
                    names: &["depthwise_kernel"],
                    shape: self.kernel_shape(rank, kernel_size, vec![s3.c, mult]),
                },
                Want {
                    names: &["pointwise_kernel"],
                    shape: self.kernel_shape(rank, (1, 1), vec![s3.c * mult, filters]),
                },
            ],
            use_bias,
            filters,
        )?;
        let pointwise = w.pop().unwrap_or_default();
        let depthwise = w.pop().unwrap_or_default();
        let out = self.spatial_out(&win, rank, filters)?;
        Ok((
            LayerKind::SeparableConv2D {
                kernel_size,
                strides,
                dilation,
                padding,
                depth_multiplier: mult,
                filters,
                depthwise,
                pointwise,
                bias,
                activation,
            },
            out,
        ))
    }

    pub(super) fn build_batchnorm(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        self.last_axis_only(input, "normalization")?;
        if self.boolean("renorm", false)? {
            return Err(self.unsupported("batch renormalization (renorm=True) is not supported"));
        }
        let epsilon = self.number("epsilon")?.unwrap_or(1e-3);
        let c = *input.last().unwrap_or(&0);
        let ScaleOffset {
            gamma,
            beta,
            rest: mut w,
        } = self.gamma_beta(
            c,
            vec![
                Want {
                    names: &["moving_mean"],
                    shape: vec![c],
                },
                Want {
                    names: &["moving_variance"],
                    shape: vec![c],
                },
            ],
        )?;
        let mean = w.next().unwrap_or_default();
        let var = w.next().unwrap_or_default();
        if let Some(v) = var.iter().find(|&&v| v + (epsilon as f32) <= 0.0) {
            return Err(Error::Overflow {
                layer: self.def.name.clone(),
                sample: None,
                msg: format!("moving variance {v} plus epsilon is not positive"),
            });
        }
        Ok((
            LayerKind::BatchNorm {
                gamma,
                beta,
                mean,
                var,
                epsilon: epsilon as f32,
            },
            input.to_vec(),
        ))
    }

    /// LayerNormalization over the last axis (Keras' default): the statistics of each position's
    /// channels, then the per-channel `γ` and `β`. With `rms_scaling=True` Keras computes
    /// `γ·x/√(variance + ε)`: the variance still about the mean, and no `β`.
    pub(super) fn build_layer_norm(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        self.last_axis_only(input, "layer normalization")?;
        let rms = self.boolean("rms_scaling", false)?;
        let epsilon = self.norm_epsilon(1e-3)?;
        let c = *input.last().unwrap_or(&0);
        let (gamma, beta, kind) = if rms {
            // Keras builds no β then, whatever `center` says
            let gamma = self.channel_scale(&["gamma"], self.boolean("scale", true)?, c)?;
            (gamma, vec![0.0; c], NormKind::RmsScaling)
        } else {
            let ScaleOffset { gamma, beta, .. } = self.gamma_beta(c, vec![])?;
            (gamma, beta, NormKind::Standard)
        };
        Ok((
            LayerKind::LayerNorm {
                gamma,
                beta,
                epsilon: epsilon as f32,
                kind,
            },
            input.to_vec(),
        ))
    }

    /// RMSNormalization over the last axis (Keras' default): `x/√(mean(x²) + ε)` over each
    /// position's channels, then the per-channel `scale`.
    pub(super) fn build_rms_norm(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        self.last_axis_only(input, "RMS normalization")?;
        let epsilon = self.norm_epsilon(1e-6)?;
        let c = *input.last().unwrap_or(&0);
        Ok((
            LayerKind::LayerNorm {
                gamma: self.channel_scale(&["scale"], true, c)?,
                beta: vec![0.0; c],
                epsilon: epsilon as f32,
                kind: NormKind::Rms,
            },
            input.to_vec(),
        ))
    }

    /// GroupNormalization over the last axis (Keras' default): `groups` runs of channels, each
    /// normalized over every position (`groups = -1`: one group a channel).
    pub(super) fn build_group_norm(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        self.last_axis_only(input, "group normalization")?;
        let c = *input.last().unwrap_or(&0);
        let groups = match self.get("groups") {
            None => 32, // Keras' default
            Some(v) => match v.as_i64() {
                Some(-1) => c,
                Some(g) if g > 0 => g as usize,
                _ => {
                    return Err(self.bad_config(format!(
                        "groups {v} is neither a positive number nor -1 (a group a channel)"
                    )))
                }
            },
        };
        if !c.is_multiple_of(groups) {
            return Err(self.bad_config(format!("{groups} groups do not divide the {c} channels")));
        }
        let epsilon = self.norm_epsilon(1e-3)?;
        let ScaleOffset { gamma, beta, .. } = self.gamma_beta(c, vec![])?;
        Ok((
            LayerKind::GroupNorm {
                groups,
                gamma,
                beta,
                epsilon: epsilon as f32,
            },
            input.to_vec(),
        ))
    }

    /// A normalization's one per-channel weight `names` (all ones if the layer has none:
    /// `present` false).
    fn channel_scale(
        &self,
        names: &'static [&'static str],
        present: bool,
        c: usize,
    ) -> Result<Vec<f32>> {
        if !present {
            return Ok(vec![1.0; c]);
        }
        let w = self.weights(&[Want {
            names,
            shape: vec![c],
        }])?;
        Ok(w.into_iter().next().unwrap_or_default())
    }

    /// A normalization's `epsilon` (`default`: Keras' for the layer).
    fn norm_epsilon(&self, default: f64) -> Result<f64> {
        let epsilon = self.number("epsilon")?.unwrap_or(default);
        if !(epsilon.is_finite() && epsilon >= 0.0) {
            return Err(self.bad_config(format!("epsilon {epsilon} is not a non-negative number")));
        }
        Ok(epsilon)
    }

    /// Refuses a normalization (`what`) over another axis than the last, Keras' default (Keras
    /// counts the batch axis: the last is −1 or the rank without it).
    fn last_axis_only(&self, input: &[usize], what: &str) -> Result<()> {
        let rank = input.len() as i64;
        let last = |v: &Value| matches!(v.as_i64(), Some(a) if a == -1 || a == rank);
        let ok = match self.get("axis") {
            None => true,
            Some(Value::Array(a)) => a.len() == 1 && last(&a[0]),
            Some(v) => last(v),
        };
        if ok {
            return Ok(());
        }
        Err(self.unsupported(format!(
            "{what} over axis {} is not supported; kerafold normalizes over the last axis (the \
             channels), Keras' default",
            self.get("axis").map(Value::to_string).unwrap_or_default()
        )))
    }

    /// A normalization's `γ` (ones without `scale`) and `β` (zeros without `center`) over `c`
    /// channels, then the weights `extra` in order.
    fn gamma_beta(&self, c: usize, extra: Vec<Want>) -> Result<ScaleOffset> {
        let scale = self.boolean("scale", true)?;
        let center = self.boolean("center", true)?;
        let mut want = Vec::new();
        if scale {
            want.push(Want {
                names: &["gamma"],
                shape: vec![c],
            });
        }
        if center {
            want.push(Want {
                names: &["beta"],
                shape: vec![c],
            });
        }
        want.extend(extra);
        let mut w = self.weights(&want)?.into_iter();
        let gamma = if scale {
            w.next().unwrap_or_default()
        } else {
            vec![1.0; c]
        };
        let beta = if center {
            w.next().unwrap_or_default()
        } else {
            vec![0.0; c]
        };
        Ok(ScaleOffset {
            gamma,
            beta,
            rest: w,
        })
    }

    /// `key` of the config as one value per channel: absent gives `default`, a number or a
    /// one-element list is broadcast, a list of `c` numbers is taken as it is.
    fn per_channel(&self, key: &str, c: usize, default: f64) -> Result<Vec<f32>> {
        let values: Vec<f64> = match self.get(key) {
            None => vec![default],
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_f64().ok_or_else(|| {
                        self.bad_config(format!("'{key}' holds {v}, which is not a number"))
                    })
                })
                .collect::<Result<_>>()?,
            Some(v) => vec![v
                .as_f64()
                .ok_or_else(|| self.bad_config(format!("'{key}' = {v} is not a number")))?],
        };
        match values.len() {
            1 => Ok(vec![values[0] as f32; c]),
            n if n == c => Ok(values.iter().map(|&v| v as f32).collect()),
            n => Err(self.unsupported(format!(
                "'{key}' has {n} values; kerafold supports one, or one per channel of the last \
                 axis ({c})"
            ))),
        }
        .and_then(|v| match v.iter().find(|x| !x.is_finite()) {
            Some(x) => Err(self.bad_config(format!("'{key}' holds {x}"))),
            None => Ok(v),
        })
    }

    /// Rescaling (`x·scale + offset`, e.g. `1/255` for pixels): a per-channel affine map, kept
    /// as a batch normalization of zero mean and unit variance.
    pub(super) fn build_rescaling(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        let c = *input.last().unwrap_or(&1);
        let gamma = self.per_channel("scale", c, 1.0)?;
        let beta = self.per_channel("offset", c, 0.0)?;
        Ok((
            LayerKind::BatchNorm {
                gamma,
                beta,
                mean: vec![0.0; c],
                var: vec![1.0; c],
                epsilon: 0.0,
            },
            input.to_vec(),
        ))
    }

    /// Normalization over the last axis: `(x − mean) / max(√variance, 1e-7)` (Keras'), with
    /// the statistics of `adapt` (its weights `mean`, `variance`, `count`) or of its config;
    /// a batch normalization of unit scale.
    pub(super) fn build_normalization(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        let c = *input.last().unwrap_or(&1);
        self.last_axis_only(input, "normalization")?;
        if self.boolean("invert", false)? {
            return Err(self.unsupported(
                "invert=True (denormalization) is not supported; only normalization",
            ));
        }
        let (mean, var) = if self.get("mean").is_some() || self.get("variance").is_some() {
            (
                self.per_channel("mean", c, 0.0)?,
                self.per_channel("variance", c, 1.0)?,
            )
        } else {
            let mut w = self
                .weights(&[
                    Want {
                        names: &["mean"],
                        shape: vec![c],
                    },
                    Want {
                        names: &["variance"],
                        shape: vec![c],
                    },
                    Want {
                        names: &["count"],
                        shape: vec![],
                    },
                ])?
                .into_iter();
            (w.next().unwrap_or_default(), w.next().unwrap_or_default())
        };
        if let Some(v) = var.iter().find(|&&v| v < 0.0) {
            return Err(Error::Overflow {
                layer: self.def.name.clone(),
                sample: None,
                msg: format!("variance {v} is negative"),
            });
        }
        // Keras divides by max(√variance, ε), ε = 1e-7 (keras.config.epsilon())
        let var = var.iter().map(|&v| v.sqrt().max(1e-7).powi(2)).collect();
        Ok((
            LayerKind::BatchNorm {
                gamma: vec![1.0; c],
                beta: vec![0.0; c],
                mean,
                var,
                epsilon: 0.0,
            },
            input.to_vec(),
        ))
    }

    pub(super) fn build_pool(
        &self,
        input: &[usize],
        max: bool,
        rank: usize,
    ) -> Result<(LayerKind, Vec<usize>)> {
        let s3 = self.shape3(input, rank)?;
        let pool = self.tuple(
            "pool_size",
            rank,
            Some(if rank == 1 { (1, 2) } else { (2, 2) }),
        )?;
        let strides = self.tuple("strides", rank, Some(pool))?;
        let padding = self.padding(false)?;
        let win = self.window(s3, pool, strides, (1, 1), padding)?;
        let out = self.spatial_out(&win, rank, s3.c)?;
        Ok((
            LayerKind::Pool {
                max,
                rank,
                pool,
                strides,
                padding,
            },
            out,
        ))
    }

    pub(super) fn build_global_pool(
        &self,
        input: &[usize],
        max: bool,
        rank: usize,
    ) -> Result<(LayerKind, Vec<usize>)> {
        let s3 = self.shape3(input, rank)?;
        let keepdims = self.boolean("keepdims", false)?;
        let out = match (keepdims, rank) {
            (false, _) => vec![s3.c],
            (true, 1) => vec![1, s3.c],
            (true, _) => vec![1, 1, s3.c],
        };
        Ok((LayerKind::GlobalPool { max, rank }, out))
    }

    pub(super) fn build_reshape(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        let target = self
            .get("target_shape")
            .and_then(Value::as_array)
            .ok_or_else(|| self.bad_config("missing 'target_shape'"))?;
        let n: usize = input.iter().product();
        let mut dims: Vec<Option<usize>> = Vec::new();
        for v in target {
            match v.as_i64() {
                Some(-1) => dims.push(None),
                Some(d) if d > 0 => dims.push(Some(d as usize)),
                _ => return Err(self.bad_config(format!("target_shape entry {v} is not valid"))),
            }
        }
        let unknown = dims.iter().filter(|d| d.is_none()).count();
        let known = dims
            .iter()
            .flatten()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| self.shape_err("target shape too large"))?;
        let fill = match unknown {
            0 => None,
            1 if known > 0 && n.is_multiple_of(known) => Some(n / known),
            _ => {
                return Err(self.shape_err(format!(
                    "cannot reshape {input:?} ({n} values) to {}",
                    Value::Array(target.clone())
                )))
            }
        };
        let shape: Vec<usize> = dims.iter().map(|d| d.or(fill).unwrap_or(0)).collect();
        if shape.iter().product::<usize>() != n {
            return Err(self.shape_err(format!(
                "cannot reshape {input:?} ({n} values) to {shape:?}"
            )));
        }
        let shape = self.out_shape(shape)?;
        Ok((
            LayerKind::Reshape {
                target: shape.clone(),
            },
            shape,
        ))
    }

    pub(super) fn build_upsampling(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        let s3 = self.shape3(input, 2)?;
        let size = self.tuple("size", 2, Some((2, 2)))?;
        match self.string("interpolation")? {
            None | Some("nearest") => {}
            Some(other) => {
                return Err(self.unsupported(format!(
                    "interpolation '{other}' is not supported; only 'nearest'"
                )))
            }
        }
        let out = self.out_shape(vec![
            s3.h.saturating_mul(size.0),
            s3.w.saturating_mul(size.1),
            s3.c,
        ])?;
        Ok((LayerKind::UpSampling { size }, out))
    }

    /// Permute(dims) of a sequence or an image: `dims` a permutation of 1..=rank.
    pub(super) fn build_permute(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        let v = self.get("dims").cloned().unwrap_or(Value::Null);
        let dims: Vec<usize> = match &v {
            Value::Array(a) => a
                .iter()
                .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
                .collect::<Option<_>>()
                .ok_or_else(|| self.bad_config(format!("'dims' = {v} is not a list of axes")))?,
            _ => return Err(self.bad_config(format!("'dims' = {v} is not a list of axes"))),
        };
        if !(2..=3).contains(&input.len()) {
            return Err(self.unsupported(format!(
                "Permute of a rank-{} tensor {input:?}; kerafold permutes sequences \
                 [length, channels] and images [height, width, channels]",
                input.len()
            )));
        }
        let mut sorted = dims.clone();
        sorted.sort_unstable();
        if sorted != (1..=input.len()).collect::<Vec<_>>() {
            return Err(self.bad_config(format!(
                "'dims' = {v} is not a permutation of the axes 1..={} of {input:?}",
                input.len()
            )));
        }
        let out = self.out_shape(dims.iter().map(|&d| input[d - 1]).collect())?;
        Ok((LayerKind::Permute { dims }, out))
    }

    pub(super) fn build_zero_padding(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        let s3 = self.shape3(input, 2)?;
        let v = self.get("padding").cloned().unwrap_or(Value::from(1));
        let bad = || self.bad_config(format!("'padding' = {v} is not valid"));
        let num = |x: &Value| {
            x.as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|&n| n <= MAX_ELEMS)
        };
        let (top, bottom, left, right) = match &v {
            Value::Array(a) if a.len() == 2 => {
                let axis = |x: &Value| -> Option<(usize, usize)> {
                    match x {
                        Value::Array(p) if p.len() == 2 => Some((num(&p[0])?, num(&p[1])?)),
                        _ => num(x).map(|n| (n, n)),
                    }
                };
                let (t, b) = axis(&a[0]).ok_or_else(bad)?;
                let (l, r) = axis(&a[1]).ok_or_else(bad)?;
                (t, b, l, r)
            }
            x => {
                let n = num(x).ok_or_else(bad)?;
                (n, n, n, n)
            }
        };
        let out = self.out_shape(vec![s3.h + top + bottom, s3.w + left + right, s3.c])?;
        Ok((
            LayerKind::ZeroPadding2D {
                top,
                bottom,
                left,
                right,
            },
            out,
        ))
    }

    /// A non-negative count of rows or columns in `key`'s value `x`.
    fn edge(&self, key: &str, x: &Value) -> Result<usize> {
        x.as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n <= MAX_ELEMS)
            .ok_or_else(|| self.bad_config(format!("'{key}' holds {x}, not a count")))
    }

    /// `(before, after)` from a count (both) or a pair.
    fn edge_pair(&self, key: &str, v: &Value) -> Result<(usize, usize)> {
        match v {
            Value::Array(p) if p.len() == 2 => Ok((self.edge(key, &p[0])?, self.edge(key, &p[1])?)),
            Value::Array(_) => Err(self.bad_config(format!("'{key}' = {v} is not a pair"))),
            x => {
                let n = self.edge(key, x)?;
                Ok((n, n))
            }
        }
    }

    /// ZeroPadding1D (`padding`) or Cropping1D (`cropping`) of a sequence `[length, channels]`:
    /// `(before, after)` along the length.
    pub(super) fn build_edges_1d(
        &self,
        input: &[usize],
        key: &str,
        crop: bool,
    ) -> Result<(LayerKind, Vec<usize>)> {
        let s3 = self.shape3(input, 1)?;
        // Keras' defaults: ZeroPadding1D(padding=1), Cropping1D(cropping=(1, 1))
        let v = self.get(key).cloned().unwrap_or(Value::from(1));
        let (left, right) = self.edge_pair(key, &v)?;
        if crop {
            if left.saturating_add(right) >= s3.w {
                return Err(self.shape_err(format!(
                    "cropping {left} + {right} of a sequence of length {} leaves nothing",
                    s3.w
                )));
            }
            let out = self.out_shape(vec![s3.w - left - right, s3.c])?;
            return Ok((
                LayerKind::Cropping {
                    top: 0,
                    bottom: 0,
                    left,
                    right,
                },
                out,
            ));
        }
        let out = self.out_shape(vec![s3.w + left + right, s3.c])?;
        Ok((
            LayerKind::ZeroPadding2D {
                top: 0,
                bottom: 0,
                left,
                right,
            },
            out,
        ))
    }

    /// Cropping2D: `cropping` a count, `(rows, columns)` (each cropped on both sides) or
    /// `((top, bottom), (left, right))`.
    pub(super) fn build_cropping_2d(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        let s3 = self.shape3(input, 2)?;
        let v = self.get("cropping").cloned().unwrap_or(Value::from(0));
        let ((top, bottom), (left, right)) = match &v {
            Value::Array(a) if a.len() == 2 => (
                self.edge_pair("cropping", &a[0])?,
                self.edge_pair("cropping", &a[1])?,
            ),
            Value::Array(_) => {
                return Err(self.bad_config(format!("'cropping' = {v} is not valid")))
            }
            x => {
                let n = self.edge("cropping", x)?;
                ((n, n), (n, n))
            }
        };
        self.crop(s3, top, bottom, left, right)
    }

    /// CenterCrop to `height` × `width`: the margins split as Keras does (the smaller half
    /// before). A target larger than the input makes Keras resize instead: not supported.
    /// Resizing with `nearest` interpolation (a constant gather, exact); the interpolating
    /// modes compute new values and are refused.
    pub(super) fn build_resizing(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        let s3 = self.shape3(input, 2)?;
        let (height, width) = (self.positive("height")?, self.positive("width")?);
        match self.string("interpolation")?.unwrap_or("bilinear") {
            "nearest" => {}
            other => {
                return Err(self.unsupported(format!(
                    "Resizing with '{other}' interpolation is not supported; kerafold proves \
                     'nearest' (a constant gather)"
                )))
            }
        }
        for key in ["crop_to_aspect_ratio", "pad_to_aspect_ratio"] {
            if self.boolean(key, false)? {
                return Err(self.unsupported(format!("Resizing with {key} is not supported")));
            }
        }
        let out = self.out_shape(vec![height, width, s3.c])?;
        Ok((LayerKind::Resize { height, width }, out))
    }

    pub(super) fn build_center_crop(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        let s3 = self.shape3(input, 2)?;
        let (height, width) = (self.positive("height")?, self.positive("width")?);
        if height > s3.h || width > s3.w {
            return Err(self.unsupported(format!(
                "CenterCrop to {height}×{width} of a {}×{} input resizes it (the target is \
                 larger); kerafold supports CenterCrop to at most the input's size",
                s3.h, s3.w
            )));
        }
        let (dh, dw) = (s3.h - height, s3.w - width);
        self.crop(s3, dh / 2, dh - dh / 2, dw / 2, dw - dw / 2)
    }

    fn crop(
        &self,
        s3: Shape3,
        top: usize,
        bottom: usize,
        left: usize,
        right: usize,
    ) -> Result<(LayerKind, Vec<usize>)> {
        if top.saturating_add(bottom) >= s3.h || left.saturating_add(right) >= s3.w {
            return Err(self.shape_err(format!(
                "cropping {top}, {bottom} rows and {left}, {right} columns of a {}×{} input \
                 leaves nothing",
                s3.h, s3.w
            )));
        }
        let out = self.out_shape(vec![s3.h - top - bottom, s3.w - left - right, s3.c])?;
        Ok((
            LayerKind::Cropping {
                top,
                bottom,
                left,
                right,
            },
            out,
        ))
    }

    pub(super) fn build_relu(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        let max = self.number("max_value")?;
        let slope = self.number("negative_slope")?.unwrap_or(0.0);
        let threshold = self.number("threshold")?.unwrap_or(0.0);
        if threshold != 0.0 {
            return Err(self.unsupported(format!(
                "ReLU with threshold {threshold} is not supported; only threshold 0"
            )));
        }
        let act = match max {
            None if slope == 0.0 => Activation::Relu,
            Some(m) if slope == 0.0 && m > 0.0 => Activation::ReluMax(m as f32),
            None if slope > 0.0 => Activation::LeakyRelu(slope as f32),
            _ => {
                return Err(self.unsupported(format!(
                    "ReLU with max_value {max:?} and negative_slope {slope} is not supported; \
                     use either a positive max_value or a positive negative_slope"
                )))
            }
        };
        Ok((LayerKind::Activation(act), input.to_vec()))
    }

    pub(super) fn build_poly(&self, inputs: &[Vec<usize>]) -> Result<(LayerKind, Vec<usize>)> {
        let input = match inputs {
            [one] => one,
            _ => return Err(self.unsupported("PolyAct takes exactly one input")),
        };
        let a = self
            .number("a")?
            .ok_or_else(|| self.bad_config("missing 'a' (PolyAct computes x*x + a*x)"))?;
        Ok((
            LayerKind::Activation(Activation::Poly(a as f32)),
            input.clone(),
        ))
    }

    pub(super) fn build_merge(
        &self,
        merge: Merge,
        inputs: &[Vec<usize>],
    ) -> Result<(LayerKind, Vec<usize>)> {
        let name = merge.keras_name();
        if inputs.len() < 2 {
            return Err(self.unsupported(format!(
                "{name} with {} input(s); it needs two or more",
                inputs.len()
            )));
        }
        if merge == Merge::Subtract && inputs.len() != 2 {
            return Err(self.unsupported(format!(
                "Subtract with {} inputs; it takes exactly two",
                inputs.len()
            )));
        }
        if inputs.iter().any(|s| s != &inputs[0]) {
            return Err(self.shape_err(format!(
                "inputs of different shapes {inputs:?} (broadcasting is not supported)"
            )));
        }
        Ok((LayerKind::Merge(merge), inputs[0].clone()))
    }

    pub(super) fn build_concat(&self, inputs: &[Vec<usize>]) -> Result<(LayerKind, Vec<usize>)> {
        let [first, rest @ ..] = inputs else {
            return Err(self.unsupported("Concatenate without inputs"));
        };
        if rest.is_empty() {
            return Err(self.unsupported("Concatenate of one input; it needs two or more"));
        }
        let rank = first.len() as i64;
        // Keras counts the batch axis as 0
        let raw = match self.get("axis") {
            None => -1,
            Some(v) => v
                .as_i64()
                .ok_or_else(|| self.bad_config(format!("axis {v} is not an integer")))?,
        };
        let axis = if raw < 0 { rank + raw } else { raw - 1 };
        if !(0..rank).contains(&axis) {
            return Err(self.unsupported(format!(
                "Concatenate along axis {raw} of inputs of rank {} (with the batch axis): only \
                 the axes of one sample",
                rank + 1
            )));
        }
        let axis = axis as usize;
        let mut out = first.clone();
        for s in rest {
            let off_axis = |v: &[usize]| {
                let mut v = v.to_vec();
                v.remove(axis);
                v
            };
            if s.len() != first.len() || off_axis(s) != off_axis(first) {
                return Err(self.shape_err(format!(
                    "inputs of shapes {inputs:?} differ off the concatenated axis {raw}"
                )));
            }
            out[axis] += s[axis];
        }
        Ok((LayerKind::Concatenate { axis }, out))
    }
}

/// A Keras activation name → [`Activation`] (`None` if kerafold does not support it).
pub(super) fn activation_by_name(name: &str) -> Option<Activation> {
    Some(match name {
        "linear" => Activation::Linear,
        "relu" => Activation::Relu,
        "relu6" => Activation::ReluMax(6.0),
        // Keras 3's default slope for the "leaky_relu" activation string.
        "leaky_relu" => Activation::LeakyRelu(0.2),
        "softmax" => Activation::Softmax,
        "log_softmax" => Activation::LogSoftmax,
        "sigmoid" => Activation::Smooth(Smooth::Sigmoid),
        "tanh" => Activation::Smooth(Smooth::Tanh),
        "hard_sigmoid" => Activation::Smooth(Smooth::HardSigmoid),
        "hard_silu" | "hard_swish" => Activation::Smooth(Smooth::HardSilu),
        "silu" | "swish" => Activation::Smooth(Smooth::Silu),
        "softplus" => Activation::Smooth(Smooth::Softplus),
        "softsign" => Activation::Smooth(Smooth::Softsign),
        "elu" => Activation::Smooth(Smooth::Elu(1.0)),
        "selu" => Activation::Smooth(Smooth::Selu),
        "gelu" => Activation::Smooth(Smooth::Gelu),
        "exponential" => Activation::Smooth(Smooth::Exponential),
        "mish" => Activation::Smooth(Smooth::Mish),
        "log_sigmoid" => Activation::Smooth(Smooth::LogSigmoid),
        "tanh_shrink" => Activation::Smooth(Smooth::TanhShrink),
        "squareplus" => Activation::Smooth(Smooth::Squareplus),
        "sparse_plus" => Activation::Smooth(Smooth::SparsePlus),
        "sparse_sigmoid" => Activation::Smooth(Smooth::SparseSigmoid),
        "hard_tanh" => Activation::Smooth(Smooth::HardTanh),
        "hard_shrink" => Activation::Smooth(Smooth::HardShrink),
        "soft_shrink" => Activation::Smooth(Smooth::SoftShrink),
        // Keras' celu, `max(x, 0) + α·expm1(min(x, 0) / α)` with its default α = 1, is elu.
        "celu" => Activation::Smooth(Smooth::Elu(1.0)),
        _ => return None,
    })
}
