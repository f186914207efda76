//! The graph: Sequential and Functional topologies in execution order, shapes inferred layer by
//! layer.

use super::*;

pub(super) fn build_graph(path: &Path, file: &ModelFile) -> Result<Graph> {
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
    // Unsupported layers are collected, not returned one at a time, so that the user sees every
    // layer to change at once.
    let mut unsupported = Vec::new();
    let mut defs = Vec::with_capacity(layers.len());
    for l in layers {
        match parse_layer(path, l, functional) {
            Ok(d) => defs.push(d),
            Err(e @ Error::Unsupported { .. }) => unsupported.push(e),
            Err(e) => return Err(e),
        }
    }
    assign_keys(&mut defs, !functional);
    for d in &defs {
        if matches!(d.class.as_str(), "Sequential" | "Functional" | "Model") {
            unsupported.push(Error::Unsupported {
                layer: d.name.clone(),
                class: d.class.clone(),
                msg: "nested models are not supported; rebuild the model as one flat \
                      Sequential or Functional model"
                    .into(),
            });
        }
    }
    if let Some(e) = Error::unsupported_layers(std::mem::take(&mut unsupported)) {
        return Err(e);
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
    let readers: Vec<Vec<Src>> = sources.clone();
    // a layer may import as several nodes (a Bidirectional wrapper): the node of each layer's
    // output, by position in `order`
    let mut node_of: Vec<usize> = Vec::with_capacity(order.len());
    // the mask each node's output carries, if any (`mask`)
    let mut masks: Vec<Option<Mask>> = Vec::with_capacity(order.len());
    for (k, (&i, srcs)) in order.iter().zip(sources).enumerate() {
        let d = &defs[i];
        let srcs: Vec<Src> = srcs
            .into_iter()
            .map(|s| match s {
                Src::Node(j) => Src::Node(node_of[j]),
                Src::Input => Src::Input,
            })
            .collect();
        let shapes: Vec<Vec<usize>> = srcs.iter().map(|&s| graph.shape_of(s).to_vec()).collect();
        let inputs_mask: Vec<Option<&Mask>> = srcs
            .iter()
            .map(|s| match *s {
                Src::Node(j) => masks[j].as_ref(),
                Src::Input => None,
            })
            .collect();
        let ctx = Ctx {
            path,
            file,
            def: d,
            wrapped: None,
            mask_ids: inputs_mask.iter().flatten().next().map(|m| m.ids),
        };
        let built = if d.class == "Bidirectional" && d.registered.is_none() {
            ctx.build_bidirectional(&shapes)
        } else if d.class == "PReLU" && d.registered.is_none() {
            ctx.build_prelu(&shapes)
        } else if d.registered.is_none() && ctx.masks_zero().unwrap_or(false) {
            ctx.build_masked_embedding(&shapes)
        } else if d.registered.is_none() && d.class == "Masking" {
            ctx.build_masking(&shapes)
        } else {
            ctx.build(&shapes)
                .map(|built| vec![Part::whole(d, srcs.len(), built)])
        };
        // a layer reading a mask that it cannot follow is refused as such, whatever else it
        // found wrong with the extra column
        let built = match built {
            Err(Error::Unsupported { .. }) | Err(Error::Shape { .. })
                if ctx.masked() && !RECURRENT.contains(&d.class.as_str()) =>
            {
                Err(ctx.unsupported(MASK_READER))
            }
            built => built,
        };
        let first = graph.nodes.len();
        let built = built.and_then(|parts| ctx.follow_mask(parts, &defs, &inputs_mask, first));
        let (parts, flags) = match built {
            Ok(built) => built,
            Err(e @ Error::Unsupported { .. }) => {
                unsupported.push(e);
                // Go on to the later layers with this one's output shape as Keras built its
                // readers for; without it (a legacy file) they cannot be checked.
                let shape = built_output_shape(path, &defs, &order, &readers, k)
                    .or_else(|| supported_twin_shape(&ctx, &shapes));
                match shape {
                    Some(shape) => (
                        vec![Part::whole(d, srcs.len(), (LayerKind::Dropout, shape))],
                        vec![None],
                    ),
                    None => break,
                }
            }
            // after a stand-in, an error may come from the stand-in: report what is certain
            Err(_) if !unsupported.is_empty() => break,
            Err(e) => return Err(e),
        };
        masks.extend(flags);
        for part in parts {
            let inputs = part
                .inputs
                .iter()
                .map(|p| match *p {
                    PartSrc::Layer(j) => srcs[j],
                    PartSrc::Part(j) => Src::Node(first + j),
                    PartSrc::Node(i) => Src::Node(i),
                })
                .collect();
            graph.nodes.push(Node {
                name: part.name,
                class_name: part.class,
                kind: part.kind,
                inputs,
                output_shape: part.shape,
            });
        }
        node_of.push(graph.nodes.len() - 1);
    }
    // A mask that reaches the output: no recurrent layer read it (when every layer was built:
    // after a refusal the import may have stopped short of the output).
    if let (true, Some(n), Some(Some(_))) =
        (unsupported.is_empty(), graph.nodes.last(), masks.last())
    {
        unsupported.push(Error::Unsupported {
            layer: n.name.clone(),
            class: n.class_name.clone(),
            msg: format!("outputs a masked sequence: the model's output {MASK_READER}"),
        });
    }
    // Softmax only as the last operation.
    let last = graph.nodes.len().saturating_sub(1);
    for (i, n) in graph.nodes.iter().enumerate() {
        let head = match activation_of(&n.kind) {
            Some(Activation::Softmax) => "softmax",
            Some(Activation::LogSoftmax) => "log_softmax",
            _ => continue,
        };
        if i != last {
            unsupported.push(Error::Unsupported {
                layer: n.name.clone(),
                class: n.class_name.clone(),
                msg: format!("{head} is supported only as the model's last operation"),
            });
        }
    }
    if unsupported.is_empty() {
        return Ok(graph);
    }
    match Error::unsupported_layers(unsupported) {
        Some(e) => Err(e),
        None => Ok(graph),
    }
}

/// The output shape of an unsupported layer as its nearest supported twin gives it, for files
/// that do not record shapes (legacy `.h5`): the same layer with a linear activation and `same`
/// padding (what a smooth activation or causal padding leaves unchanged); for a recurrent
/// layer, its `units` (a sequence of them with `return_sequences`), for a Bidirectional
/// wrapper those of its merge; for layers that keep their input's shape (a refused Masking,
/// UnitNormalization, …) that shape.
fn supported_twin_shape(ctx: &Ctx<'_>, input: &[Vec<usize>]) -> Option<Vec<usize>> {
    let d = ctx.def;
    if matches!(d.class.as_str(), "SimpleRNN" | "GRU" | "LSTM") {
        let units = ctx.positive("units").ok()?;
        let [seq] = input else { return None };
        return match (seq.as_slice(), ctx.boolean("return_sequences", false).ok()?) {
            ([_, _], false) => Some(vec![units]),
            ([t, _], true) => Some(vec![*t, units]),
            _ => None,
        };
    }
    if d.class == "Bidirectional" {
        // the wrapped recurrent layer's units, twice for the default `concat` merge
        let inner = d.config.get("layer")?.get("config")?;
        let units = inner.get("units")?.as_u64()? as usize;
        let sequences = inner
            .get("return_sequences")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let width = match d.config.get("merge_mode").map(Value::as_str) {
            None | Some(Some("concat")) => 2 * units,
            Some(Some("sum" | "mul" | "ave")) => units,
            _ => return None,
        };
        let [seq] = input else { return None };
        return match (seq.as_slice(), sequences) {
            ([_, _], false) => Some(vec![width]),
            ([t, _], true) => Some(vec![*t, width]),
            _ => None,
        };
    }
    if matches!(
        d.class.as_str(),
        "Masking" | "UnitNormalization" | "ThresholdedReLU"
    ) {
        // layers that keep their input's shape
        let [x] = input else { return None };
        return Some(x.clone());
    }
    let mut twin = d.clone();
    for (key, supported) in [("activation", "linear"), ("padding", "same")] {
        if twin.config.contains_key(key) {
            twin.config.insert(key.into(), Value::from(supported));
        }
    }
    let ctx = Ctx { def: &twin, ..*ctx };
    ctx.build(input).ok().map(|(_, shape)| shape)
}

/// The output shape of node `k` (a position in `order`) as the first layer reading it was built
/// for by Keras (`build_config.input_shape`, without the batch axis), if recorded.
fn built_output_shape(
    path: &Path,
    defs: &[LayerDef],
    order: &[usize],
    readers: &[Vec<Src>],
    k: usize,
) -> Option<Vec<usize>> {
    let (r, at) = readers
        .iter()
        .enumerate()
        .skip(k + 1)
        .find_map(|(r, srcs)| {
            srcs.iter()
                .position(|&s| s == Src::Node(k))
                .map(|at| (r, at))
        })?;
    let reader = &defs[order[r]];
    let built = reader.built_for.as_ref()?;
    // one input: [null, d1, ...]; several: [[null, ...], [null, ...]]
    let one = match built.as_array()?.first() {
        Some(Value::Array(_)) => built.as_array()?.get(at)?,
        _ if readers[r].len() == 1 => built,
        _ => return None,
    };
    let shape = shape_from_config(path, reader, one).ok()?;
    checked_len(&shape).map(|_| shape)
}

/// The input shape, the layers to evaluate (indices into the config's layer list) in order, and
/// each one's sources.
pub(super) struct Plan {
    pub(super) input_shape: Vec<usize>,
    pub(super) order: Vec<usize>,
    pub(super) sources: Vec<Vec<Src>>,
}

/// Topological order of a Functional model's layers that reach the output (depth-first,
/// iterative), with each layer's sources.
pub(super) fn functional_order(
    path: &Path,
    defs: &[LayerDef],
    input: &str,
    output: &str,
) -> Result<Plan> {
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

pub(super) fn checked_len(shape: &[usize]) -> Option<usize> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMS)
}
