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

use kerafold_step_circuits::spec::{Shape3, Window};
use serde_json::{Map, Value};

use super::float::activation_of;
use super::graph::{Activation, Graph, LayerKind, Node, Padding, Src};
use super::hdf5::{looks_like_hdf5, Array, H5File};
use crate::error::{Error, Result};

/// Largest number of values a tensor may have (guards against absurd configs; a model that
/// kerafold can prove is far smaller).
pub(crate) const MAX_ELEMS: usize = kerafold_step_circuits::spec::MAX_LEN;

/// Largest size a `.keras` archive member may inflate to (a model kerafold can prove has far
/// smaller weights; this bounds what a small, highly compressed file can make us allocate).
const MAX_MEMBER: u64 = 1 << 28;

/// The layer classes kerafold imports, for error messages.
const SUPPORTED: &str = "InputLayer, Dense, Conv1D, Conv2D, DepthwiseConv2D, SeparableConv2D, \
BatchNormalization, MaxPooling1D/2D, AveragePooling1D/2D, GlobalAveragePooling1D/2D, \
GlobalMaxPooling1D/2D, Flatten, Reshape, UpSampling2D, ZeroPadding2D, Dropout, Activation, ReLU, \
LeakyReLU, Softmax, Add and the custom layer kerafold>PolyAct";

/// The activation functions kerafold supports, for error messages.
const SUPPORTED_ACTIVATIONS: &str = "linear, relu, relu6, leaky_relu and softmax (the last \
operation only), plus the custom layer kerafold>PolyAct for x*x + a*x";

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

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

/// How layer weights are laid out in the HDF5 file.
enum Layout {
    /// Keras 3 `model.weights.h5`: layer name → group holding `vars/0, 1, ...`.
    V3 {
        by_name: HashMap<String, String>,
        root: String,
    },
    /// Legacy `.h5`: `model_weights/<layer>` with a `weight_names` attribute.
    Legacy,
}

/// An opened model file: its architecture and its weights.
struct ModelFile {
    config: Value,
    h5: H5File,
    layout: Layout,
}

fn open_keras_zip(path: &Path, bytes: Vec<u8>) -> Result<ModelFile> {
    let zip_err = |e: zip::result::ZipError| {
        Error::format(
            path,
            format!("not a valid .keras zip archive (truncated or corrupt?): {e}"),
        )
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_err)?;
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.map(|s| s.to_string()))
        .collect::<Result<_, _>>()
        .map_err(zip_err)?;
    if names.iter().any(|n| n == "model.weights.npz") {
        return Err(Error::format(
            path,
            "weights are stored as model.weights.npz; kerafold reads HDF5 weights, save with the \
             default weights format",
        ));
    }
    if names.iter().any(|n| n.starts_with("assets/")) {
        return Err(Error::format(
            path,
            "the archive has an assets/ folder (lookup or text-processing layers), which \
             kerafold does not support",
        ));
    }
    if !names.iter().any(|n| n == "model.weights.h5") {
        let sharded = names
            .iter()
            .any(|n| n.ends_with(".weights.json") || n.ends_with(".weights.h5"));
        let msg = if sharded {
            format!(
                "weights are sharded ({}); save the model in one file",
                names.join(", ")
            )
        } else {
            format!(
                "missing model.weights.h5 in the .keras archive (it holds: {})",
                names.join(", ")
            )
        };
        return Err(Error::format(path, msg));
    }
    if !names.iter().any(|n| n == "config.json") {
        return Err(Error::format(
            path,
            "missing config.json in the .keras archive",
        ));
    }
    let read_member =
        |archive: &mut zip::ZipArchive<Cursor<Vec<u8>>>, name: &str| -> Result<Vec<u8>> {
            let mut f = archive.by_name(name).map_err(|e| {
                Error::format(
                    path,
                    format!("cannot open {name} in the .keras archive: {e}"),
                )
            })?;
            // A small archive can inflate to gigabytes: read at most MAX_MEMBER bytes.
            let mut buf = Vec::new();
            (&mut f)
                .take(MAX_MEMBER + 1)
                .read_to_end(&mut buf)
                .map_err(|e| {
                    Error::format(
                        path,
                        format!(
                        "cannot read {name} from the .keras archive (truncated or corrupt?): {e}"
                    ),
                    )
                })?;
            if buf.len() as u64 > MAX_MEMBER {
                return Err(Error::format(
                    path,
                    format!(
                        "{name} in the .keras archive inflates to more than {} MiB",
                        MAX_MEMBER >> 20
                    ),
                ));
            }
            Ok(buf)
        };
    let config_bytes = read_member(&mut archive, "config.json")?;
    let weights = read_member(&mut archive, "model.weights.h5")?;
    open_keras_parts(path, &config_bytes, weights)
}

/// The members of a `.keras` archive, read: `config.json` and `model.weights.h5`.
fn open_keras_parts(path: &Path, config_bytes: &[u8], weights: Vec<u8>) -> Result<ModelFile> {
    let config: Value = serde_json::from_slice(config_bytes)
        .map_err(|e| Error::format(path, format!("config.json is not valid JSON: {e}")))?;
    let h5 = H5File::from_bytes(weights, path, "model.weights.h5")?;
    let root = if h5.is_group("layers") {
        "layers".to_string()
    } else if h5.is_group("_layer_checkpoint_dependencies") {
        "_layer_checkpoint_dependencies".to_string()
    } else {
        "layers".to_string()
    };
    let mut by_name = HashMap::new();
    if h5.is_group(&root) {
        for key in h5.groups(&root)? {
            let vars = format!("{root}/{key}/vars");
            if h5.is_group(&vars) {
                if let Some(name) = h5.attr_string(&vars, "name")? {
                    by_name.insert(name, format!("{root}/{key}"));
                }
            }
        }
    }
    Ok(ModelFile {
        config,
        h5,
        layout: Layout::V3 { by_name, root },
    })
}

fn open_legacy_h5(path: &Path, bytes: Vec<u8>) -> Result<ModelFile> {
    let h5 = H5File::from_bytes(bytes, path, "")?;
    let config =
        match h5.attr_string("/", "model_config")? {
            Some(s) => s,
            None => return Err(Error::format(
                path,
                "HDF5 file without a model_config attribute: this looks like a weights-only file \
                 (save_weights); save the whole model with model.save(\"model.keras\")",
            )),
        };
    let config: Value = serde_json::from_str(&config)
        .map_err(|e| Error::format(path, format!("model_config is not valid JSON: {e}")))?;
    if !h5.is_group("model_weights") {
        return Err(h5.error(
            "model_weights",
            "missing group (no weights in this .h5 file)",
        ));
    }
    Ok(ModelFile {
        config,
        h5,
        layout: Layout::Legacy,
    })
}

/// One stored variable of a layer.
struct Var {
    /// The stored name (legacy `.h5` only), e.g. `conv1/kernel:0`.
    name: Option<String>,
    /// Dataset path, for messages.
    path: String,
    array: Array,
}

impl ModelFile {
    /// The variables of `layer` in Keras' order. `key` is the group key of Keras' counter rule,
    /// used when the `.keras` weights carry no layer names.
    fn layer_vars(&self, layer: &str, key: &str) -> Result<Vec<Var>> {
        match &self.layout {
            Layout::V3 { by_name, root } => {
                let group = match by_name.get(layer) {
                    Some(g) => g.clone(),
                    None if by_name.is_empty() => format!("{root}/{key}"),
                    None => {
                        return Err(self.h5.error(
                            root,
                            format!(
                                "no weights group for layer '{layer}' (no vars group named so)"
                            ),
                        ))
                    }
                };
                let vars = format!("{group}/vars");
                if !self.h5.is_group(&vars) {
                    return Err(self
                        .h5
                        .error(&vars, format!("missing group (weights of layer '{layer}')")));
                }
                let mut idx = Vec::new();
                for n in self.h5.datasets(&vars)? {
                    let i: usize = n.parse().map_err(|_| {
                        self.h5.error(
                            &vars,
                            format!("unexpected dataset '{n}' (expected 0, 1, ...)"),
                        )
                    })?;
                    idx.push(i);
                }
                idx.sort_unstable();
                let mut out = Vec::new();
                for (pos, i) in idx.into_iter().enumerate() {
                    if i != pos {
                        return Err(self.h5.error(&vars, format!("missing dataset {pos}")));
                    }
                    let p = format!("{vars}/{i}");
                    let array = self.h5.read_f32(&p)?;
                    out.push(Var {
                        name: None,
                        path: p,
                        array,
                    });
                }
                Ok(out)
            }
            Layout::Legacy => {
                let group = format!("model_weights/{layer}");
                if !self.h5.is_group(&group) {
                    return Err(self.h5.error(
                        &group,
                        format!("missing group (weights of layer '{layer}')"),
                    ));
                }
                let names = self
                    .h5
                    .attr_strings(&group, "weight_names")?
                    .ok_or_else(|| self.h5.error(&group, "missing attribute 'weight_names'"))?;
                let mut out = Vec::new();
                for n in names {
                    let p = format!("{group}/{n}");
                    let array = self.h5.read_f32(&p)?;
                    out.push(Var {
                        name: Some(n),
                        path: p,
                        array,
                    });
                }
                Ok(out)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Architecture
// ---------------------------------------------------------------------------------------------

/// One layer entry of the model config.
struct LayerDef {
    name: String,
    /// Class name without a registration package (`PolyAct` for `kerafold>PolyAct`).
    class: String,
    /// `package>Class` of a custom (registered) layer.
    registered: Option<String>,
    config: Map<String, Value>,
    /// Producer layer names (Functional models).
    inbound: Vec<String>,
    /// Group key in `model.weights.h5` by Keras' counter rule (`None` for a Sequential model's
    /// InputLayer, which is not in `model.layers`).
    key: Option<String>,
}

/// Keras' `to_snake_case`: drop non-word characters, then `_` before a capitalised word and
/// between a lower-case letter and a capital.
fn snake_case(name: &str) -> String {
    let s: Vec<char> = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    // re.sub("(.)([A-Z][a-z]+)", r"\1_\2")
    let mut a = Vec::with_capacity(s.len() + 4);
    let mut i = 0;
    while i < s.len() {
        if i + 2 < s.len() && s[i + 1].is_ascii_uppercase() && s[i + 2].is_ascii_lowercase() {
            a.push(s[i]);
            a.push('_');
            a.push(s[i + 1]);
            let mut j = i + 2;
            while j < s.len() && s[j].is_ascii_lowercase() {
                a.push(s[j]);
                j += 1;
            }
            i = j;
        } else {
            a.push(s[i]);
            i += 1;
        }
    }
    // re.sub("([a-z])([A-Z])", r"\1_\2")
    let mut b = String::with_capacity(a.len() + 4);
    let mut i = 0;
    while i < a.len() {
        if i + 1 < a.len() && a[i].is_ascii_lowercase() && a[i + 1].is_ascii_uppercase() {
            b.push(a[i]);
            b.push('_');
            b.push(a[i + 1]);
            i += 2;
        } else {
            b.push(a[i]);
            i += 1;
        }
    }
    b.to_lowercase()
}

/// Assigns Keras' weight-group keys (`conv2d`, `conv2d_1`, ...) over `model.layers`.
fn assign_keys(defs: &mut [LayerDef], sequential: bool) {
    let mut used: HashMap<String, usize> = HashMap::new();
    for d in defs.iter_mut() {
        if sequential && d.class == "InputLayer" {
            continue;
        }
        let base = snake_case(&d.class);
        let key = match used.get_mut(&base) {
            Some(n) => {
                *n += 1;
                format!("{base}_{n}")
            }
            None => {
                used.insert(base.clone(), 0);
                base
            }
        };
        d.key = Some(key);
    }
}

fn fmt_err(path: &Path, msg: impl Into<String>) -> Error {
    Error::format(path, msg)
}

/// Collects the producer names of the `__keras_tensor__` objects in a Keras 3 call's args.
fn collect_tensors(v: &Value, out: &mut Vec<(String, u64, u64)>) {
    match v {
        Value::Array(items) => items.iter().for_each(|x| collect_tensors(x, out)),
        Value::Object(o) => {
            if o.get("class_name").and_then(Value::as_str) == Some("__keras_tensor__") {
                if let Some(h) = o
                    .get("config")
                    .and_then(|c| c.get("keras_history"))
                    .and_then(Value::as_array)
                {
                    if let Some(name) = h.first().and_then(Value::as_str) {
                        let node = h.get(1).and_then(Value::as_u64).unwrap_or(0);
                        let tensor = h.get(2).and_then(Value::as_u64).unwrap_or(0);
                        out.push((name.to_string(), node, tensor));
                    }
                }
            } else {
                o.values().for_each(|x| collect_tensors(x, out));
            }
        }
        _ => {}
    }
}

/// Reads the layer entries of a model config.
fn parse_layer(path: &Path, v: &Value, functional: bool) -> Result<LayerDef> {
    let o = v
        .as_object()
        .ok_or_else(|| fmt_err(path, "model config: a layer entry is not an object"))?;
    let raw_class = o
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| fmt_err(path, "model config: a layer has no class_name"))?;
    let config = o
        .get("config")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| {
            fmt_err(
                path,
                format!("model config: layer of class {raw_class} has no config"),
            )
        })?;
    let name = o
        .get("name")
        .and_then(Value::as_str)
        .or_else(|| config.get("name").and_then(Value::as_str))
        .ok_or_else(|| {
            fmt_err(
                path,
                format!("model config: a {raw_class} layer has no name"),
            )
        })?
        .to_string();
    let mut registered = o
        .get("registered_name")
        .and_then(Value::as_str)
        .filter(|r| r.contains('>'))
        .map(str::to_string);
    let class = match raw_class.rsplit_once('>') {
        Some((_, c)) => {
            registered.get_or_insert_with(|| raw_class.to_string());
            c.to_string()
        }
        None => raw_class.to_string(),
    };
    let mut inbound = Vec::new();
    if functional {
        let nodes = o.get("inbound_nodes").and_then(Value::as_array);
        let nodes = nodes.map(Vec::as_slice).unwrap_or(&[]);
        if nodes.len() > 1 {
            return Err(Error::Unsupported {
                layer: name,
                class,
                msg: "the layer is called more than once (shared layers); kerafold needs each \
                      layer applied once"
                    .into(),
            });
        }
        let mut tensors = Vec::new();
        if let Some(node) = nodes.first() {
            match node {
                // Keras 3: {"args": [...], "kwargs": {...}}
                Value::Object(call) => {
                    if let Some(args) = call.get("args") {
                        collect_tensors(args, &mut tensors);
                    }
                }
                // Keras 2: [["layer", node_index, tensor_index, {kwargs}], ...]
                Value::Array(items) => {
                    for it in items {
                        let t = it.as_array().and_then(|t| {
                            Some((
                                t.first()?.as_str()?.to_string(),
                                t.get(1).and_then(Value::as_u64).unwrap_or(0),
                                t.get(2).and_then(Value::as_u64).unwrap_or(0),
                            ))
                        });
                        match t {
                            Some(t) => tensors.push(t),
                            None => {
                                return Err(fmt_err(
                                    path,
                                    format!(
                                        "model config: layer '{name}' has a malformed inbound node"
                                    ),
                                ))
                            }
                        }
                    }
                }
                _ => {
                    return Err(fmt_err(
                        path,
                        format!("model config: layer '{name}' has a malformed inbound node"),
                    ))
                }
            }
        }
        for (producer, node, tensor) in tensors {
            if node != 0 || tensor != 0 {
                return Err(Error::Unsupported {
                    layer: name,
                    class,
                    msg: format!(
                        "its input is output {tensor} of call {node} of layer '{producer}' \
                         (shared or multi-output layers are not supported)"
                    ),
                });
            }
            inbound.push(producer);
        }
    }
    Ok(LayerDef {
        name,
        class,
        registered,
        config,
        inbound,
        key: None,
    })
}

/// `["name", 0, 0]` or `[["name", 0, 0], ...]` → the layer names.
fn io_layers(path: &Path, v: Option<&Value>, what: &str) -> Result<Vec<String>> {
    let bad = || fmt_err(path, format!("model config: malformed {what}"));
    let arr = v.and_then(Value::as_array).ok_or_else(bad)?;
    if arr.first().map(Value::is_string).unwrap_or(false) {
        return Ok(vec![arr[0].as_str().unwrap_or_default().to_string()]);
    }
    arr.iter()
        .map(|t| {
            t.as_array()
                .and_then(|t| t.first())
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(bad)
        })
        .collect()
}

/// The input shape (without batch axis) from an InputLayer or a first layer's config.
fn shape_from_config(path: &Path, layer: &LayerDef, v: &Value) -> Result<Vec<usize>> {
    let arr = v.as_array().ok_or_else(|| {
        fmt_err(
            path,
            format!("layer '{}': malformed input shape", layer.name),
        )
    })?;
    let mut shape = Vec::new();
    for d in arr.iter().skip(1) {
        match d.as_u64() {
            Some(n) if n > 0 => shape.push(n as usize),
            _ => {
                return Err(Error::Unsupported {
                    layer: layer.name.clone(),
                    class: layer.class.clone(),
                    msg: format!(
                        "the input shape {v} has an unknown or zero dimension; kerafold needs a \
                         fixed input shape (e.g. keras.Input((28, 28, 1)))"
                    ),
                })
            }
        }
    }
    Ok(shape)
}

fn input_shape_of(path: &Path, layer: &LayerDef) -> Option<Result<Vec<usize>>> {
    for key in ["batch_shape", "batch_input_shape"] {
        if let Some(v) = layer.config.get(key).filter(|v| !v.is_null()) {
            return Some(shape_from_config(path, layer, v));
        }
    }
    None
}

fn build_graph(path: &Path, file: &ModelFile) -> Result<Graph> {
    let top = file
        .config
        .as_object()
        .ok_or_else(|| fmt_err(path, "model config is not a JSON object"))?;
    let model_class = top
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| fmt_err(path, "model config has no class_name"))?;
    let mcfg = top
        .get("config")
        .and_then(Value::as_object)
        .ok_or_else(|| fmt_err(path, "model config has no config object"))?;
    let model_name = mcfg
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("model")
        .to_string();
    let functional = match model_class {
        "Sequential" => false,
        "Functional" | "Model" => true,
        other => {
            return Err(Error::Unsupported {
                layer: model_name,
                class: other.to_string(),
                msg: "only Sequential and Functional models can be imported (subclassed models \
                      have no architecture in the file)"
                    .into(),
            })
        }
    };
    let layers = mcfg
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| fmt_err(path, "model config has no layer list"))?;
    let mut defs = layers
        .iter()
        .map(|l| parse_layer(path, l, functional))
        .collect::<Result<Vec<_>>>()?;
    assign_keys(&mut defs, !functional);
    for d in &defs {
        if matches!(d.class.as_str(), "Sequential" | "Functional" | "Model") {
            return Err(Error::Unsupported {
                layer: d.name.clone(),
                class: d.class.clone(),
                msg: "nested models are not supported; rebuild the model as one flat \
                      Sequential or Functional model"
                    .into(),
            });
        }
    }

    // Order of evaluation and input shape.
    let Plan {
        input_shape,
        order,
        sources,
    } = if functional {
        let inputs = io_layers(path, mcfg.get("input_layers"), "input_layers")?;
        let outputs = io_layers(path, mcfg.get("output_layers"), "output_layers")?;
        if inputs.len() != 1 {
            return Err(Error::Unsupported {
                layer: model_name,
                class: model_class.to_string(),
                msg: format!(
                    "the model has {} inputs ({}); kerafold supports exactly one",
                    inputs.len(),
                    inputs.join(", ")
                ),
            });
        }
        if outputs.len() != 1 {
            return Err(Error::Unsupported {
                layer: model_name,
                class: model_class.to_string(),
                msg: format!(
                    "the model has {} outputs ({}); kerafold supports exactly one",
                    outputs.len(),
                    outputs.join(", ")
                ),
            });
        }
        functional_order(path, &defs, &inputs[0], &outputs[0])?
    } else {
        let mut shape = None;
        let mut order = Vec::new();
        let mut sources = Vec::new();
        for (i, d) in defs.iter().enumerate() {
            if d.class == "InputLayer" {
                if shape.is_none() && order.is_empty() {
                    shape = input_shape_of(path, d).transpose()?;
                    continue;
                }
                return Err(Error::Unsupported {
                    layer: d.name.clone(),
                    class: d.class.clone(),
                    msg: "an InputLayer in the middle of a Sequential model".into(),
                });
            }
            if shape.is_none() && order.is_empty() {
                shape = input_shape_of(path, d).transpose()?;
            }
            sources.push(vec![match order.last() {
                None => Src::Input,
                Some(_) => Src::Node(order.len() - 1),
            }]);
            order.push(i);
        }
        if shape.is_none() {
            if let Some(v) = mcfg.get("build_input_shape").filter(|v| !v.is_null()) {
                let probe = defs
                    .first()
                    .ok_or_else(|| fmt_err(path, "model has no layers"))?;
                shape = Some(shape_from_config(path, probe, v)?);
            }
        }
        let shape = shape
            .ok_or_else(|| fmt_err(path, "the model config does not record the input shape"))?;
        Plan {
            input_shape: shape,
            order,
            sources,
        }
    };
    if order.is_empty() {
        return Err(fmt_err(path, "the model has no layers besides its input"));
    }
    if input_shape.is_empty() || input_shape.len() > 3 {
        return Err(Error::Unsupported {
            layer: model_name,
            class: model_class.to_string(),
            msg: format!(
                "input shape {input_shape:?}: kerafold supports vectors [n], sequences [len, c] \
                 and images [h, w, c]"
            ),
        });
    }
    checked_len(&input_shape).ok_or_else(|| Error::Shape {
        context: format!("model '{model_name}'"),
        msg: format!("input shape {input_shape:?} is too large"),
    })?;

    let mut graph = Graph {
        name: model_name,
        input_shape,
        nodes: Vec::with_capacity(order.len()),
    };
    for (&i, srcs) in order.iter().zip(sources) {
        let d = &defs[i];
        let shapes: Vec<Vec<usize>> = srcs.iter().map(|&s| graph.shape_of(s).to_vec()).collect();
        let ctx = Ctx { path, file, def: d };
        let (kind, output_shape) = ctx.build(&shapes)?;
        graph.nodes.push(Node {
            name: d.name.clone(),
            class_name: d.class.clone(),
            kind,
            inputs: srcs,
            output_shape,
        });
    }
    // Softmax only as the last operation.
    let last = graph.nodes.len() - 1;
    for (i, n) in graph.nodes.iter().enumerate() {
        if i != last && activation_of(&n.kind) == Some(&Activation::Softmax) {
            return Err(Error::Unsupported {
                layer: n.name.clone(),
                class: n.class_name.clone(),
                msg: "softmax is supported only as the model's last operation".into(),
            });
        }
    }
    Ok(graph)
}

/// The input shape, the layers to evaluate (indices into the config's layer list) in order, and
/// each one's sources.
struct Plan {
    input_shape: Vec<usize>,
    order: Vec<usize>,
    sources: Vec<Vec<Src>>,
}

/// Topological order of a Functional model's layers that reach the output (depth-first,
/// iterative), with each layer's sources.
fn functional_order(path: &Path, defs: &[LayerDef], input: &str, output: &str) -> Result<Plan> {
    let index: HashMap<&str, usize> = defs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.as_str(), i))
        .collect();
    let find = |name: &str| {
        index.get(name).copied().ok_or_else(|| {
            fmt_err(
                path,
                format!("model config refers to an unknown layer '{name}'"),
            )
        })
    };
    let input_idx = find(input)?;
    let input_def = &defs[input_idx];
    if input_def.class != "InputLayer" {
        return Err(fmt_err(
            path,
            format!("model input '{input}' is not an InputLayer"),
        ));
    }
    let shape = input_shape_of(path, input_def)
        .ok_or_else(|| fmt_err(path, format!("InputLayer '{input}' has no shape")))??;

    // state: 0 = new, 1 = on the stack, 2 = done
    let mut state = vec![0u8; defs.len()];
    let mut pos: Vec<Option<usize>> = vec![None; defs.len()];
    let mut order = Vec::new();
    let mut stack = vec![(find(output)?, false)];
    while let Some((i, expanded)) = stack.pop() {
        let d = &defs[i];
        if i == input_idx {
            state[i] = 2;
            continue;
        }
        if d.class == "InputLayer" {
            return Err(Error::Unsupported {
                layer: d.name.clone(),
                class: d.class.clone(),
                msg: "a second model input; kerafold supports exactly one".into(),
            });
        }
        if expanded {
            state[i] = 2;
            pos[i] = Some(order.len());
            order.push(i);
            continue;
        }
        match state[i] {
            2 => continue,
            1 => {
                return Err(fmt_err(
                    path,
                    format!("model config has a cycle through layer '{}'", d.name),
                ))
            }
            _ => {}
        }
        if d.inbound.is_empty() {
            return Err(fmt_err(path, format!("layer '{}' has no inputs", d.name)));
        }
        state[i] = 1;
        stack.push((i, true));
        for p in d.inbound.iter().rev() {
            let j = find(p)?;
            match state[j] {
                2 => {}
                1 => {
                    return Err(fmt_err(
                        path,
                        format!("model config has a cycle through layer '{p}'"),
                    ))
                }
                _ => stack.push((j, false)),
            }
        }
    }
    let mut sources = Vec::with_capacity(order.len());
    for &i in &order {
        let mut srcs = Vec::new();
        for p in &defs[i].inbound {
            let j = find(p)?;
            srcs.push(if j == input_idx {
                Src::Input
            } else {
                Src::Node(pos[j].ok_or_else(|| {
                    fmt_err(path, format!("layer '{p}' is used before it is computed"))
                })?)
            });
        }
        sources.push(srcs);
    }
    Ok(Plan {
        input_shape: shape,
        order,
        sources,
    })
}

fn checked_len(shape: &[usize]) -> Option<usize> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMS)
}

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------

/// Building one layer: its config, its weights, its output shape.
struct Ctx<'a> {
    path: &'a Path,
    file: &'a ModelFile,
    def: &'a LayerDef,
}

/// A weight a layer expects: accepted stored names and shape.
struct Want {
    names: &'static [&'static str],
    shape: Vec<usize>,
}

impl Ctx<'_> {
    fn unsupported(&self, msg: impl Into<String>) -> Error {
        Error::Unsupported {
            layer: self.def.name.clone(),
            class: self.def.class.clone(),
            msg: msg.into(),
        }
    }
    fn bad_config(&self, msg: impl std::fmt::Display) -> Error {
        Error::format(
            self.path,
            format!("layer '{}' ({}): {msg}", self.def.name, self.def.class),
        )
    }
    fn shape_err(&self, msg: impl Into<String>) -> Error {
        Error::Shape {
            context: format!("layer '{}' ({})", self.def.name, self.def.class),
            msg: msg.into(),
        }
    }
    fn get(&self, key: &str) -> Option<&Value> {
        self.def.config.get(key).filter(|v| !v.is_null())
    }
    fn usize_of(&self, key: &str, v: &Value) -> Result<usize> {
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
    fn uint(&self, key: &str) -> Result<usize> {
        let v = self
            .get(key)
            .ok_or_else(|| self.bad_config(format!("missing '{key}'")))?;
        self.usize_of(key, v)
    }
    fn positive(&self, key: &str) -> Result<usize> {
        let n = self.uint(key)?;
        if n == 0 {
            return Err(self.bad_config(format!("'{key}' must be positive")));
        }
        Ok(n)
    }
    /// An int or a list of `rank` ints (`rank` = 1 or 2), as `(1, k)` or `(kh, kw)`.
    fn tuple(
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
    fn boolean(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.bad_config(format!("'{key}' = {v} is not a boolean"))),
        }
    }
    fn number(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.bad_config(format!("'{key}' = {v} is not a number"))),
        }
    }
    fn string(&self, key: &str) -> Result<Option<&str>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| self.bad_config(format!("'{key}' = {v} is not a string"))),
        }
    }
    fn padding(&self) -> Result<Padding> {
        match self.string("padding")?.unwrap_or("valid") {
            "valid" => Ok(Padding::Valid),
            "same" => Ok(Padding::Same),
            "causal" => Err(self.unsupported(
                "padding 'causal' is not supported; use 'valid' or 'same' (or pad explicitly)",
            )),
            other => Err(self.unsupported(format!(
                "padding '{other}' is not supported; use 'valid' or 'same'"
            ))),
        }
    }
    fn channels_last(&self) -> Result<()> {
        match self.string("data_format")? {
            None | Some("channels_last") => Ok(()),
            Some(other) => Err(self.unsupported(format!(
                "data_format '{other}' is not supported; kerafold needs channels_last (the Keras \
                 default)"
            ))),
        }
    }
    fn not_quantized(&self) -> Result<()> {
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
    fn rank(&self, input: &[usize], rank: usize, what: &str) -> Result<()> {
        if input.len() != rank {
            return Err(self.shape_err(format!(
                "input shape {input:?}: expected {what} (rank {rank} without the batch axis)"
            )));
        }
        Ok(())
    }
    fn activation(&self, key: &str) -> Result<Activation> {
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
    fn weights(&self, want: &[Want]) -> Result<Vec<Vec<f32>>> {
        let key = self.def.key.as_deref().unwrap_or("");
        let vars = self.file.layer_vars(&self.def.name, key)?;
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

    fn out_shape(&self, shape: Vec<usize>) -> Result<Vec<usize>> {
        if shape.is_empty() || checked_len(&shape).is_none() || shape.contains(&0) {
            return Err(self.shape_err(format!("output shape {shape:?} is empty or too large")));
        }
        Ok(shape)
    }

    fn window(
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
    fn build(&self, inputs: &[Vec<usize>]) -> Result<(LayerKind, Vec<usize>)> {
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
        match class {
            "Add" => return self.build_add(inputs),
            "Concatenate" | "Multiply" | "Subtract" | "Average" | "Maximum" | "Minimum" | "Dot" => {
                return Err(self.unsupported(format!(
                    "merge layer {class} is not supported; the only merge kerafold supports is Add"
                )))
            }
            _ => {}
        }
        let input = match inputs {
            [one] => one.as_slice(),
            _ => {
                return Err(self.unsupported(format!(
                    "the layer has {} inputs; only Add merges several tensors",
                    inputs.len()
                )))
            }
        };
        self.channels_last()?;
        self.not_quantized()?;
        match class {
            "Dense" => self.build_dense(input),
            "Conv1D" | "Conv2D" => self.build_conv(input, if class == "Conv1D" { 1 } else { 2 }),
            "DepthwiseConv2D" => self.build_depthwise(input),
            "SeparableConv2D" => self.build_separable(input),
            "BatchNormalization" => self.build_batchnorm(input),
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
            "ZeroPadding2D" => self.build_zero_padding(input),
            "Dropout" | "SpatialDropout1D" | "SpatialDropout2D" | "GaussianNoise"
            | "GaussianDropout" | "AlphaDropout" => Ok((LayerKind::Dropout, input.to_vec())),
            "Activation" => Ok((
                LayerKind::Activation(self.activation("activation")?),
                input.to_vec(),
            )),
            "ReLU" => self.build_relu(input),
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

    fn bias_or_zeros(&self, use_bias: bool, w: &mut Vec<Vec<f32>>, n: usize) -> Vec<f32> {
        if use_bias {
            w.pop().unwrap_or_default()
        } else {
            vec![0.0; n]
        }
    }

    fn build_dense(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        let units = self.positive("units")?;
        let activation = self.activation("activation")?;
        let use_bias = self.boolean("use_bias", true)?;
        let n_in = *input.last().unwrap_or(&0);
        let mut want = vec![Want {
            names: &["kernel"],
            shape: vec![n_in, units],
        }];
        if use_bias {
            want.push(Want {
                names: &["bias"],
                shape: vec![units],
            });
        }
        let mut w = self.weights(&want)?;
        let bias = self.bias_or_zeros(use_bias, &mut w, units);
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

    fn groups_one(&self) -> Result<()> {
        match self.get("groups") {
            None => Ok(()),
            Some(v) if v.as_u64() == Some(1) => Ok(()),
            Some(v) => Err(self.unsupported(format!(
                "grouped convolution (groups = {v}) is not supported; use groups = 1"
            ))),
        }
    }

    /// Input as HWC (`h = 1` for 1-D layers).
    fn shape3(&self, input: &[usize], rank: usize) -> Result<Shape3> {
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

    fn spatial_out(&self, win: &Window, rank: usize, c: usize) -> Result<Vec<usize>> {
        self.out_shape(if rank == 1 {
            vec![win.out_w, c]
        } else {
            vec![win.out_h, win.out_w, c]
        })
    }

    fn build_conv(&self, input: &[usize], rank: usize) -> Result<(LayerKind, Vec<usize>)> {
        let s3 = self.shape3(input, rank)?;
        self.groups_one()?;
        let filters = self.positive("filters")?;
        let kernel_size = self.tuple("kernel_size", rank, None)?;
        let strides = self.tuple("strides", rank, Some((1, 1)))?;
        let dilation = self.tuple("dilation_rate", rank, Some((1, 1)))?;
        let padding = self.padding()?;
        let activation = self.activation("activation")?;
        let use_bias = self.boolean("use_bias", true)?;
        let win = self.window(s3, kernel_size, strides, dilation, padding)?;
        let kshape = if rank == 1 {
            vec![kernel_size.1, s3.c, filters]
        } else {
            vec![kernel_size.0, kernel_size.1, s3.c, filters]
        };
        let mut want = vec![Want {
            names: &["kernel"],
            shape: kshape,
        }];
        if use_bias {
            want.push(Want {
                names: &["bias"],
                shape: vec![filters],
            });
        }
        let mut w = self.weights(&want)?;
        let bias = self.bias_or_zeros(use_bias, &mut w, filters);
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

    fn build_depthwise(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        let s3 = self.shape3(input, 2)?;
        let mult = self.positive("depth_multiplier")?;
        let kernel_size = self.tuple("kernel_size", 2, None)?;
        let strides = self.tuple("strides", 2, Some((1, 1)))?;
        let dilation = self.tuple("dilation_rate", 2, Some((1, 1)))?;
        let padding = self.padding()?;
        let activation = self.activation("activation")?;
        let use_bias = self.boolean("use_bias", true)?;
        let win = self.window(s3, kernel_size, strides, dilation, padding)?;
        let c_out = s3.c * mult;
        let mut want = vec![Want {
            names: &["kernel", "depthwise_kernel"],
            shape: vec![kernel_size.0, kernel_size.1, s3.c, mult],
        }];
        if use_bias {
            want.push(Want {
                names: &["bias"],
                shape: vec![c_out],
            });
        }
        let mut w = self.weights(&want)?;
        let bias = self.bias_or_zeros(use_bias, &mut w, c_out);
        let kernel = w.pop().unwrap_or_default();
        let out = self.spatial_out(&win, 2, c_out)?;
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

    fn build_separable(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        let s3 = self.shape3(input, 2)?;
        let mult = self.positive("depth_multiplier")?;
        let filters = self.positive("filters")?;
        let kernel_size = self.tuple("kernel_size", 2, None)?;
        let strides = self.tuple("strides", 2, Some((1, 1)))?;
        let dilation = self.tuple("dilation_rate", 2, Some((1, 1)))?;
        let padding = self.padding()?;
        let activation = self.activation("activation")?;
        let use_bias = self.boolean("use_bias", true)?;
        let win = self.window(s3, kernel_size, strides, dilation, padding)?;
        let mut want = vec![
            Want {
                names: &["depthwise_kernel"],
                shape: vec![kernel_size.0, kernel_size.1, s3.c, mult],
            },
            Want {
                names: &["pointwise_kernel"],
                shape: vec![1, 1, s3.c * mult, filters],
            },
        ];
        if use_bias {
            want.push(Want {
                names: &["bias"],
                shape: vec![filters],
            });
        }
        let mut w = self.weights(&want)?;
        let bias = self.bias_or_zeros(use_bias, &mut w, filters);
        let pointwise = w.pop().unwrap_or_default();
        let depthwise = w.pop().unwrap_or_default();
        let out = self.spatial_out(&win, 2, filters)?;
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

    fn build_batchnorm(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
        let rank = input.len() as i64;
        let axis_ok = |v: &Value| matches!(v.as_i64(), Some(x) if x == -1 || x == rank);
        let ok = match self.get("axis") {
            None => true,
            Some(Value::Array(a)) => a.len() == 1 && axis_ok(&a[0]),
            Some(v) => axis_ok(v),
        };
        if !ok {
            return Err(self.unsupported(format!(
                "normalization over axis {} is not supported; kerafold normalizes the last \
                 (channel) axis",
                self.get("axis").map(|v| v.to_string()).unwrap_or_default()
            )));
        }
        if self.boolean("renorm", false)? {
            return Err(self.unsupported("batch renormalization (renorm=True) is not supported"));
        }
        let center = self.boolean("center", true)?;
        let scale = self.boolean("scale", true)?;
        let epsilon = self.number("epsilon")?.unwrap_or(1e-3);
        let c = *input.last().unwrap_or(&0);
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
        want.push(Want {
            names: &["moving_mean"],
            shape: vec![c],
        });
        want.push(Want {
            names: &["moving_variance"],
            shape: vec![c],
        });
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

    fn build_pool(
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
        let padding = self.padding()?;
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

    fn build_global_pool(
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

    fn build_reshape(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
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

    fn build_upsampling(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
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
        Ok((LayerKind::UpSampling2D { size }, out))
    }

    fn build_zero_padding(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
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

    fn build_relu(&self, input: &[usize]) -> Result<(LayerKind, Vec<usize>)> {
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

    fn build_poly(&self, inputs: &[Vec<usize>]) -> Result<(LayerKind, Vec<usize>)> {
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

    fn build_add(&self, inputs: &[Vec<usize>]) -> Result<(LayerKind, Vec<usize>)> {
        if inputs.len() < 2 {
            return Err(self.unsupported(format!(
                "Add with {} input(s); it needs two or more",
                inputs.len()
            )));
        }
        if inputs.iter().any(|s| s != &inputs[0]) {
            return Err(self.shape_err(format!(
                "inputs of different shapes {inputs:?} (broadcasting is not supported)"
            )));
        }
        Ok((LayerKind::Add, inputs[0].clone()))
    }
}

/// A Keras activation name → [`Activation`] (`None` if kerafold does not support it).
fn activation_by_name(name: &str) -> Option<Activation> {
    Some(match name {
        "linear" => Activation::Linear,
        "relu" => Activation::Relu,
        "relu6" => Activation::ReluMax(6.0),
        // Keras 3's default slope for the "leaky_relu" activation string.
        "leaky_relu" => Activation::LeakyRelu(0.2),
        "softmax" => Activation::Softmax,
        _ => return None,
    })
}

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
            ("DepthwiseConv2D", "depthwise_conv2d"),
            ("SeparableConv2D", "separable_conv2d"),
            ("GlobalAveragePooling2D", "global_average_pooling2d"),
            ("UpSampling2D", "up_sampling2d"),
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

    /// Without `vars@name` (tf_keras files), weights are found by the counter rule.
    #[test]
    fn loads_by_counter_rule_without_names() {
        let path = fixture("residual.keras");
        let mut file = open_keras_zip(&path, std::fs::read(&path).unwrap()).unwrap();
        let with_names = build_graph(&path, &file).unwrap();
        if let Layout::V3 { by_name, .. } = &mut file.layout {
            by_name.clear();
        }
        let without = build_graph(&path, &file).unwrap();
        assert_eq!(with_names, without);
    }
}
