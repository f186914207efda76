//! The containers: a `.keras` zip (`config.json` + `model.weights.h5`) or a legacy `.h5` file, and
//! how each stores a layer's weights.

use super::*;

/// How layer weights are laid out in the HDF5 file.
pub(super) enum Layout {
    /// Keras 3 `model.weights.h5`: layer name → group holding `vars/0, 1, ...`.
    V3 {
        by_name: HashMap<String, String>,
        root: String,
    },
    /// Legacy `.h5`: `model_weights/<layer>` with a `weight_names` attribute.
    Legacy,
}

/// An opened model file: its architecture and its weights.
pub(super) struct ModelFile {
    pub(super) config: Value,
    pub(super) h5: H5File,
    pub(super) layout: Layout,
}

pub(super) fn open_keras_zip(path: &Path, bytes: Vec<u8>) -> Result<ModelFile> {
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
pub(super) fn open_keras_parts(
    path: &Path,
    config_bytes: &[u8],
    weights: Vec<u8>,
) -> Result<ModelFile> {
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

pub(super) fn open_legacy_h5(path: &Path, bytes: Vec<u8>) -> Result<ModelFile> {
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
pub(super) struct Var {
    /// The stored name (legacy `.h5` only), e.g. `conv1/kernel:0`.
    pub(super) name: Option<String>,
    /// Dataset path, for messages.
    pub(super) path: String,
    pub(super) array: Array,
}

impl ModelFile {
    /// The variables of `layer` in Keras' order. `key` is the group key of Keras' counter rule,
    /// used when the `.keras` weights carry no layer names. `within` names the sub-object that
    /// holds them in a `.keras` file (`cell` for a recurrent layer; empty for the layer itself);
    /// a legacy `.h5` lists them all under the layer (`weight_names`).
    /// `wrapped`: the weights of one layer a wrapper holds (a Bidirectional's forward or
    /// backward layer), as `(its group in a .keras file, its name in a legacy .h5)`.
    pub(super) fn layer_vars(
        &self,
        layer: &str,
        key: &str,
        within: &str,
        wrapped: Option<(&str, &str)>,
    ) -> Result<Vec<Var>> {
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
                let group = match wrapped {
                    Some((sub, _)) => format!("{group}/{sub}"),
                    None => group,
                };
                let vars = if within.is_empty() {
                    format!("{group}/vars")
                } else {
                    format!("{group}/{within}/vars")
                };
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
                    // a wrapped layer's weights are those with its name as a path segment
                    if wrapped.is_some_and(|(_, name)| !n.split('/').any(|seg| seg == name)) {
                        continue;
                    }
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
