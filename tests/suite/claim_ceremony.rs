//! The claim circuit in the Ethereum ZK tooling's own files, and the foundation of a Groth16
//! phase-2 ceremony with snarkjs (0.7.6, pinned in contracts/package.json).
//!
//! - Export: `claim::circom::write_r1cs` / `write_wtns` of a hand-built circuit and of the real
//!   claim circuit; snarkjs reads them (`r1cs info`, `r1cs export json`) and checks the witness
//!   (`wtns check`), and refuses a tampered one.
//! - Ceremony round trip on the small circuit: a local powers of tau (`powersoftau new`,
//!   `contribute`, `beacon`, `prepare phase2`), then `groth16 setup`, one named `zkey
//!   contribute`, a `zkey beacon`, `zkey verify` and `zkey export verificationkey`; kerafold
//!   parses every zkey (`read_zkey`: contributions and hashes as snarkjs prints them), proves in
//!   Rust from the final key, and snarkjs and arkworks verify the proof (and snarkjs' own proof).
//! - kerafold's own ceremony check (`claim::ceremony`): the committed small ceremony and every
//!   fresh one verify in Rust with the contribution hashes snarkjs prints; an honest contribution
//!   made in Rust verifies; a forged last contribution that replaces δ (a well-formed key whose
//!   maker knows δ) and every tampered transcript field, beacon and key section is refused with
//!   the contribution or section named. These need no snarkjs: the seeds are committed.
//! - The zkey and ptau parsers under bounded corruption (the `zkey` fuzz target over its
//!   committed seeds; every truncation of the committed ptau).
//! - Ignored: the same ceremony on the claim circuit (power 17), and the seed corpus writer.
//!
//! The snarkjs steps run when npm is installed (the pinned packages are installed with `npm ci`
//! if contracts/node_modules lacks them) and are skipped with a message otherwise; the
//! corruption test needs only the committed seeds. Each snarkjs step prints its time
//! (`--nocapture`).

use crate::scenario;
use crate::targets;

use kerafold::claim::ceremony;
use kerafold::claim::circom::{self, format_hash, read_zkey, ZkeyFile};
use kerafold::claim::circuit::ClaimCircuit;
use kerafold::claim::groth16::{self, R1cs};
use kerafold::claim::snarkjs::{public_json, ProofJson, VkJson};
use kerafold::crypto::bn254::{to_dec, Fr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch directory for one test.
fn workdir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("claim-ceremony")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Whether snarkjs can run here: npm is installed, and the pinned packages are in
/// contracts/node_modules (installed once with `npm ci` if not).
fn snarkjs_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        let npm = Command::new("npm").arg("--version").output();
        if !npm.map(|o| o.status.success()).unwrap_or(false) {
            println!("npm is not installed: the snarkjs steps are skipped");
            return false;
        }
        let contracts = root().join("contracts");
        if !contracts.join("node_modules/snarkjs/package.json").exists() {
            let o = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&contracts)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "npm ci: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        true
    })
}

/// The snarkjs steps of a test and their times.
#[derive(Default)]
struct Steps(Vec<(String, f64)>);

impl Steps {
    /// `npx snarkjs ARGS` (from contracts/, paths absolute): success and stdout + stderr.
    fn try_run(&mut self, args: &[&str]) -> (bool, String) {
        let start = Instant::now();
        let o = Command::new("npx")
            .arg("snarkjs")
            .args(args)
            .current_dir(root().join("contracts"))
            .output()
            .unwrap();
        let secs = start.elapsed().as_secs_f64();
        let name: Vec<&str> = args
            .iter()
            .take_while(|a| !a.contains('/') && !a.starts_with('-'))
            .copied()
            .collect();
        println!("snarkjs {:<40} {secs:>8.2} s", name.join(" "));
        self.0.push((name.join(" "), secs));
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        (o.status.success(), out)
    }

    /// Like [`Steps::try_run`], and the step must succeed.
    fn run(&mut self, args: &[&str]) -> String {
        let (ok, out) = self.try_run(args);
        assert!(ok, "snarkjs {}: {out}", args.join(" "));
        out
    }

    fn total(&self) -> f64 {
        self.0.iter().map(|s| s.1).sum()
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn write(path: &Path, f: impl FnOnce(&mut Vec<u8>) -> kerafold::Result<()>) {
    let mut b = Vec::new();
    f(&mut b).unwrap();
    std::fs::write(path, b).unwrap();
}

/// A hand-built circuit: public `y = x³ + x + 5` and `z = (2x + 1)(x + 3)`; wires
/// `[1, y, z | x, x², x³]`, one linear combination with a repeated wire. The zkey seeds of the
/// fuzz corpus are this circuit's. With x = 3: y = 35, z = 42.
fn small() -> (R1cs, Vec<Fr>, Vec<Fr>) {
    let f = |v: u64| Fr::from(v);
    let rows = vec![
        (vec![(3, f(1))], vec![(3, f(1))], vec![(4, f(1))]),
        (vec![(4, f(1))], vec![(3, f(1))], vec![(5, f(1))]),
        (
            vec![(0, f(5)), (3, f(1)), (5, f(1))],
            vec![(0, f(1))],
            vec![(1, f(1))],
        ),
        (
            vec![(0, f(1)), (3, f(1)), (3, f(1))],
            vec![(0, f(3)), (3, f(1))],
            vec![(2, f(1))],
        ),
    ];
    let r1cs = R1cs {
        num_inputs: 2,
        num_aux: 3,
        rows,
    };
    let (x, w) = (vec![f(35), f(42)], vec![f(3), f(9), f(27)]);
    r1cs.check(&x, &w).unwrap();
    (r1cs, x, w)
}

/// The snarkjs `r1cs info` counts of `r1cs` as [`circom::write_r1cs`] declares them.
fn assert_info(out: &str, r1cs: &R1cs) {
    let wires = 1 + r1cs.num_inputs + r1cs.num_aux;
    for line in [
        "Curve: bn-128".to_string(),
        format!("# of Wires: {wires}\n"),
        format!("# of Constraints: {}\n", r1cs.num_constraints()),
        "# of Private Inputs: 0\n".to_string(),
        format!("# of Public Inputs: {}\n", r1cs.num_inputs),
        format!("# of Labels: {wires}\n"),
        "# of Outputs: 0\n".to_string(),
    ] {
        assert!(out.contains(&line), "'{}' not in: {out}", line.trim());
    }
}

/// A local powers of tau of `2^power` (new, one contribution, a beacon, prepared for phase 2),
/// made once per test run. A test ptau: its toxic waste is only as gone as this process.
fn local_ptau(power: u32, steps: &mut Steps) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("claim-ceremony")
        .join(format!("ptau-{power}"));
    let last = dir.join(format!("pot{power}_final.ptau"));
    if last.exists() {
        return last;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let p = |n: &str| dir.join(format!("pot{power}_{n}.ptau"));
    let pw = power.to_string();
    steps.run(&["powersoftau", "new", "bn128", &pw, s(&p("0000")), "-v"]);
    steps.run(&[
        "powersoftau",
        "contribute",
        s(&p("0000")),
        s(&p("0001")),
        "-n=kerafold test",
        "-e=kerafold test entropy: not a real ceremony",
    ]);
    steps.run(&[
        "powersoftau",
        "beacon",
        s(&p("0001")),
        s(&p("beacon")),
        "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "10",
        "-n=test beacon",
    ]);
    let tmp = p("final.tmp");
    steps.run(&["powersoftau", "prepare", "phase2", s(&p("beacon")), s(&tmp)]);
    std::fs::rename(&tmp, &last).unwrap();
    last
}

/// The small circuit's ptau, made once for all the tests of the run.
fn small_ptau() -> PathBuf {
    static PTAU: OnceLock<PathBuf> = OnceLock::new();
    PTAU.get_or_init(|| {
        let mut steps = Steps::default();
        let power = circom::ptau_power(&small().0);
        let p = local_ptau(power, &mut steps);
        if !steps.0.is_empty() {
            println!("powers of tau 2^{power}: {:.2} s in snarkjs", steps.total());
        }
        p
    })
    .clone()
}

/// The three zkeys of a phase-2 ceremony over `r1cs`: setup, one named contribution, a beacon.
struct Ceremony {
    r1cs: PathBuf,
    ptau: PathBuf,
    keys: [PathBuf; 3],
}

/// The beacon of the tests' phase 2 (a real ceremony takes a public random value announced in
/// advance, e.g. a future block hash).
const BEACON: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

fn ceremony(dir: &Path, r1cs: &R1cs, ptau: PathBuf, steps: &mut Steps) -> Ceremony {
    let r1cs_path = dir.join("circuit.r1cs");
    write(&r1cs_path, |b| circom::write_r1cs(r1cs, b));
    let keys = [0, 1, 2].map(|i| dir.join(format!("circuit_{i:04}.zkey")));
    steps.run(&["groth16", "setup", s(&r1cs_path), s(&ptau), s(&keys[0])]);
    let out = steps.run(&[
        "zkey",
        "contribute",
        s(&keys[0]),
        s(&keys[1]),
        "-n=bounty host",
        "-e=the host's entropy: a test, not a secret",
    ]);
    let z1 = read_zkey(&std::fs::read(&keys[1]).unwrap()).unwrap();
    assert!(
        out.contains(&format!(
            "Contribution Hash: \n{}",
            format_hash(&z1.contributions[0].hash())
        )),
        "the contribution hash snarkjs printed is not the parsed one: {out}"
    );
    steps.run(&[
        "zkey",
        "beacon",
        s(&keys[1]),
        s(&keys[2]),
        BEACON,
        "10",
        "-n=final beacon",
    ]);
    Ceremony {
        r1cs: r1cs_path,
        ptau,
        keys,
    }
}

/// `zkey verify` passes, and prints the circuit hash and the contribution hashes kerafold reads.
fn verify_zkey(c: &Ceremony, z: &ZkeyFile, steps: &mut Steps) {
    let out = steps.run(&["zkey", "verify", s(&c.r1cs), s(&c.ptau), s(&c.keys[2])]);
    assert!(out.contains("ZKey Ok!"), "{out}");
    assert!(
        out.contains(&format!("Circuit Hash: \n{}", format_hash(&z.cs_hash))),
        "{out}"
    );
    for (i, k) in z.contributions.iter().enumerate() {
        let want = format!(
            "contribution #{} {}:\n{}",
            i + 1,
            k.name.as_deref().unwrap_or(""),
            format_hash(&k.hash())
        );
        assert!(out.contains(&want), "'{want}' not in: {out}");
    }
}

fn check_ceremony_keys(c: &Ceremony, r1cs: &R1cs) -> ZkeyFile {
    let z: Vec<ZkeyFile> = c
        .keys
        .iter()
        .map(|k| read_zkey(&std::fs::read(k).unwrap()).unwrap())
        .collect();
    for k in &z {
        k.check_circuit(r1cs).unwrap();
        assert_eq!(k.cs_hash, z[0].cs_hash);
        assert_eq!(k.domain_size, circom::domain_size(r1cs));
        assert_eq!(
            (k.n_vars, k.n_public),
            (1 + r1cs.num_inputs + r1cs.num_aux, r1cs.num_inputs)
        );
    }
    assert!(z[0].contributions.is_empty());
    assert_eq!(z[1].contributions.len(), 1);
    assert_eq!(z[2].contributions.len(), 2);
    let (host, beacon) = (&z[2].contributions[0], &z[2].contributions[1]);
    assert_eq!(host, &z[1].contributions[0]);
    assert_eq!(host.name.as_deref(), Some("bounty host"));
    assert_eq!(host.beacon, None);
    assert_eq!(beacon.name.as_deref(), Some("final beacon"));
    let b = beacon.beacon.as_ref().unwrap();
    assert_eq!(
        (hex::encode(&b.hash), b.iterations_exp),
        (BEACON.into(), 10)
    );
    // each contribution moved δ; the setup's is the generator
    assert_eq!(
        z[0].pk.delta_g1,
        <ark_bn254::G1Affine as ark_ec::AffineRepr>::generator()
    );
    assert_eq!(z[1].pk.delta_g1, host.delta_after);
    assert_eq!(z[2].pk.delta_g1, beacon.delta_after);
    assert_ne!(z[1].pk.delta_g1, z[2].pk.delta_g1);
    // the contributions change δ and the L and H queries only
    assert_eq!(z[0].pk.a_query, z[2].pk.a_query);
    assert_eq!(z[0].pk.b_g2_query, z[2].pk.b_g2_query);
    assert_eq!(z[0].pk.vk.gamma_abc_g1, z[2].pk.vk.gamma_abc_g1);
    assert_ne!(z[0].pk.h_query, z[2].pk.h_query);
    z.into_iter().nth(2).unwrap()
}

/// Proves in Rust with the final key; snarkjs and arkworks verify it, and snarkjs' own proof
/// from the exported witness verifies under the parsed key.
fn prove_and_cross_verify(
    dir: &Path,
    c: &Ceremony,
    z: &ZkeyFile,
    (r1cs, x, w): (&R1cs, &[Fr], &[Fr]),
    steps: &mut Steps,
) {
    let vk_path = dir.join("verification_key.json");
    steps.run(&[
        "zkey",
        "export",
        "verificationkey",
        s(&c.keys[2]),
        s(&vk_path),
    ]);
    let vk_json: VkJson = serde_json::from_slice(&std::fs::read(&vk_path).unwrap()).unwrap();
    assert_eq!(vk_json, VkJson::new(z.vk()));
    assert_eq!(&vk_json.to_ark().unwrap(), z.vk());

    let start = Instant::now();
    let proof = circom::prove(z, r1cs, x, w, &mut rand_core::OsRng).unwrap();
    println!(
        "kerafold prove (zkey, Rust)                      {:>8.2} s",
        start.elapsed().as_secs_f64()
    );
    assert!(groth16::verify(z.vk(), x, &proof));
    let mut other = x.to_vec();
    other[0] += Fr::from(1u64);
    assert!(!groth16::verify(z.vk(), &other, &proof));

    let (proof_path, public_path, other_path) = (
        dir.join("proof.json"),
        dir.join("public.json"),
        dir.join("other_public.json"),
    );
    put_json(&proof_path, &ProofJson::new(&proof));
    put_json(&public_path, &public_json(x));
    put_json(&other_path, &public_json(&other));
    let out = steps.run(&[
        "groth16",
        "verify",
        s(&vk_path),
        s(&public_path),
        s(&proof_path),
    ]);
    assert!(out.contains("OK!"), "{out}");
    let (ok, out) = steps.try_run(&[
        "groth16",
        "verify",
        s(&vk_path),
        s(&other_path),
        s(&proof_path),
    ]);
    assert!(!ok && out.contains("Invalid proof"), "{out}");

    // snarkjs proves from the exported witness: arkworks verifies it under the parsed key
    let wtns = dir.join("witness.wtns");
    write(&wtns, |b| circom::write_wtns(x, w, b));
    let (js_proof, js_public) = (dir.join("proof_js.json"), dir.join("public_js.json"));
    steps.run(&[
        "groth16",
        "prove",
        s(&c.keys[2]),
        s(&wtns),
        s(&js_proof),
        s(&js_public),
    ]);
    let p: ProofJson = serde_json::from_slice(&std::fs::read(&js_proof).unwrap()).unwrap();
    let public: Vec<String> = serde_json::from_slice(&std::fs::read(&js_public).unwrap()).unwrap();
    assert_eq!(public, public_json(x));
    assert!(groth16::verify(z.vk(), x, &p.to_ark().unwrap()));
}

fn put_json<T: serde::Serialize>(path: &Path, v: &T) {
    std::fs::write(path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

#[test]
fn small_circuit_files_check_with_snarkjs() {
    let (r1cs, x, w) = small();
    if !snarkjs_ready() {
        return;
    }
    let dir = workdir("small-files");
    let mut steps = Steps::default();
    let (r1cs_path, wtns) = (dir.join("small.r1cs"), dir.join("small.wtns"));
    write(&r1cs_path, |b| circom::write_r1cs(&r1cs, b));
    write(&wtns, |b| circom::write_wtns(&x, &w, b));
    assert_info(&steps.run(&["r1cs", "info", s(&r1cs_path)]), &r1cs);

    // snarkjs reads back exactly our constraints (the repeated wire merged)
    let json = dir.join("small.json");
    steps.run(&["r1cs", "export", "json", s(&r1cs_path), s(&json)]);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let lc = |terms: &[(usize, u64)]| {
        serde_json::Value::Object(
            terms
                .iter()
                .map(|(i, c)| (i.to_string(), to_dec(&Fr::from(*c)).into()))
                .collect(),
        )
    };
    let want = serde_json::json!([
        [lc(&[(3, 1)]), lc(&[(3, 1)]), lc(&[(4, 1)])],
        [lc(&[(4, 1)]), lc(&[(3, 1)]), lc(&[(5, 1)])],
        [lc(&[(0, 5), (3, 1), (5, 1)]), lc(&[(0, 1)]), lc(&[(1, 1)])],
        [lc(&[(0, 1), (3, 2)]), lc(&[(0, 3), (3, 1)]), lc(&[(2, 1)])],
    ]);
    assert_eq!(v["constraints"], want);
    assert_eq!(v["nPubInputs"], 2);
    assert_eq!(v["nVars"], 6);

    let out = steps.run(&["wtns", "check", s(&r1cs_path), s(&wtns)]);
    assert!(out.contains("WITNESS IS CORRECT"), "{out}");
    // a tampered value: x² = 10
    let mut bad = w.clone();
    bad[1] = Fr::from(10u64);
    assert!(r1cs.check(&x, &bad).is_err());
    write(&wtns, |b| circom::write_wtns(&x, &bad, b));
    let (ok, out) = steps.try_run(&["wtns", "check", s(&r1cs_path), s(&wtns)]);
    assert!(!ok && out.contains("WITNESS IS NOT CORRECT"), "{out}");
    // …and a public input: y = 36
    write(&wtns, |b| {
        circom::write_wtns(&[Fr::from(36u64), x[1]], &w, b)
    });
    let (ok, out) = steps.try_run(&["wtns", "check", s(&r1cs_path), s(&wtns)]);
    assert!(!ok && out.contains("WITNESS IS NOT CORRECT"), "{out}");
}

#[test]
fn claim_circuit_files_check_with_snarkjs() {
    if !snarkjs_ready() {
        return;
    }
    let start = Instant::now();
    let sc = scenario::Scenario::new();
    let input = sc.input([0x11; 20]);
    let r1cs = R1cs::of(&ClaimCircuit {
        spec: &sc.spec,
        public: None,
        witness: None,
    })
    .unwrap();
    let (x, w) = groth16::witness(&ClaimCircuit {
        spec: &sc.spec,
        public: Some(&input.public),
        witness: Some(&input.witness),
    })
    .unwrap();
    assert_eq!(x, input.public.inputs());
    r1cs.check(&x, &w).unwrap();
    println!(
        "claim circuit: {} constraints, {} public inputs, {} witness values, ptau power {} \
         ({:.1} s to build)",
        r1cs.num_constraints(),
        r1cs.num_inputs,
        r1cs.num_aux,
        circom::ptau_power(&r1cs),
        start.elapsed().as_secs_f64()
    );

    let dir = workdir("claim-files");
    let mut steps = Steps::default();
    let (r1cs_path, wtns) = (dir.join("claim.r1cs"), dir.join("claim.wtns"));
    let start = Instant::now();
    write(&r1cs_path, |b| circom::write_r1cs(&r1cs, b));
    write(&wtns, |b| circom::write_wtns(&x, &w, b));
    println!(
        "kerafold write .r1cs ({} MB) and .wtns: {:.2} s",
        std::fs::metadata(&r1cs_path).unwrap().len() >> 20,
        start.elapsed().as_secs_f64()
    );
    assert_info(&steps.run(&["r1cs", "info", s(&r1cs_path)]), &r1cs);
    let out = steps.run(&["wtns", "check", s(&r1cs_path), s(&wtns)]);
    assert!(out.contains("WITNESS IS CORRECT"), "{out}");

    // a tampered witness value fails (the first one that breaks a constraint natively)
    let mut bad = w.clone();
    let k = (0..bad.len())
        .find(|&k| {
            let mut t = w.clone();
            t[k] += Fr::from(1u64);
            r1cs.check(&x, &t).is_err()
        })
        .unwrap();
    bad[k] += Fr::from(1u64);
    write(&wtns, |b| circom::write_wtns(&x, &bad, b));
    let (ok, out) = steps.try_run(&["wtns", "check", s(&r1cs_path), s(&wtns)]);
    assert!(!ok && out.contains("WITNESS IS NOT CORRECT"), "{out}");
}

#[test]
fn ceremony_round_trip_small_circuit() {
    let (r1cs, x, w) = small();
    if !snarkjs_ready() {
        return;
    }
    let dir = workdir("small-ceremony");
    let mut steps = Steps::default();
    let c = ceremony(&dir, &r1cs, small_ptau(), &mut steps);
    let z = check_ceremony_keys(&c, &r1cs);
    verify_zkey(&c, &z, &mut steps);
    verify_in_rust(&c, &z, &r1cs);
    prove_and_cross_verify(&dir, &c, &z, (&r1cs, &x, &w), &mut steps);

    // kerafold's prover refuses a bad witness and another circuit's key
    let mut bad = w.clone();
    bad[2] = Fr::from(28u64);
    let e = circom::prove(&z, &r1cs, &x, &bad, &mut rand_core::OsRng).unwrap_err();
    assert!(e.to_string().contains("constraint 1"), "{e}");
    let mut other = r1cs.clone();
    other.rows[3].1[0].1 = Fr::from(4u64);
    let wrong_z = Fr::from(7u64 * 7);
    other.check(&[x[0], wrong_z], &w).unwrap();
    let e = circom::prove(&z, &other, &[x[0], wrong_z], &w, &mut rand_core::OsRng).unwrap_err();
    assert!(e.to_string().contains("not for this circuit"), "{e}");
    println!("small ceremony: {:.2} s in snarkjs", steps.total());
}

/// The committed seeds of the `zkey` fuzz target.
fn zkey_seeds() -> Vec<(String, Vec<u8>)> {
    let dir = root().join("fuzz/corpus/zkey");
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(p).unwrap())
        })
        .collect();
    v.sort();
    v
}

/// `Err` with the panic's message.
fn run_target(data: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| targets::run("zkey", data))).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into())
    })
}

#[test]
fn zkey_parser_survives_corruption() {
    // the target is wired like the others (tests/fuzz_bounded.rs runs it too)
    let fuzz = root().join("fuzz");
    let body = std::fs::read_to_string(fuzz.join("fuzz_targets/zkey.rs")).unwrap();
    assert!(body.contains("run(\"zkey\""));
    let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"zkey\""));

    let seeds = zkey_seeds();
    let valid: Vec<&(String, Vec<u8>)> = seeds
        .iter()
        .filter(|(n, _)| n.ends_with(".zkey") && !n.contains("broken"))
        .collect();
    assert!(
        valid.len() >= 3,
        "{:?}",
        seeds.iter().map(|s| &s.0).collect::<Vec<_>>()
    );
    let start = Instant::now();
    let mut cases = 0;
    let mut failures = Vec::new();
    let mut check = |what: String, data: &[u8]| {
        cases += 1;
        if let Err(m) = run_target(data) {
            failures.push(format!("{what}: {m}"));
        }
    };
    for (name, data) in &seeds {
        check(format!("{name} as committed"), data);
    }
    for (name, data) in &valid {
        let z = read_zkey(data).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(z.n_vars, 6, "{name}");
        // every truncation is refused, and so is an appended byte
        for n in 0..data.len() {
            assert!(read_zkey(&data[..n]).is_err(), "{name} cut at {n} accepted");
        }
        let mut d = data.to_vec();
        d.push(0);
        assert!(
            read_zkey(&d).is_err(),
            "{name} with a byte appended accepted"
        );
        // 32-bit boundary values at every aligned offset of the file header, the section table
        // and the Groth16 header (where the counts and sizes are), then at every 64th offset;
        // a flipped bit in every 13th byte
        let offsets = (0..data.len() - 4)
            .step_by(4)
            .filter(|&i| i < 800 || i % 64 == 0);
        for i in offsets {
            for v in [0u32, 0xffff_ffff, data.len() as u32] {
                let mut d = data.to_vec();
                d[i..i + 4].copy_from_slice(&v.to_le_bytes());
                check(format!("{name} u32 {v:#x} at {i}"), &d);
            }
        }
        for i in (0..data.len()).step_by(13) {
            let mut d = data.to_vec();
            d[i] ^= 1 << (i % 8);
            check(format!("{name} bit {} of byte {i}", i % 8), &d);
        }
    }
    println!(
        "zkey: {cases} corrupted inputs in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "crashes:\n{}", failures.join("\n"));
}

/// Step 3: the ceremony over the real claim circuit (≈107k constraints, power 17). The ptau is
/// `KERAFOLD_PTAU` if set (a real ceremony's, e.g. the Hermez/PPoT final ptau of power ≥ 17, as
/// `scripts/claim-ceremony.sh` downloads and checks), else a local one made once.
#[test]
#[ignore = "needs a power-17 powers of tau (KERAFOLD_PTAU, or about 90 minutes to make one here)"]
fn claim_circuit_ceremony() {
    if !snarkjs_ready() {
        return;
    }
    let sc = scenario::Scenario::new();
    let input = sc.input([0x22; 20]);
    let r1cs = R1cs::of(&ClaimCircuit {
        spec: &sc.spec,
        public: None,
        witness: None,
    })
    .unwrap();
    let (x, w) = groth16::witness(&ClaimCircuit {
        spec: &sc.spec,
        public: Some(&input.public),
        witness: Some(&input.witness),
    })
    .unwrap();
    let mut steps = Steps::default();
    let ptau = match std::env::var_os("KERAFOLD_PTAU") {
        Some(p) => PathBuf::from(p),
        None => local_ptau(circom::ptau_power(&r1cs), &mut steps),
    };
    let dir = workdir("claim-ceremony");
    let c = ceremony(&dir, &r1cs, ptau, &mut steps);
    let start = Instant::now();
    let z = check_ceremony_keys(&c, &r1cs);
    println!(
        "kerafold read_zkey ×3 + checks                   {:>8.2} s",
        start.elapsed().as_secs_f64()
    );
    verify_zkey(&c, &z, &mut steps);
    verify_in_rust(&c, &z, &r1cs);
    prove_and_cross_verify(&dir, &c, &z, (&r1cs, &x, &w), &mut steps);
    println!("claim ceremony: {:.2} s in snarkjs", steps.total());
}

/// kerafold's own check of the ceremony `zkey verify` just passed: the same contributions.
fn verify_in_rust(c: &Ceremony, z: &ZkeyFile, r1cs: &R1cs) {
    let start = Instant::now();
    let ptau = ceremony::read_ptau(&std::fs::read(&c.ptau).unwrap(), z.domain_size).unwrap();
    let read = start.elapsed().as_secs_f64();
    let v = ceremony::verify_ceremony(z, r1cs, &ptau).unwrap();
    println!(
        "kerafold read_ptau + verify_ceremony             {read:>8.2} s + {:.2} s",
        start.elapsed().as_secs_f64() - read
    );
    let hashes: Vec<[u8; 64]> = z.contributions.iter().map(|c| c.hash()).collect();
    assert_eq!(
        v.contributions.iter().map(|c| c.hash).collect::<Vec<_>>(),
        hashes
    );
}

/// Writes the `zkey` fuzz target's seeds (`fuzz/corpus/zkey/seed-*`): the small circuit's keys
/// after setup, a contribution and a beacon, and two broken ones.
#[test]
#[ignore = "writes the zkey and ptau fuzz seed corpora: run by hand after changing the formats"]
fn write_zkey_seed_corpus() {
    assert!(snarkjs_ready(), "the seeds need snarkjs");
    let (r1cs, _, _) = small();
    let dir = workdir("seeds");
    let c = ceremony(&dir, &r1cs, small_ptau(), &mut Steps::default());
    let out = root().join("fuzz/corpus/zkey");
    std::fs::create_dir_all(&out).unwrap();
    let ptau_dir = root().join("fuzz/corpus/ptau");
    std::fs::create_dir_all(&ptau_dir).unwrap();
    let ptau = std::fs::read(small_ptau()).unwrap();
    std::fs::write(ptau_dir.join("seed-pot3.ptau"), &ptau).unwrap();
    std::fs::write(
        ptau_dir.join("seed-broken-truncated.ptau"),
        &ptau[..ptau.len() / 2],
    )
    .unwrap();
    let names = ["setup", "contributed", "beacon"];
    for (k, name) in c.keys.iter().zip(names) {
        std::fs::copy(k, out.join(format!("seed-{name}.zkey"))).unwrap();
    }
    let last = std::fs::read(&c.keys[2]).unwrap();
    std::fs::write(
        out.join("seed-broken-truncated.zkey"),
        &last[..last.len() / 2],
    )
    .unwrap();
    let mut plonk = last.clone();
    plonk[12 + 12] = 2; // protocol 2 in section 1 (written first by snarkjs)
    assert!(read_zkey(&plonk).is_err());
    std::fs::write(out.join("seed-broken-protocol.zkey"), plonk).unwrap();
}

/// The committed seeds of a fuzz target's corpus, `seed-NAME.EXT` by name.
fn seed(target: &str, name: &str) -> Vec<u8> {
    let p = root().join("fuzz/corpus").join(target).join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The small circuit's committed ceremony (setup, the host's contribution, the beacon) and the
/// committed powers of tau it was made over.
fn committed() -> (R1cs, ceremony::PtauPoints, [ZkeyFile; 3]) {
    let (r1cs, _, _) = small();
    let ptau =
        ceremony::read_ptau(&seed("ptau", "seed-pot3.ptau"), circom::domain_size(&r1cs)).unwrap();
    let keys = [
        "seed-setup.zkey",
        "seed-contributed.zkey",
        "seed-beacon.zkey",
    ]
    .map(|name| read_zkey(&seed("zkey", name)).unwrap());
    (r1cs, ptau, keys)
}

#[test]
fn committed_ceremony_verifies_in_rust() {
    let (r1cs, ptau, keys) = committed();
    for (n, z) in keys.iter().enumerate() {
        let v =
            ceremony::verify_ceremony(z, &r1cs, &ptau).unwrap_or_else(|e| panic!("key {n}: {e}"));
        let hashes: Vec<[u8; 64]> = z.contributions.iter().map(|c| c.hash()).collect();
        assert_eq!(
            v.contributions.iter().map(|c| c.hash).collect::<Vec<_>>(),
            hashes
        );
        assert_eq!(v.contributions.len(), n);
    }
    let v = ceremony::verify_transcript(&keys[2]).unwrap();
    assert_eq!(v.contributors(), 1);
    assert_eq!(
        v.contributions[1].beacon.as_ref().unwrap().iterations_exp,
        10
    );
}

/// A contribution with a key `x` drawn here, on top of `z`. Honest: δ·x, and the L and H queries
/// over x. Forged: δ = x alone, the L and H queries of the initial key `init` (which anyone can
/// compute from the circuit and the ptau) over x — a well-formed key whose maker knows all of δ
/// and can prove anything, discarding every earlier contribution.
fn contribute(z: &ZkeyFile, init: &ZkeyFile, honest: bool, name: &str) -> ZkeyFile {
    use ark_ec::{AffineRepr, CurveGroup};
    use ark_ff::{Field, UniformRand};
    type ArkFr = ark_bn254::Fr;
    let rng = &mut rand_core::OsRng;
    let x = ArkFr::rand(rng);
    let s = (ark_bn254::G1Affine::generator() * ArkFr::rand(rng)).into_affine();
    let sx = (s * x).into_affine();
    let transcript = ceremony::transcript(&z.cs_hash, &z.contributions, &s, &sx);
    let spx = (ceremony::hash_to_g2(&transcript) * x).into_affine();
    let base = if honest { z } else { init };
    let over_x = |v: &[ark_bn254::G1Affine]| -> Vec<ark_bn254::G1Affine> {
        let inv = x.inverse().unwrap();
        v.iter().map(|p| (*p * inv).into_affine()).collect()
    };
    let mut out = z.clone();
    out.pk.delta_g1 = (base.pk.delta_g1 * x).into_affine();
    out.pk.vk.delta_g2 = (base.pk.vk.delta_g2 * x).into_affine();
    out.pk.l_query = over_x(&base.pk.l_query);
    out.pk.h_query = over_x(&base.pk.h_query);
    out.contributions.push(circom::Contribution {
        delta_after: out.pk.delta_g1,
        g1_s: s,
        g1_sx: sx,
        g2_spx: spx,
        transcript,
        name: Some(name.into()),
        beacon: None,
    });
    out
}

#[test]
fn tampered_ceremony_is_refused() {
    use ark_ec::CurveGroup;
    let (r1cs, ptau, [init, _, last]) = committed();
    let verify = |z: &ZkeyFile| ceremony::verify_ceremony(z, &r1cs, &ptau);

    // a third, honest contribution made in Rust verifies, and is listed with its hash
    let honest = contribute(&last, &init, true, "hunter");
    let v = verify(&honest).unwrap();
    assert_eq!(v.contributions.len(), 3);
    assert_eq!(v.contributions[2].hash, honest.contributions[2].hash());

    // the attack: a last contributor who replaces δ by its own key. Its key is well-formed (the
    // point check alone passes) and it could prove anything; the transcript refuses it
    let forged = contribute(&last, &init, false, "coordinator");
    ceremony::verify_key(&forged, &r1cs, &ptau, &mut rand_core::OsRng).unwrap();
    let e = verify(&forged).unwrap_err().to_string();
    assert!(
        e.contains("contribution 3 ('coordinator'): δ did not move by the contribution's key"),
        "{e}"
    );

    let double1 = |p: &mut ark_bn254::G1Affine| *p = (*p + *p).into_affine();
    let double2 = |p: &mut ark_bn254::G2Affine| *p = (*p + *p).into_affine();
    type Tamper = Box<dyn Fn(&mut ZkeyFile)>;
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "a byte of the host's transcript",
            Box::new(|z| z.contributions[0].transcript[5] ^= 1),
            "contribution 1 ('bounty host'): its transcript is not the hash",
        ),
        (
            "the host's proof of knowledge in G2",
            Box::new(move |z| double2(&mut z.contributions[0].g2_spx)),
            "contribution 1 ('bounty host'): its proof of knowledge fails",
        ),
        (
            "the host's s·x",
            Box::new(move |z| double1(&mut z.contributions[0].g1_sx)),
            "contribution 1 ('bounty host'): its transcript",
        ),
        (
            "the host's contribution removed",
            Box::new(|z| {
                z.contributions.remove(0);
            }),
            "contribution 1 ('final beacon'): its transcript",
        ),
        (
            "the beacon's value",
            Box::new(|z| z.contributions[1].beacon.as_mut().unwrap().hash[0] ^= 1),
            "contribution 2 ('final beacon'): its key is not the one its beacon value derives",
        ),
        (
            "the beacon's iterations",
            Box::new(|z| z.contributions[1].beacon.as_mut().unwrap().iterations_exp = 11),
            "contribution 2 ('final beacon'): its key is not the one its beacon",
        ),
        (
            "the beacon's iterations beyond the bound",
            Box::new(|z| z.contributions[1].beacon.as_mut().unwrap().iterations_exp = 40),
            "a beacon of 2^40 SHA-256 iterations",
        ),
        (
            "δ₁",
            Box::new(move |z| double1(&mut z.pk.delta_g1)),
            "the key's δ₁ is not the last contribution's",
        ),
        (
            "δ₂",
            Box::new(move |z| double2(&mut z.pk.vk.delta_g2)),
            "the key's δ₂ is not its δ₁ in G2",
        ),
        (
            "α₁",
            Box::new(move |z| double1(&mut z.pk.vk.alpha_g1)),
            "the key's α or β (G1)",
        ),
        (
            "γ₂",
            Box::new(move |z| double2(&mut z.pk.vk.gamma_g2)),
            "the key's γ",
        ),
        (
            "an IC point",
            Box::new(move |z| double1(&mut z.pk.vk.gamma_abc_g1[1])),
            "the key's IC",
        ),
        (
            "an A point",
            Box::new(move |z| double1(&mut z.pk.a_query[3])),
            "the key's A query",
        ),
        (
            "a B₁ point",
            Box::new(move |z| double1(&mut z.pk.b_g1_query[3])),
            "the key's B₁ query",
        ),
        (
            "a B₂ point",
            Box::new(move |z| double2(&mut z.pk.b_g2_query[0])),
            "the key's B₂ query",
        ),
        (
            "an L point",
            Box::new(move |z| double1(&mut z.pk.l_query[2])),
            "the key's L query",
        ),
        (
            "an H point",
            Box::new(move |z| double1(&mut z.pk.h_query[1])),
            "the key's H query",
        ),
        (
            "two L points swapped",
            Box::new(|z| z.pk.l_query.swap(0, 1)),
            "the key's L query",
        ),
    ];
    for (what, tamper, want) in cases {
        let mut z = last.clone();
        tamper(&mut z);
        let e = verify(&z)
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"))
            .to_string();
        assert!(e.contains(want), "{what}: '{e}' does not say '{want}'");
    }

    // a key over another powers of tau (here: the committed one with its τ powers shifted)
    let mut other = ptau.clone();
    other.l_tau_g1.rotate_left(1);
    let e = ceremony::verify_ceremony(&last, &r1cs, &other).unwrap_err();
    assert!(e.to_string().contains("A query"), "{e}");
}

#[test]
fn ptau_parser_refuses_truncation_and_unprepared_files() {
    let data = seed("ptau", "seed-pot3.ptau");
    let p = ceremony::read_ptau(&data, 8).unwrap();
    assert_eq!((p.power, p.tau_g1.len()), (3, 15));
    for n in 0..data.len() {
        assert!(
            ceremony::read_ptau(&data[..n], 8).is_err(),
            "cut at {n} accepted"
        );
    }
    let e = ceremony::read_ptau(&data, 16).unwrap_err().to_string();
    assert!(
        e.contains("ptau: a ptau of power 3 cannot serve a domain of 16"),
        "{e}"
    );
    assert_eq!(ceremony::published_ptau(&data), None);
}

/// `kerafold ARGS`: success, and its standard output.
fn kf(args: &[&str]) -> String {
    let o = kf_output(args);
    assert!(
        o.status.success(),
        "kerafold {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn kf_output(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kerafold"))
        .args(args)
        .output()
        .unwrap()
}

/// `kerafold ARGS` fails with exit code 2 and a message with every one of `words`.
fn kf_refused(args: &[&str], words: &[&str]) {
    let o = kf_output(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "kerafold {args:?}: {err}");
    for w in words {
        assert!(err.contains(w), "kerafold {args:?}: '{w}' not in {err}");
    }
    println!("refused as expected: {}", err.trim());
}

/// Swaps the first two points of section `t` of a binfile (a key that still parses, every point
/// valid, but not the ceremony's).
fn swap_first_points(file: &mut [u8], t: u32, size: usize) {
    let mut at = 12;
    loop {
        let ty = u32::from_le_bytes(file[at..at + 4].try_into().unwrap());
        let len = u64::from_le_bytes(file[at + 4..at + 12].try_into().unwrap()) as usize;
        if ty == t {
            let body = at + 12;
            let first = file[body..body + size].to_vec();
            file.copy_within(body + size..body + 2 * size, body);
            file[body + size..body + 2 * size].copy_from_slice(&first);
            return;
        }
        at += 12 + len;
    }
}

/// Item 4 through the binary, on the real claim circuit: the host exports it
/// (`claim-circuit`), runs a snarkjs ceremony (setup, its contribution, a beacon),
/// `claim-setup --zkey` verifies and publishes the key (one contribution is refused); anyone runs
/// `verify-ceremony`; the hunter's `claim` verifies the ceremony again before proving with it,
/// and refuses a setup whose key was altered; the claim verifies (`verify-claim`, snarkjs).
#[test]
#[ignore = "needs a power-17 powers of tau (KERAFOLD_PTAU, or about 90 minutes to make one here)"]
fn claim_ceremony_through_the_cli() {
    if !snarkjs_ready() {
        return;
    }
    let dir = workdir("cli-ceremony");
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let fixtures = root().join("tests/fixtures");
    let model = fixtures.join("digits.keras").to_str().unwrap().to_string();
    let data = fixtures.join("digits_16.kfd").to_str().unwrap().to_string();
    let quant = scenario::bounty_quant_args();
    let with = |head: &[&str], tail: &[String]| -> Vec<String> {
        head.iter()
            .map(|s| s.to_string())
            .chain(tail.iter().cloned())
            .collect()
    };
    let run = |v: Vec<String>| kf(&v.iter().map(String::as_str).collect::<Vec<_>>());

    // the host: the circuit, then the ceremony over it
    kf(&["keygen", "-o", &p("host.json")]);
    kf(&["keygen", "-o", &p("hunter.json")]);
    let cid = kf(&["cid", &data]).trim().to_string();
    let circuit: serde_json::Value = serde_json::from_str(&run(with(
        &[
            "claim-circuit",
            &model,
            "--data",
            &data,
            "-o",
            &p("claim.r1cs"),
        ],
        &quant,
    )))
    .unwrap();
    let power = circuit["ptau_power"].as_u64().unwrap() as u32;
    let mut steps = Steps::default();
    let (ptau, published) = match std::env::var_os("KERAFOLD_PTAU") {
        Some(f) => (PathBuf::from(f), true),
        None => (local_ptau(power, &mut steps), false),
    };
    let keys = [0, 1, 2].map(|i| p(&format!("claim_{i:04}.zkey")));
    steps.run(&["groth16", "setup", &p("claim.r1cs"), s(&ptau), &keys[0]]);
    steps.run(&[
        "zkey",
        "contribute",
        &keys[0],
        &keys[1],
        "-n=bounty host",
        "-e=the host's entropy: a test, not a secret",
    ]);
    steps.run(&[
        "zkey",
        "beacon",
        &keys[1],
        &keys[2],
        BEACON,
        "10",
        "-n=final beacon",
    ]);
    let mut ptau_args = vec!["--ptau".to_string(), s(&ptau).to_string()];
    if !published {
        ptau_args.push("--ptau-unpublished".into());
    }
    let setup_cmd = |zkey: &str, out: &str| {
        let mut v = with(
            &[
                "claim-setup",
                &model,
                "--data",
                &data,
                "--zkey",
                zkey,
                "-o",
                out,
            ],
            &quant,
        );
        v.extend(ptau_args.iter().cloned());
        v
    };
    // the host's contribution alone is not a key anyone should rely on
    let one = setup_cmd(&keys[1], &p("host-1"));
    kf_refused(
        &one.iter().map(String::as_str).collect::<Vec<_>>(),
        &["1 contribution(s)", "beacon"],
    );
    let start = Instant::now();
    let setup: serde_json::Value =
        serde_json::from_str(&run(setup_cmd(&keys[2], &p("host")))).unwrap();
    println!(
        "kerafold claim-setup --zkey (verifies the ceremony) {:>8.2} s",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(setup["key"], "ceremony");
    let host_contribution = read_zkey(&std::fs::read(&keys[1]).unwrap())
        .unwrap()
        .contributions[0]
        .hash();
    assert_eq!(
        setup["ceremony"]["contributions"][0]["hash"],
        hex::encode(host_contribution)
    );
    assert_eq!(
        setup["ceremony"]["contributions"][1]["beacon"]["iterations_exp"],
        10
    );
    let verified: serde_json::Value = serde_json::from_str(&run(with(
        &["verify-ceremony", "--setup", &p("host")],
        &ptau_args,
    )))
    .unwrap();
    assert_eq!(verified["verified"], true);
    assert_eq!(verified["ceremony"], setup["ceremony"]);

    // the hunter: accuracy, the encrypted weights, and the claim with the ceremony's key
    let arch = p("host/architecture.json");
    kf(&[
        "prove-accuracy",
        &model,
        "--data",
        &data,
        "--model",
        "private",
        "--arch",
        &arch,
        "-o",
        &p("acc.proof"),
        "--opening",
        &p("opening.json"),
        "--params-dir",
        &p("params"),
    ]);
    kf(&[
        "encrypt-weights",
        &p("opening.json"),
        "--host-key",
        &p("host.pub.json"),
        "--key",
        &p("hunter.json"),
        "-o",
        &p("ct.json"),
    ]);
    let alice = "0x00000000000000000000000000000000000a11ce";
    let terms = |setup: &str| -> Vec<String> {
        [
            "--setup",
            setup,
            "--cid",
            &cid,
            "--threshold",
            "12",
            "--address",
            alice,
            "--params-dir",
            &p("params"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let claim_cmd = |setup: &str, out: &str| {
        let mut v = with(
            &[
                "claim",
                &p("ct.json"),
                "--key",
                &p("hunter.json"),
                "--accuracy",
                &p("acc.proof"),
                "--host-key",
                &p("host.pub.json"),
                "-o",
                out,
            ],
            &terms(setup),
        );
        v.extend(ptau_args.iter().cloned());
        v
    };
    let start = Instant::now();
    run(claim_cmd(&p("host"), &p("claim")));
    println!(
        "kerafold claim (verifies the ceremony, proves)   {:>8.2} s",
        start.elapsed().as_secs_f64()
    );
    let v: serde_json::Value = serde_json::from_str(&run(with(
        &[
            "verify-claim",
            &p("claim"),
            "--host-key",
            &p("host.pub.json"),
            "--ciphertext",
            &p("ct.json"),
            "--accuracy",
            &p("acc.proof"),
            "--json",
        ],
        &terms(&p("host")),
    )))
    .unwrap();
    assert_eq!(v["valid"], true);
    let out = steps.run(&[
        "groth16",
        "verify",
        &p("host/verification_key.json"),
        &p("claim/public.json"),
        &p("claim/proof.json"),
    ]);
    assert!(out.contains("OK!"), "{out}");

    // a setup whose ceremony key was altered after the ceremony (two H points swapped: every
    // point valid, the key no longer the ceremony's) is refused before anything is proved
    let bad = p("host-altered");
    std::fs::create_dir_all(&bad).unwrap();
    for e in std::fs::read_dir(p("host")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), Path::new(&bad).join(e.file_name())).unwrap();
    }
    let zkey = Path::new(&bad).join("claim.zkey");
    let mut bytes = std::fs::read(&zkey).unwrap();
    swap_first_points(&mut bytes, 9, 64);
    std::fs::write(&zkey, bytes).unwrap();
    let refused = claim_cmd(&bad, &p("claim-altered"));
    kf_refused(
        &refused.iter().map(String::as_str).collect::<Vec<_>>(),
        &["claim.zkey", "H query"],
    );
    assert!(!Path::new(&p("claim-altered")).join("proof.json").exists());
}

/// kerafold's table of published powers of tau is the ceremony script's, and (when installed)
/// snarkjs' README lists every hash for its file.
#[test]
fn published_ptau_hashes_agree_with_the_script_and_snarkjs() {
    let script = std::fs::read_to_string(root().join("scripts/claim-ceremony.sh")).unwrap();
    let readme = std::fs::read_to_string(root().join("contracts/node_modules/snarkjs/README.md"));
    for (power, hash) in ceremony::PUBLISHED_PTAU {
        assert!(
            script.contains(&format!("{power}) echo {hash} ;;")),
            "power {power}: the script's hash differs"
        );
        if let Ok(readme) = &readme {
            let line = readme
                .lines()
                .find(|l| l.contains(&format!("powersOfTau28_hez_final_{power}.ptau")))
                .unwrap_or_else(|| panic!("power {power} not in snarkjs' README"));
            assert!(line.contains(hash), "power {power}: {line}");
        }
    }
}
