//! The JSON API's routes, independent of the HTTP server: a request (method, path, query, body)
//! in, a status and a JSON body out. Every handler writes the upload into a [`Workspace`] and
//! calls the command the CLI calls, so the API checks exactly what the CLI checks.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `GET /api/health` | — | version, upload limit, routes |
//! | `POST /api/cid` | any file | its IPFS CID (`kerafold cid`) |
//! | `POST /api/dataset/inspect` | a `.kfd` dataset | `kerafold dataset inspect` |
//! | `POST /api/model/inspect` | a `.keras` or `.h5` model | `kerafold inspect` |
//! | `POST /api/proof/describe` | a proof file | its kind, system, architecture and claim (unverified) |
//! | `POST /api/verify/accuracy` | `{proof, architecture, cid, min_correct}` | `kerafold verify` |
//! | `POST /api/verify/claim` | `{setup, terms, claim, ciphertext, accuracy}` | `kerafold verify-claim` |
//! | `POST /api/opening` | `{ciphertext, plaintext}` | the model opening of a plaintext decrypted in the browser |
//!
//! A proof or claim that does not verify is an answer (`200`, `"valid": false` and the reason),
//! not an error; malformed uploads are `400`, oversized ones `413`, unknown routes `404`.

use super::workspace::Workspace;
use crate::claim::weights;
use crate::commands::{self, bounty, QuantOptions};
use crate::crypto::bn254::from_dec;
use crate::fold::Stepping;
use crate::proofs::AnyProof;
use crate::Error;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::path::PathBuf;

/// One request, as the server read it.
#[derive(Clone, Copy, Debug)]
pub struct ApiRequest<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The path, without the query (`/api/cid`).
    pub path: &'a str,
    /// The query string, without `?`.
    pub query: &'a str,
    /// The body, already bounded by the server's upload limit.
    pub body: &'a [u8],
}

/// A status and a JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body: a report, or `{"error": {"status", "message"}}`.
    pub body: Value,
}

impl ApiResponse {
    fn ok(body: Value) -> Self {
        Self { status: 200, body }
    }

    /// An error answer with `status` and a message that says what to do.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({"error": {"status": status, "message": message.into()}}),
        }
    }
}

/// The routes: (method, path, what it does).
pub const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/api/health", "version, upload limit and routes"),
    (
        "POST",
        "/api/cid",
        "the IPFS CID of the body (kerafold cid)",
    ),
    (
        "POST",
        "/api/dataset/inspect",
        "a .kfd dataset's shape, labels and CID",
    ),
    (
        "POST",
        "/api/model/inspect",
        "a .keras or .h5 model's steps and quantization (?format=keras|h5, else sniffed)",
    ),
    (
        "POST",
        "/api/proof/describe",
        "a proof file's kind, system, architecture and claim, unverified",
    ),
    (
        "POST",
        "/api/verify/accuracy",
        "{proof, architecture, cid, min_correct}: an accuracy proof against the bounty's terms",
    ),
    (
        "POST",
        "/api/verify/claim",
        "{setup, terms, claim, ciphertext, accuracy}: a bounty claim against its terms",
    ),
    (
        "POST",
        "/api/opening",
        "{ciphertext, plaintext}: the model opening of weights decrypted in the browser",
    ),
];

/// Field names of a Baby Jubjub secret key file: an upload holding one is refused unread.
const SECRET_FIELDS: &[&str] = &["private_key", "secret_scalar"];

/// The API over the library, with the server's settings.
#[derive(Clone, Debug)]
pub struct Api {
    /// Largest body accepted, bytes.
    pub max_upload: usize,
    /// The verifier's parameter cache.
    pub params_dir: PathBuf,
    /// The directory of the `.ptau` files HyperKZG accuracy proofs are verified over: checked
    /// against a bounty setup that names one, the key derived from it.
    pub ptau: Option<PathBuf>,
}

/// A handler's failure: the status and message to answer with.
struct Refused(u16, String);

impl Refused {
    fn bad(msg: impl Into<String>) -> Self {
        Refused(400, msg.into())
    }
}

type Handled = std::result::Result<Value, Refused>;

impl Api {
    /// Answers one request.
    pub fn handle(&self, req: ApiRequest<'_>) -> ApiResponse {
        let route = ROUTES.iter().find(|(_, p, _)| *p == req.path);
        let Some(&(method, path, _)) = route else {
            return ApiResponse::error(
                404,
                format!("no route {}: GET /api/health lists them", req.path),
            );
        };
        if method != req.method {
            return ApiResponse::error(405, format!("{path} takes {method}"));
        }
        if method == "POST" {
            if let Err(Refused(status, msg)) = refuse_secrets(req.body) {
                return ApiResponse::error(status, msg);
            }
        }
        let answer = Workspace::new()
            .map_err(|e| Refused(500, e.to_string()))
            .and_then(|ws| {
                let r = self.route(path, req, &ws);
                r.map_err(|Refused(s, m)| Refused(s, ws.scrub(&m)))
            });
        match answer {
            Ok(body) => ApiResponse::ok(body),
            Err(Refused(status, msg)) => ApiResponse::error(status, msg),
        }
    }

    fn route(&self, path: &str, req: ApiRequest<'_>, ws: &Workspace) -> Handled {
        match path {
            "/api/health" => Ok(json!({
                "kerafold": env!("CARGO_PKG_VERSION"),
                "max_upload": self.max_upload,
                "routes": ROUTES.iter().map(|(m, p, what)| json!({"method": m, "path": p, "what": what})).collect::<Vec<_>>(),
            })),
            "/api/cid" => {
                let file = ws.write("upload", req.body).map_err(internal)?;
                report(commands::data::cid(&file))
            }
            "/api/dataset/inspect" => {
                let file = ws.write("dataset.kfd", req.body).map_err(internal)?;
                report(commands::data::inspect(&file))
            }
            "/api/model/inspect" => {
                let ext = model_format(req.query, req.body)?;
                let file = ws
                    .write(&format!("model.{ext}"), req.body)
                    .map_err(internal)?;
                report(commands::model::inspect(
                    &file,
                    &QuantOptions::default(),
                    Stepping::default(),
                ))
            }
            "/api/proof/describe" => describe(req.body, ws),
            "/api/verify/accuracy" => self.verify_accuracy(req.body, ws),
            "/api/verify/claim" => self.verify_claim(req.body, ws),
            "/api/opening" => opening(req.body),
            _ => Err(Refused(404, format!("no route {path}"))),
        }
    }

    fn verify_accuracy(&self, body: &[u8], ws: &Workspace) -> Handled {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            proof: Value,
            architecture: Value,
            cid: String,
            min_correct: Option<usize>,
        }
        let b: Body = json_body(body, "{proof, architecture, cid, min_correct}")?;
        let req = commands::verify::VerifyRequest {
            proof: write_json(ws, "proof.json", &b.proof)?,
            arch: Some(write_json(ws, "architecture.json", &b.architecture)?),
            cid: Some(b.cid),
            min_correct: b.min_correct,
            params_dir: self.params_dir.clone(),
            ptau: self.ptau.clone(),
            ..Default::default()
        };
        verdict(commands::verify::verify(&req))
    }

    fn verify_claim(&self, body: &[u8], ws: &Workspace) -> Handled {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Terms {
            cid: String,
            threshold: u64,
            claimant: String,
            host_public_key: [String; 2],
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            /// `setup.json`, `architecture.json`, `verification_key.json` of the host's setup.
            setup: Map<String, Value>,
            terms: Terms,
            /// `proof.json` (and `public.json` for an on-chain claim) of the claim.
            claim: Map<String, Value>,
            ciphertext: Value,
            accuracy: Option<Value>,
        }
        let b: Body = json_body(body, "{setup, terms, claim, ciphertext, accuracy}")?;
        let setup_dir = ws.path("setup");
        let claim_dir = ws.path("claim");
        files(ws, "setup", &b.setup, &SETUP_FILES)?;
        files(ws, "claim", &b.claim, &CLAIM_FILES)?;
        let host_key = write_json(
            ws,
            "host.pub.json",
            &json!({"public_key": b.terms.host_public_key}),
        )?;
        let ciphertext = write_json(ws, "ciphertext.json", &b.ciphertext)?;
        let accuracy = b
            .accuracy
            .as_ref()
            .map(|a| write_json(ws, "accuracy.json", a))
            .transpose()?;
        let named = crate::claim::flow::Setup::read(&setup_dir)
            .map(|s| s.accuracy_ptau.is_some())
            .unwrap_or(false);
        let bounty = bounty::Bounty {
            setup: setup_dir,
            cid: b.terms.cid,
            threshold: b.terms.threshold,
            address: b.terms.claimant,
            params_dir: self.params_dir.clone(),
            // only a setup that names powers of tau is verified over the server's
            accuracy_ptau: self.ptau.clone().filter(|_| named),
        };
        let files = bounty::ClaimFiles {
            ciphertext: &ciphertext,
            accuracy: accuracy.as_deref(),
        };
        verdict(bounty::verify_claim(&bounty, &files, &claim_dir, &host_key))
    }
}

/// The model opening of a plaintext the host decrypted in the browser (the key never leaves it):
/// the plaintext must be an integer model of the ciphertext file's architecture with its model
/// commitment, as `kerafold decrypt-weights` checks after decrypting.
fn opening(body: &[u8]) -> Handled {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        ciphertext: weights::CiphertextFile,
        plaintext: Vec<String>,
    }
    let b: Body = json_body(body, "{ciphertext, plaintext}")?;
    let e = b.ciphertext.parse().map_err(refused)?;
    let plaintext = b
        .plaintext
        .iter()
        .enumerate()
        .map(|(i, v)| from_dec(v, &format!("plaintext[{i}]")))
        .collect::<crate::Result<Vec<_>>>()
        .map_err(refused)?;
    let opened =
        weights::open(&b.ciphertext, &e, &plaintext).and_then(|o| weights::ModelOpening::new(&o));
    match opened {
        Ok(o) => serde_json::to_value(o).map_err(|e| Refused(500, e.to_string())),
        Err(Error::Invalid(reason)) => Err(Refused::bad(reason)),
        Err(e) => Err(refused(e)),
    }
}

/// The files of a host's setup the verifier reads.
const SETUP_FILES: [&str; 3] = ["setup.json", "architecture.json", "verification_key.json"];
/// The files of a claim the verifier reads.
const CLAIM_FILES: [&str; 2] = ["proof.json", "public.json"];

/// Writes the JSON files of `given` under `dir`, refusing names not in `allowed`.
fn files(
    ws: &Workspace,
    dir: &str,
    given: &Map<String, Value>,
    allowed: &[&str],
) -> std::result::Result<(), Refused> {
    for (name, value) in given {
        if !allowed.contains(&name.as_str()) {
            return Err(Refused::bad(format!(
                "{dir}: unexpected file '{name}' (it holds {})",
                allowed.join(", ")
            )));
        }
        write_json(ws, &format!("{dir}/{name}"), value)?;
    }
    Ok(())
}

fn write_json(ws: &Workspace, name: &str, v: &Value) -> std::result::Result<PathBuf, Refused> {
    let bytes = serde_json::to_vec(v).map_err(|e| Refused(500, e.to_string()))?;
    ws.write(name, &bytes).map_err(internal)
}

fn json_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    shape: &str,
) -> std::result::Result<T, Refused> {
    serde_json::from_slice(body)
        .map_err(|e| Refused::bad(format!("the body is not the JSON object {shape}: {e}")))
}

/// `.keras` or `.h5`: the query's `format`, else the file's magic bytes.
fn model_format(query: &str, body: &[u8]) -> std::result::Result<&'static str, Refused> {
    let asked = query.split('&').find_map(|kv| kv.strip_prefix("format="));
    match asked {
        Some("keras") => Ok("keras"),
        Some("h5") => Ok("h5"),
        Some(other) => Err(Refused::bad(format!(
            "format={other}: a model is keras or h5"
        ))),
        None if body.starts_with(b"PK\x03\x04") => Ok("keras"),
        None if body.starts_with(b"\x89HDF\r\n\x1a\n") => Ok("h5"),
        None => Err(Refused::bad(
            "the body is neither a .keras (zip) nor an .h5 (HDF5) model file",
        )),
    }
}

/// What a proof file says, unverified.
fn describe(body: &[u8], ws: &Workspace) -> Handled {
    let path = ws.path("proof.json");
    let proof = AnyProof::from_bytes(body, &path).map_err(|e| Refused::bad(e.to_string()))?;
    let one = |kind: &str, system: &str, architecture: &str, claim: Value| {
        json!({"kind": kind, "system": system, "architecture": architecture, "claim": claim,
               "verified": false})
    };
    Ok(match proof {
        AnyProof::Inference(p) => one(&p.kind, &p.system, &p.architecture, json!(p.claim)),
        AnyProof::Accuracy(p) => one(&p.kind, &p.system, &p.architecture, json!(p.claim)),
        AnyProof::Combined(c) => {
            let first = c.shards.first();
            let mut v = one(
                crate::accuracy::shards::COMBINED,
                first.map_or("", |s| &s.system),
                first.map_or("", |s| &s.architecture),
                json!(c.claim),
            );
            v["shards"] = json!(c.shards.len());
            v
        }
    })
}

/// Refuses a body that holds a secret key, anywhere in its JSON.
fn refuse_secrets(body: &[u8]) -> std::result::Result<(), Refused> {
    fn holds(v: &Value) -> Option<&'static str> {
        match v {
            Value::Object(m) => SECRET_FIELDS
                .iter()
                .find(|f| m.contains_key(**f))
                .copied()
                .or_else(|| m.values().find_map(holds)),
            Value::Array(a) => a.iter().find_map(holds),
            _ => None,
        }
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Ok(());
    };
    match holds(&v) {
        Some(field) => Err(Refused::bad(format!(
            "the upload holds a secret key ('{field}'): kerafold serve never takes one — keep \
             it in your browser or your own files and send only the public key"
        ))),
        None => Ok(()),
    }
}

fn internal(e: Error) -> Refused {
    Refused(500, e.to_string())
}

/// A report, or the error as a `400` (bad upload) or `500`.
fn report<T: serde::Serialize>(r: crate::Result<T>) -> Handled {
    let mut v =
        serde_json::to_value(r.map_err(refused)?).map_err(|e| Refused(500, e.to_string()))?;
    if let Some(m) = v.as_object_mut() {
        // the workspace path is no business of the client's
        m.remove("file");
    }
    Ok(v)
}

/// A verification's verdict: the report, or `"valid": false` with the reason for a proof or
/// claim that does not verify (anything else is an error answer).
fn verdict<T: serde::Serialize>(r: crate::Result<T>) -> Handled {
    match r {
        Err(Error::Invalid(reason)) => Ok(json!({"valid": false, "reason": reason})),
        r => report(r),
    }
}

fn refused(e: Error) -> Refused {
    match e {
        Error::Io { .. } => Refused(500, e.to_string()),
        e => Refused::bad(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> Api {
        Api {
            max_upload: 1 << 20,
            params_dir: std::env::temp_dir().join("kerafold-serve-test-params"),
            ptau: None,
        }
    }

    fn call(method: &str, path: &str, body: &[u8]) -> ApiResponse {
        api().handle(ApiRequest {
            method,
            path,
            query: "",
            body,
        })
    }

    #[test]
    fn routes_methods_and_bodies_are_checked() {
        assert_eq!(call("GET", "/api/health", b"").status, 200);
        assert_eq!(call("GET", "/api/nope", b"").status, 404);
        assert_eq!(call("GET", "/api/cid", b"").status, 405);
        let r = call("POST", "/api/verify/accuracy", b"{\"proof\": 1}");
        assert_eq!(r.status, 400);
        assert!(r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("{proof, architecture, cid, min_correct}"));
        // the browser's plaintext goes with the ciphertext file it decrypts, nothing else
        let r = call("POST", "/api/opening", b"{\"plaintext\": [\"1\"]}");
        assert_eq!(r.status, 400);
        assert!(r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("{ciphertext, plaintext}"));
    }

    #[test]
    fn a_secret_key_anywhere_in_an_upload_is_refused() {
        let key = crate::crypto::babyjubjub::KeyFile::secret(
            &crate::crypto::babyjubjub::SecretKey::random(),
        );
        let nested = json!({"terms": {"host": key}});
        for (_, path, _) in ROUTES.iter().filter(|(m, _, _)| *m == "POST") {
            let r = call("POST", path, &serde_json::to_vec(&nested).unwrap());
            assert_eq!(r.status, 400, "{path}");
            assert!(
                r.body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("secret key"),
                "{path}: {}",
                r.body
            );
        }
    }

    #[test]
    fn a_cid_is_the_clis_and_names_no_temporary_file() {
        let r = call("POST", "/api/cid", b"hello");
        assert_eq!(r.status, 200);
        assert_eq!(
            r.body["cid"],
            crate::data::cid::cid_of_bytes(b"hello").to_string()
        );
        assert!(r.body.get("file").is_none());
        let r = call("POST", "/api/dataset/inspect", b"not a dataset");
        assert_eq!(r.status, 400);
        let msg = r.body["error"]["message"].as_str().unwrap();
        assert!(msg.contains("upload:dataset.kfd"), "{msg}");
        assert!(!msg.contains("kerafold-serve-"), "{msg}");
    }
}
