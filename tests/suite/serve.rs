//! `kerafold serve` over real HTTP (issue 17, step 1): the built binary on a free loopback
//! port, asked as a browser would. Every route answers what the CLI answers; oversized,
//! malformed and secret-bearing uploads are refused with a clear error; an accuracy proof
//! verifies against the caller's CID and architecture and a tampered one is `valid: false`; and
//! no response, of all the test makes, contains a secret key.

use crate::common::{self, scratch_dir, Format};
use kerafold::data::Dataset;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kerafold");
const MAX_UPLOAD: usize = 1 << 20;

fn kerafold(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ok(o: Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The server process, killed when dropped.
struct Server {
    child: Child,
    addr: String,
    /// Every response body, to search for secrets at the end.
    seen: std::cell::RefCell<Vec<String>>,
}

impl Server {
    fn start(params: &Path, ptau: &Path) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--bind", "127.0.0.1:0", "--json"])
            .args(["--max-upload", &MAX_UPLOAD.to_string()])
            .args(["--params-dir", s(params), "--ptau", s(ptau)])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let url = v["listening"].as_str().unwrap();
        let addr = url
            .strip_prefix("http://")
            .and_then(|u| u.strip_suffix("/api/"))
            .unwrap()
            .to_string();
        Self {
            child,
            addr,
            seen: Default::default(),
        }
    }

    /// Sends `head` (request line and headers, without the blank line) and `body`; returns the
    /// status and the JSON body.
    fn raw(&self, head: &str, body: &[u8]) -> (u16, Value) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        write!(
            stream,
            "{head}\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        stream.write_all(body).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let text = String::from_utf8_lossy(&response).to_string();
        let (headers, json) = text.split_once("\r\n\r\n").unwrap();
        let status: u16 = headers.split(' ').nth(1).unwrap().parse().unwrap();
        assert!(
            headers
                .to_lowercase()
                .contains("content-type: application/json"),
            "{headers}"
        );
        self.seen.borrow_mut().push(json.to_string());
        (status, serde_json::from_str(json).unwrap_or(Value::Null))
    }

    fn call(&self, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
        self.raw(
            &format!("{method} {path} HTTP/1.1\r\nContent-Length: {}", body.len()),
            body,
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_api_answers_as_the_cli_refuses_bad_uploads_and_never_returns_a_secret() {
    let dir = scratch_dir("serve");
    let params = dir.join("params");
    let ptau = params.join(kerafold::fold::params::RANDOM_TAU_DIR);
    let server = Server::start(&params, &ptau);

    let (status, health) = server.call("GET", "/api/health", b"");
    assert_eq!(status, 200);
    assert_eq!(health["max_upload"], MAX_UPLOAD);
    assert!(health["routes"].as_array().unwrap().len() >= 7);

    // a dataset: its CID and description are the CLI's
    let fixture = common::fixture_file("digits_16.kfd");
    let bytes = std::fs::read(&fixture).unwrap();
    let (status, cid) = server.call("POST", "/api/cid", &bytes);
    assert_eq!(status, 200, "{cid}");
    let cli = ok(kerafold(&["cid", s(&fixture), "--json"]));
    assert_eq!(cid["cid"], cli["cid"]);
    assert_eq!(cid["size"], bytes.len());
    let (status, described) = server.call("POST", "/api/dataset/inspect", &bytes);
    assert_eq!(status, 200, "{described}");
    assert_eq!(described["count"], 16);
    assert_eq!(described["cid"], cli["cid"]);

    // a model, either format, sniffed from its bytes
    for format in Format::ALL {
        let model = std::fs::read(common::model_path("mlp", format)).unwrap();
        let (status, inspected) = server.call("POST", "/api/model/inspect", &model);
        assert_eq!(status, 200, "{format:?}: {inspected}");
        assert!(
            inspected.to_string().to_lowercase().contains("dense"),
            "{inspected}"
        );
    }

    // refused uploads: each a clear error, none naming the server's temporary files
    let (status, v) = server.call("POST", "/api/dataset/inspect", b"KFD? no");
    assert_eq!(status, 400);
    assert!(message(&v).contains("upload:dataset.kfd"), "{v}");
    let (status, v) = server.call("POST", "/api/model/inspect", b"\x00\x01");
    assert_eq!(status, 400);
    assert!(message(&v).contains("neither a .keras"), "{v}");
    let (status, v) = server.call("POST", "/api/verify/claim", b"{}");
    assert_eq!(status, 400);
    assert!(message(&v).contains("missing field"), "{v}");
    let (status, v) = server.call("POST", "/api/verify/accuracy", b"[1, 2");
    assert_eq!(status, 400);
    assert!(message(&v).contains("not the JSON object"), "{v}");
    for v in server.seen.borrow().iter() {
        assert!(
            !v.contains("kerafold-serve-"),
            "a temporary path leaked: {v}"
        );
    }
    // oversized: refused from the declared length, before the body is read
    let (status, v) = server.raw(
        &format!(
            "POST /api/cid HTTP/1.1\r\nContent-Length: {}",
            MAX_UPLOAD + 1
        ),
        b"",
    );
    assert_eq!(status, 413);
    assert!(message(&v).contains("at most 1048576"), "{v}");
    // a request a page of another site makes through DNS rebinding names that site
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    write!(
        stream,
        "GET /api/health HTTP/1.1\r\nHost: evil.example:8700\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    // unknown routes and methods
    assert_eq!(server.call("GET", "/api/secret", b"").0, 404);
    assert_eq!(server.call("GET", "/api/cid", b"").0, 405);

    // a secret key, whole or inside a body, is refused by every route that takes a body
    let key_path = dir.join("host.json");
    let o = kerafold(&["keygen", "-o", s(&key_path)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let key_text = std::fs::read_to_string(&key_path).unwrap();
    let key: Value = serde_json::from_str(&key_text).unwrap();
    let secrets = [
        key["private_key"].as_str().unwrap().to_string(),
        key["secret_scalar"].as_str().unwrap().to_string(),
    ];
    let routes: Vec<String> = health["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "POST")
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    for route in &routes {
        for body in [
            key_text.clone(),
            json!({"terms": {"host_public_key": key}}).to_string(),
        ] {
            let (status, v) = server.call("POST", route, body.as_bytes());
            assert_eq!(status, 400, "{route}: {v}");
            assert!(message(&v).contains("secret key"), "{route}: {v}");
        }
    }

    // an accuracy proof: verified against the caller's CID and architecture
    let data_path = dir.join("data.kfd");
    let x: Vec<u8> = (0..4 * 16).map(|k| (k * 37 % 251) as u8).collect();
    Dataset::pack(&x, &[3, 1, 4, 1], &[16], 10, 8)
        .unwrap()
        .write(&data_path)
        .unwrap();
    let proof_path = dir.join("acc.json");
    let proved = ok(kerafold(&[
        "prove-accuracy",
        s(&common::model_path("mlp", Format::Keras)),
        "--data",
        s(&data_path),
        "--model-visibility",
        "public",
        "-o",
        s(&proof_path),
        "--params-dir",
        s(&params),
        "--insecure-random-tau",
        "--json",
    ]));
    let proof: Value = serde_json::from_slice(&std::fs::read(&proof_path).unwrap()).unwrap();
    let digest = proof["architecture"].as_str().unwrap();
    let arch: Value = serde_json::from_slice(
        &std::fs::read(
            params
                .join(format!("bn254-kzg-{}", &digest[..32]))
                .join("arch.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let data_cid = proved["cid"].as_str().unwrap().to_string();
    let correct = proved["correct"].as_u64().unwrap();
    let verify = |proof: &Value, cid: &str| {
        server.call(
            "POST",
            "/api/verify/accuracy",
            json!({"proof": proof, "architecture": arch, "cid": cid, "min_correct": correct})
                .to_string()
                .as_bytes(),
        )
    };
    let (status, v) = verify(&proof, &data_cid);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["claim"]["correct"], correct);
    assert_eq!(v["cid_checked"], true);
    // another CID, a raised count: answers, not errors
    let (status, v) = verify(&proof, cid["cid"].as_str().unwrap());
    assert_eq!((status, &v["valid"]), (200, &json!(false)), "{v}");
    assert!(v["reason"].as_str().unwrap().contains("not"), "{v}");
    let mut raised = proof.clone();
    raised["claim"]["correct"] = json!(correct + 1);
    let (status, v) = verify(&raised, &data_cid);
    assert_eq!((status, &v["valid"]), (200, &json!(false)), "{v}");
    // described, unverified
    let (status, v) = server.call("POST", "/api/proof/describe", proof.to_string().as_bytes());
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (&v["kind"], &v["verified"]),
        (&json!("accuracy"), &json!(false))
    );

    // no response of all the above holds the secret key
    for v in server.seen.borrow().iter() {
        for secret in &secrets {
            assert!(!v.contains(secret.as_str()), "a secret in a response: {v}");
        }
    }
}
