//! The model config: one [`LayerDef`] per layer entry, with Keras' weight-group keys.

use super::*;

/// One layer entry of the model config.
#[derive(Clone)]
pub(super) struct LayerDef {
    pub(super) name: String,
    /// Class name without a registration package (`PolyAct` for `kerafold>PolyAct`).
    pub(super) class: String,
    /// `package>Class` of a custom (registered) layer.
    pub(super) registered: Option<String>,
    pub(super) config: Map<String, Value>,
    /// Producer layer names (Functional models).
    pub(super) inbound: Vec<String>,
    /// The producer of the tensor passed as the call's `mask` argument (Keras 3 Functional
    /// models record an Embedding's mask that way: `mask`).
    pub(super) mask_from: Option<String>,
    /// The call's positional arguments as saved (Keras 3), tensors and constants.
    pub(super) call_args: Vec<Value>,
    /// Group key in `model.weights.h5` by Keras' counter rule (`None` for a Sequential model's
    /// InputLayer, which is not in `model.layers`).
    pub(super) key: Option<String>,
    /// The input shape Keras built the layer for (`build_config.input_shape`, Keras 3), with
    /// the batch axis; a list of shapes for a layer of several inputs.
    pub(super) built_for: Option<Value>,
}

/// Keras' `to_snake_case`: drop non-word characters, then `_` before a capitalised word and
/// between a lower-case letter and a capital.
pub(super) fn snake_case(name: &str) -> String {
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
pub(super) fn assign_keys(defs: &mut [LayerDef], sequential: bool) {
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

pub(super) fn fmt_err(path: &Path, msg: impl Into<String>) -> Error {
    Error::format(path, msg)
}

/// Collects the producer names of the `__keras_tensor__` objects in a Keras 3 call's args.
pub(super) fn collect_tensors(v: &Value, out: &mut Vec<(String, u64, u64)>) {
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

/// Collects the tensors of a Keras 2 call's keyword arguments: `["layer", node, tensor]` lists,
/// anywhere in the value.
fn collect_keras2_tensors(v: &Value, out: &mut Vec<(String, u64, u64)>) {
    match v {
        Value::Array(items) => match items.as_slice() {
            [Value::String(name), node, tensor, ..] if node.is_u64() && tensor.is_u64() => out
                .push((
                    name.clone(),
                    node.as_u64().unwrap_or(0),
                    tensor.as_u64().unwrap_or(0),
                )),
            _ => items.iter().for_each(|x| collect_keras2_tensors(x, out)),
        },
        Value::Object(o) => o.values().for_each(|x| collect_keras2_tensors(x, out)),
        _ => {}
    }
}

/// One keyword argument of a layer's call (`key` = `v`, the tensors in it `given`), as either
/// format saves it. A mask from one layer is followed (`mask_from`); any other tensor argument,
/// and `training=True` (Keras then runs the layer as in training even at inference: random
/// dropout or augmentation, batch statistics), is refused. Other constants do not change what
/// the layer computes at inference.
fn follow_kwarg(
    name: &str,
    class: &str,
    key: &str,
    v: &Value,
    given: &[(String, u64, u64)],
    mask_from: &mut Option<String>,
) -> Result<()> {
    let refuse = |msg: String| Error::Unsupported {
        layer: name.to_string(),
        class: class.to_string(),
        msg,
    };
    match (key, given) {
        ("training", []) if v.as_bool() == Some(true) => Err(refuse(
            "is called with training=True, so Keras runs it as in training even at inference \
             (random dropout or augmentation, batch statistics), which no proof of one fixed \
             function can follow; call it without `training` and save the model again"
                .into(),
        )),
        (_, []) => Ok(()),
        ("mask", [(producer, 0, 0)]) => {
            *mask_from = Some(producer.clone());
            Ok(())
        }
        (_, [(producer, ..), ..]) => Err(refuse(format!(
            "takes the output of '{producer}' as its '{key}' argument, which kerafold does not \
             follow"
        ))),
    }
}

/// Reads the layer entries of a model config.
pub(super) fn parse_layer(path: &Path, v: &Value, functional: bool) -> Result<LayerDef> {
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
    let mut mask_from = None;
    let mut call_args = Vec::new();
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
                        call_args = args.as_array().cloned().unwrap_or_default();
                    }
                    let kwargs = call.get("kwargs").and_then(Value::as_object);
                    for (key, v) in kwargs.into_iter().flatten() {
                        let mut given = Vec::new();
                        collect_tensors(v, &mut given);
                        follow_kwarg(&name, &class, key, v, &given, &mut mask_from)?;
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
                        let kwargs = it.get(3).and_then(Value::as_object);
                        for (key, v) in kwargs.into_iter().flatten() {
                            let mut given = Vec::new();
                            collect_keras2_tensors(v, &mut given);
                            follow_kwarg(&name, &class, key, v, &given, &mut mask_from)?;
                        }
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
    let built_for = o
        .get("build_config")
        .and_then(|b| b.get("input_shape"))
        .filter(|v| !v.is_null())
        .cloned();
    Ok(LayerDef {
        name,
        class,
        registered,
        config,
        inbound,
        mask_from,
        call_args,
        key: None,
        built_for,
    })
}

/// `["name", 0, 0]` or `[["name", 0, 0], ...]` → the layer names.
pub(super) fn io_layers(path: &Path, v: Option<&Value>, what: &str) -> Result<Vec<String>> {
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
pub(super) fn shape_from_config(path: &Path, layer: &LayerDef, v: &Value) -> Result<Vec<usize>> {
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

pub(super) fn input_shape_of(path: &Path, layer: &LayerDef) -> Option<Result<Vec<usize>>> {
    for key in ["batch_shape", "batch_input_shape"] {
        if let Some(v) = layer.config.get(key).filter(|v| !v.is_null()) {
            return Some(shape_from_config(path, layer, v));
        }
    }
    None
}
