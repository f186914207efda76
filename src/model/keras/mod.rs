//! Keras model import: `.keras` (Keras 3 zip) and legacy `.h5` files into a [`Graph`].
//!
//! * `.keras` is a zip holding `config.json` (the architecture) and `model.weights.h5` (the
//!   weights, one group `layers/<key>/vars` per layer with datasets `0, 1, ...`). A group is
//!   matched to its layer by its `name` attribute when present, else by Keras' rule: the
//!   snake_case class name plus a counter over `model.layers`.
//! * Legacy `.h5` holds the architecture in the root attribute `model_config` and the weights
//!   in `model_weights/<layer name>/`, listed by each group's `weight_names` attribute.
//!
//! Sequential and Functional models with one input and one output are supported, with the
//! layers of [`LayerKind`]. Anything else is an [`Error::Unsupported`] that names the layer,
//! its class and what to do instead. Weights are checked for shape and finiteness; every output
//! shape is inferred with Keras' rules.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::Path;

use kerafold_step_circuits::spec::{NormKind, Shape3, Window};
use serde_json::{Map, Value};

use super::float::activation_of;
use super::graph::{
    transpose_geometry, Activation, Graph, LayerKind, Merge, Node, Padding, Recurrent,
    RecurrentCell, Smooth, Src,
};
use super::hdf5::{looks_like_hdf5, Array, H5File};
use crate::error::{Error, Result};

/// Largest number of values a tensor may have (guards against absurd configs; a model that
/// kerafold can prove is far smaller).
pub(crate) const MAX_ELEMS: usize = kerafold_step_circuits::spec::MAX_LEN;

/// Largest size a `.keras` archive member may inflate to (a model kerafold can prove has far
/// smaller weights; this bounds what a small, highly compressed file can make us allocate).
const MAX_MEMBER: u64 = 1 << 28;

/// The layer classes kerafold imports, for error messages.
const SUPPORTED: &str = "InputLayer, Dense, Embedding, Conv1D (also causal), Conv2D, Conv2DTranspose, DepthwiseConv1D/2D, SeparableConv1D/2D, \
BatchNormalization, LayerNormalization, GroupNormalization, Rescaling, Normalization, MaxPooling1D/2D, AveragePooling1D/2D, GlobalAveragePooling1D/2D, \
GlobalMaxPooling1D/2D, Flatten, Reshape, Permute, RepeatVector, UpSampling1D/2D, ZeroPadding1D/2D, Cropping1D/2D, CenterCrop, Resizing (nearest), Dropout, Activation, ReLU, \
the identities at inference (Dropout, SpatialDropout, GaussianNoise, GaussianDropout, AlphaDropout, \
ActivityRegularization, Identity, and the augmentation layers RandomFlip, RandomRotation, RandomZoom, \
RandomTranslation, RandomContrast, RandomBrightness, RandomSaturation, RandomHue, RandomColorJitter, \
RandomColorDegeneration, RandomSharpness, RandomGrayscale, RandomInvert, RandomPosterization, Solarization, \
RandomGaussianBlur, RandomErasing, RandomPerspective, RandomElasticTransform, RandAugment, AugMix, CutMix, MixUp), \
ELU, LeakyReLU, PReLU, Softmax, Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, the custom layer kerafold>PolyAct, \
SimpleRNN, GRU and LSTM, and Bidirectional wrappers of them, with Masking (integer mask values) before them";

/// The activation functions kerafold supports, for error messages.
const SUPPORTED_ACTIVATIONS: &str = "linear, relu, relu6, leaky_relu, softmax and log_softmax (the \
last operation only), and as piecewise-linear approximations sigmoid, tanh, hard_sigmoid, hard_silu, \
silu, softplus, softsign, elu, celu, selu, gelu, exponential, mish, log_sigmoid, tanh_shrink, \
squareplus, sparse_plus, sparse_sigmoid, hard_tanh, hard_shrink and soft_shrink; plus the custom layer kerafold>PolyAct \
for x*x + a*x";

/// Loads a Keras model (`.keras` or legacy `.h5`, told apart by content) into a [`Graph`].
pub fn load(path: &Path) -> Result<Graph> {
    if path.is_dir() {
        return Err(Error::format(
            path,
            "is a directory: unzipped .keras folders are not supported, save the model with \
             model.save(\"model.keras\") (zipped)",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    load_bytes(bytes, path)
}

/// [`load`] of a `.keras` archive given by its two members, the bytes of `config.json` and of
/// `model.weights.h5`: what [`load_bytes`] does once it has unzipped them. For fuzzing the model
/// config without the zip layer (whose CRC check rejects most mutated configs).
pub fn load_keras_parts(config_json: &[u8], weights_h5: Vec<u8>, origin: &Path) -> Result<Graph> {
    let file = open_keras_parts(origin, config_json, weights_h5)?;
    build_graph(origin, &file)
}

/// [`load`] from the bytes of a model file; `origin` only names the file in errors. This is the
/// parser itself (`load` reads the file and calls it), so that it can be fuzzed without a file
/// system.
pub fn load_bytes(bytes: Vec<u8>, origin: &Path) -> Result<Graph> {
    let path = origin;
    let file = if bytes.starts_with(b"PK") {
        open_keras_zip(path, bytes)?
    } else if looks_like_hdf5(&bytes) {
        open_legacy_h5(path, bytes)?
    } else {
        return Err(Error::format(
            path,
            "neither a .keras file (zip) nor a legacy Keras .h5 file (HDF5); save the model with \
             model.save(\"model.keras\")",
        ));
    };
    build_graph(path, &file)
}

mod bidirectional;
mod config;
mod container;
mod layers;
mod mask;
mod parts;
mod prelu;
mod topology;

use config::*;
use container::*;
use layers::*;
use mask::*;
use parts::*;
use topology::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_matches_keras() {
        for (class, key) in [
            ("Conv2D", "conv2d"),
            ("BatchNormalization", "batch_normalization"),
            ("ReLU", "re_lu"),
            ("LeakyReLU", "leaky_re_lu"),
            ("PReLU", "p_re_lu"),
            ("DepthwiseConv2D", "depthwise_conv2d"),
            ("SeparableConv2D", "separable_conv2d"),
            ("GlobalAveragePooling2D", "global_average_pooling2d"),
            ("UpSampling2D", "up_sampling2d"),
            ("UpSampling1D", "up_sampling1d"),
            ("RepeatVector", "repeat_vector"),
            ("ZeroPadding2D", "zero_padding2d"),
            ("PolyAct", "poly_act"),
            ("InputLayer", "input_layer"),
            ("Dense", "dense"),
            ("Conv1D", "conv1d"),
            ("MaxPooling1D", "max_pooling1d"),
        ] {
            assert_eq!(snake_case(class), key, "{class}");
        }
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    /// The `vars@name` mapping and Keras' counter rule agree on every fixture, so the fallback
    /// for files without names (tf_keras) is right.
    #[test]
    fn counter_rule_agrees_with_vars_names() {
        for name in [
            "mlp",
            "cnn",
            "residual",
            "depthwise",
            "conv1d",
            "conv1d_gmp",
            "upsample",
            "strided",
            "deep_mlp",
            "poly",
            "rnn",
            "gru",
            "lstm_seq",
        ] {
            let path = fixture(&format!("{name}.keras"));
            let file = open_keras_zip(&path, std::fs::read(&path).unwrap()).unwrap();
            let top = file.config.as_object().unwrap();
            let functional = top["class_name"] != "Sequential";
            let layers = top["config"]["layers"].as_array().unwrap();
            let mut defs: Vec<LayerDef> = layers
                .iter()
                .map(|l| parse_layer(&path, l, functional).unwrap())
                .collect();
            assign_keys(&mut defs, !functional);
            let Layout::V3 { by_name, .. } = &file.layout else {
                panic!("not v3")
            };
            let mut checked = 0;
            for d in &defs {
                if let Some(key) = &d.key {
                    assert_eq!(
                        by_name[&d.name],
                        format!("layers/{key}"),
                        "{name}: {}",
                        d.name
                    );
                    checked += 1;
                }
            }
            assert_eq!(checked, by_name.len(), "{name}");
        }
    }

    /// Without `vars@name` (tf_keras files), weights are found by the counter rule (a
    /// recurrent layer's in its `cell`).
    #[test]
    fn loads_by_counter_rule_without_names() {
        for name in ["residual", "gru"] {
            let path = fixture(&format!("{name}.keras"));
            let mut file = open_keras_zip(&path, std::fs::read(&path).unwrap()).unwrap();
            let with_names = build_graph(&path, &file).unwrap();
            if let Layout::V3 { by_name, .. } = &mut file.layout {
                by_name.clear();
            }
            let without = build_graph(&path, &file).unwrap();
            assert_eq!(with_names, without, "{name}");
        }
    }
}
