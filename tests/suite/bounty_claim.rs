//! Weight encryption and the Groth16 claim on a real fixture model (digits.keras, private model
//! commitment, the accuracy IO of the 16-sample digits dataset): host decryption gives back exactly the quantized model; the claim proves,
//! verifies, round-trips through the snarkjs files; every forged claim fails, natively and at
//! the named constraint of the circuit.

use crate::scenario;

use ff::{Field, PrimeField};
use kerafold::accuracy::{native_shard_claim, AccuracyClaim, ShardSpec};
use kerafold::claim::circuit::ClaimShape;
use kerafold::claim::circuit::IoLayout;
use kerafold::claim::circuit::{ClaimCircuit, ClaimInput, ClaimPublic, ClaimSpec, NUM_PUBLIC};
use kerafold::claim::groth16::{self, FrontendCircuit, R1cs};
use kerafold::claim::shards::{io_digest, ShardIos};
use kerafold::claim::snarkjs::{self, ProofJson, VkJson};
use kerafold::claim::weights::{self, ciphertext_hash, Layout, Opening};
use kerafold::crypto::babyjubjub::SecretKey;
use kerafold::crypto::bn254::{to_dec, Fr};
use kerafold::data::cid::{cid_of_bytes, Chunking, Codec, FileDag, CHUNK_SIZE, MAX_LINKS};
use kerafold::fold::Visibility;
use kerafold::fold::{self, fe_hex, System};
use kerafold_step_circuits::cs::TamperCs;
use kerafold_step_circuits::spec::Act;
use scenario::{cid_digest, dataset, Scenario, THRESHOLD};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

const ALICE: [u8; 20] = [0xa1; 20];

fn scenario() -> &'static Scenario {
    static S: OnceLock<Scenario> = OnceLock::new();
    S.get_or_init(Scenario::new)
}

#[test]
fn host_decrypts_exactly_the_quantized_model() {
    let s = scenario();
    let back = weights::decrypt(&s.file, &s.host, &s.kappa).unwrap();
    assert_eq!(back, s.opening);
    assert_eq!(back.model, s.model);
    // the plaintext's chain is the Nova circuit's model commitment: with zero blindings it is
    // what `kerafold commit` publishes for the public model
    let public = weights::Opening {
        model: s.model.clone(),
        blinds: vec![],
        tiling: None,
    };
    assert_eq!(
        fe_hex(&public.commitment().unwrap()),
        fold::public_model_commitment(&s.model, System::Bn254Ipa).unwrap()
    );
    let layout = Layout::new(&s.arch);
    let pt = weights::plaintext(&s.arch, &s.model, &s.opening.blinds).unwrap();
    assert_eq!(pt.len(), layout.len);
    assert_eq!(
        weights::chain_from_plaintext(&s.arch, &pt).unwrap(),
        s.opening.commitment().unwrap()
    );
    println!(
        "mlp: plaintext {} elements, ciphertext {}",
        layout.len,
        s.file.ciphertext.len()
    );

    // the wrong host key, or an altered ciphertext, does not decrypt
    assert!(weights::decrypt(&s.file, &SecretKey::random(), &s.kappa).is_err());
    let mut c = s.encrypted.ciphertext.clone();
    c[5] += Fr::ONE;
    let mut bad = s.file.clone();
    bad.ciphertext[5] = to_dec(&c[5]);
    bad.ciphertext_hash = to_dec(&ciphertext_hash(s.encrypted.nonce, &c));
    assert!(weights::decrypt(&bad, &s.host, &s.kappa).is_err());
}

/// The fair exchange's first half: before the hunter reveals κ (to be paid), the host — with its
/// secret key, the ECDH point, the whole ciphertext file — cannot decrypt.
#[test]
fn the_host_cannot_decrypt_without_the_reveal_key() {
    let s = scenario();
    let e = &s.encrypted;
    let shared = s.host.ecdh(&e.hunter);
    let len = Layout::new(&s.arch).len;
    // the ECDH point alone (the old key) does not authenticate
    let e1 = kerafold::crypto::cipher::decrypt(&e.ciphertext, (shared.x, shared.y), e.nonce, len);
    assert!(e1.is_err());
    // nor any key derived with a guessed κ; and a guess is refused before trying
    for guess in [Fr::ZERO, Fr::ONE, s.kappa + Fr::ONE] {
        let k = weights::session_key(&shared, &guess);
        assert!(kerafold::crypto::cipher::decrypt(&e.ciphertext, k, e.nonce, len).is_err());
        let m = weights::decrypt(&s.file, &s.host, &guess)
            .unwrap_err()
            .to_string();
        assert!(m.contains("reveal key"), "{m}");
    }
    // κ is public in no file and no public input; only its hash is
    let file_json = serde_json::to_string(&s.file).unwrap();
    assert!(!file_json.contains(&to_dec(&s.kappa)));
    assert!(!file_json.contains(&hex::encode(kerafold::crypto::bn254::to_be32(&s.kappa))));
    assert_eq!(e.key_hash, weights::key_hash(&s.kappa));
    assert!(weights::is_reveal_key(&s.kappa));
    // a version-1 file (the ECDH point as the key) is refused with the reason
    let mut v1 = s.file.clone();
    v1.version = 1;
    let m = v1.parse().unwrap_err().to_string();
    assert!(m.contains("version-1"), "{m}");
}

#[test]
fn claim_proves_verifies_and_exports() {
    let s = scenario();
    let t = std::time::Instant::now();
    let p = s.prove(ALICE);
    println!(
        "claim circuit: {} constraints, {} public inputs, proved in {:.1}s",
        p.constraints,
        NUM_PUBLIC,
        t.elapsed().as_secs_f64(),
    );
    assert!(p.verify());
    let x = p.public.inputs();
    assert_eq!(x.len(), NUM_PUBLIC);
    assert_eq!(ClaimPublic::from_inputs(&x).unwrap(), p.public);

    // the shared key is nowhere public
    let shared = s.hunter.ecdh(&s.host.public());
    let file_json = serde_json::to_string(&s.file).unwrap();
    for v in [shared.x, shared.y] {
        assert!(!x.contains(&v));
        assert!(!file_json.contains(&to_dec(&v)));
    }

    // snarkjs files round-trip and still verify; another claimant or threshold does not
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/claim-export");
    std::fs::create_dir_all(&dir).unwrap();
    p.write_dir(&dir).unwrap();
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let vk: VkJson = serde_json::from_str(&read("verification_key.json")).unwrap();
    let proof: ProofJson = serde_json::from_str(&read("proof.json")).unwrap();
    let public: Vec<String> = serde_json::from_str(&read("public.json")).unwrap();
    assert_eq!(vk.n_public, NUM_PUBLIC);
    let (vk, proof, xs) = (
        vk.to_ark().unwrap(),
        proof.to_ark().unwrap(),
        snarkjs::parse_public(&public).unwrap(),
    );
    assert!(groth16::verify(&vk, &xs, &proof));
    let mut other = p.public.clone();
    other.claimant = [0xb0; 20];
    assert!(!groth16::verify(&vk, &other.inputs(), &proof));
    let mut other = p.public.clone();
    other.threshold = THRESHOLD - 1;
    assert!(!groth16::verify(&vk, &other.inputs(), &proof));
    assert!(read("calldata.txt").starts_with("[\"0x"));

    // snarkjs itself verifies the export (and solc-js recompiles the contracts to the committed
    // bytecode): the pinned npm packages are installed at test time
    let npm = Command::new("npm").arg("--version").output();
    if npm.map(|o| o.status.success()).unwrap_or(false) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/snarkjs-verify.sh");
        let o = Command::new("bash").arg(script).arg(&dir).output().unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "snarkjs check failed: {out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(out.contains("OK"), "{out}");
        println!("snarkjs groth16 verify: OK");
    } else {
        println!("npm is not installed: the snarkjs cross-check was skipped");
    }
}

/// Synthesizes the claim circuit with `input` (possibly forged) and returns the unsatisfied
/// constraints.
fn unsatisfied(input: &ClaimInput) -> Vec<String> {
    unsatisfied_with(&scenario().spec, input)
}

/// [`unsatisfied`] for the circuit of another spec (another architecture).
fn unsatisfied_with(spec: &ClaimSpec, input: &ClaimInput) -> Vec<String> {
    let mut cs = TamperCs::new();
    ClaimCircuit {
        spec,
        public: Some(&input.public),
        witness: Some(&input.witness),
    }
    .synthesize(&mut cs)
    .unwrap();
    cs.unsatisfied().into_iter().map(String::from).collect()
}

#[test]
fn honest_claim_satisfies_the_circuit_and_matches_the_shape() {
    let s = scenario();
    let input = s.input(ALICE);
    assert!(unsatisfied(&input).is_empty());
    let r1cs = R1cs::of(&ClaimCircuit {
        spec: &s.spec,
        public: None,
        witness: None,
    })
    .unwrap();
    let (x, w) = groth16::witness(&ClaimCircuit {
        spec: &s.spec,
        public: Some(&input.public),
        witness: Some(&input.witness),
    })
    .unwrap();
    assert_eq!(x, input.public.inputs());
    assert_eq!(r1cs.check(&x, &w), Ok(()));
    let mut bad = x.clone();
    bad[5] += Fr::ONE;
    assert!(r1cs.check(&bad, &w).is_err());
}

#[test]
fn forged_claims_fail() {
    let s = scenario();
    let honest = s.input(ALICE);

    // another hunter secret than the public hunter key's
    let mut f = honest.clone();
    f.witness.hunter = SecretKey::random();
    let u = unsatisfied(&f);
    assert_eq!(u[0], "bind_hunter/x", "{u:?}");

    // an altered ciphertext: its hash no longer matches; with a matching hash it does not decrypt
    let mut f = honest.clone();
    f.witness.ciphertext[3] += Fr::ONE;
    let u = unsatisfied(&f);
    assert_eq!(u[0], "bind_ct_hash", "{u:?}");
    f.public.ciphertext_hash = ciphertext_hash(f.witness.nonce, &f.witness.ciphertext);
    let u = unsatisfied(&f);
    assert!(u.contains(&"decrypt/auth".to_string()), "{u:?}");

    let l = IoLayout::ACCURACY;
    // weights whose commitment is not the accuracy proof's
    let mut f = honest.clone();
    f.witness.ios[0].zn[l.model] += Fr::ONE;
    f.witness.ios[0].z0[l.model] += Fr::ONE;
    f.public.io_digest = io_digest(&f.witness.ios);
    assert_eq!(unsatisfied(&f), vec!["slot0/model0", "slot0/model_n"]);

    // a correct count below the threshold
    let correct = s.accuracy.correct as u64;
    let mut f = honest.clone();
    f.public.threshold = correct + 1;
    assert_eq!(unsatisfied(&f), vec!["meets_threshold/recompose"]);

    // an accuracy IVC that did not start from zero correct samples, or from another hash state,
    // or skipped samples
    for (k, at_start, name) in [
        (l.correct, true, "slot0/correct0"),
        (l.samples, true, "bind_start/samples"),
        (l.sha_hi, true, "bind_start/sha_hi"),
        (l.samples, false, "slot0/num_steps"),
    ] {
        let mut f = honest.clone();
        if at_start {
            f.witness.ios[0].z0[k] += Fr::ONE;
        } else {
            f.witness.ios[0].zn[k] -= Fr::ONE;
        }
        f.public.io_digest = io_digest(&f.witness.ios);
        assert_eq!(unsatisfied(&f)[0], name, "{name}");
    }

    // another dataset
    let mut f = honest.clone();
    f.public.cid_digest[31] ^= 1;
    assert_eq!(unsatisfied(&f), vec!["bind_cid/lo"]);

    // another host: the shared key differs, nothing decrypts
    let mut f = honest.clone();
    f.public.host = SecretKey::random().public();
    let u = unsatisfied(&f);
    assert!(u.contains(&"decrypt/auth".to_string()), "{u:?}");

    // an IO digest of another Nova proof
    let mut f = honest.clone();
    f.public.io_digest += Fr::ONE;
    assert_eq!(unsatisfied(&f), vec!["bind_io_digest"]);

    // a reveal key whose hash is not the public key hash: the hunter could be paid for a κ that
    // opens nothing
    let mut f = honest.clone();
    f.witness.kappa += Fr::ONE;
    let u = unsatisfied(&f);
    assert_eq!(u[0], "bind_key_hash/hi", "{u:?}");
    // a κ with its own (public) hash, but not the one the ciphertext was made with: after the
    // reveal the host could not decrypt, so the claim must fail
    f.public.key_hash = weights::key_hash(&f.witness.kappa);
    let u = unsatisfied(&f);
    assert!(u.contains(&"decrypt/auth".to_string()), "{u:?}");
    assert!(!u.iter().any(|c| c.starts_with("bind_key_hash")), "{u:?}");
    // κ must be below 2^248 (its 32-byte form is what the contract hashes)
    let mut f = honest.clone();
    f.witness.kappa += Fr::from_u128(1 << 120) * Fr::from_u128(1 << 120) * Fr::from(256u64);
    let u = unsatisfied(&f);
    assert_eq!(u[0], "kappa_range/recompose", "{u:?}");

    // natively, the same claims are refused before proving
    let mk = |io: ShardIos, cid: [u8; 32], threshold: u64, hunter: &SecretKey| {
        ClaimInput::new(&s.spec, &s.encrypted, hunter, io, cid, threshold, ALICE)
    };
    let cid = cid_digest();
    assert!(mk(s.shards.clone(), cid, THRESHOLD, &s.hunter).is_ok());
    assert!(mk(s.shards.clone(), cid, correct + 1, &s.hunter).is_err());
    assert!(mk(s.shards.clone(), [0; 32], THRESHOLD, &s.hunter).is_err());
    assert!(mk(s.shards.clone(), cid, THRESHOLD, &SecretKey::random()).is_err());
    let mut io = s.shards.clone();
    io.ios[0].zn[l.model] += Fr::ONE;
    assert!(mk(io, cid, THRESHOLD, &s.hunter).is_err());
    let mut io = s.shards.clone();
    io.ios[0].z0[l.correct] += Fr::ONE;
    assert!(mk(io, cid, THRESHOLD, &s.hunter).is_err());
    // a ciphertext file whose key hash is not the hunter's reveal key
    let mut enc = s.encrypted.clone();
    enc.key_hash[0] ^= 1;
    let e = ClaimInput::new(
        &s.spec,
        &enc,
        &s.hunter,
        s.shards.clone(),
        cid,
        THRESHOLD,
        ALICE,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("key hash"), "{e}");
}

/// The claim input of `s` with the ciphertext replaced by `file`'s and the Nova IO's model
/// commitment by `commitment` (the public inputs follow), without the native checks.
fn with_ciphertext(
    s: &Scenario,
    file: &weights::CiphertextFile,
    commitment: Option<Fr>,
) -> ClaimInput {
    let enc = file.parse().unwrap();
    let mut f = s.input(ALICE);
    f.witness.ciphertext = enc.ciphertext.clone();
    f.witness.nonce = enc.nonce;
    f.witness.kappa = weights::reveal_key(&s.hunter, enc.nonce);
    f.public.ciphertext_hash = enc.hash;
    f.public.key_hash = enc.key_hash;
    if let Some(c) = commitment {
        let l = IoLayout::ACCURACY;
        f.witness.ios[0].z0[l.model] = c;
        f.witness.ios[0].zn[l.model] = c;
        f.public.io_digest = io_digest(&f.witness.ios);
    }
    f
}

/// Security issue, path 3: the model commitment binds the architecture. The accuracy is proven
/// with architecture A1; the same weights and blindings are encrypted under A2, where one layer's
/// activation differs. Before the binding both commitments were equal, so the claim and the
/// host's decryption check passed and the host received a model (A2) that was never proven.
#[test]
fn a_swapped_architecture_is_bound_by_the_model_commitment() {
    let s = scenario();
    let mut m2 = s.model.clone();
    let k = m2.steps.iter().position(|st| st.op.is_linear()).unwrap();
    m2.steps[k].act = if m2.steps[k].act == Act::Relu {
        Act::Linear
    } else {
        Act::Relu
    };
    let arch2 = kerafold::fold::Architecture::compile(&m2).unwrap();
    assert_ne!(arch2.digest(), s.arch.digest());
    let o2 = Opening {
        model: m2,
        blinds: s.opening.blinds.clone(),
        tiling: None,
    };
    // same weights and blindings, other architecture: other commitment
    assert_ne!(o2.commitment().unwrap(), s.opening.commitment().unwrap());
    let (file2, _) = weights::encrypt(&o2, &s.host.public(), &s.hunter).unwrap();
    let spec2 = ClaimSpec::new(arch2, *dataset().header());
    // natively refused before proving
    let e = ClaimInput::new(
        &spec2,
        &file2.parse().unwrap(),
        &s.hunter,
        s.shards.clone(),
        cid_digest(),
        THRESHOLD,
        ALICE,
    )
    .unwrap_err();
    assert!(e.to_string().contains("commitment"), "{e}");
    // and in A2's claim circuit, the plaintext's chain is not the accuracy proof's commitment
    let f = with_ciphertext(s, &file2, None);
    assert_eq!(
        unsatisfied_with(&spec2, &f),
        vec!["slot0/model0", "slot0/model_n"]
    );
    // the unchanged architecture still satisfies it
    assert!(unsatisfied(&s.input(ALICE)).is_empty());
}

/// Security issue, path 2, in the claim circuit: a plaintext whose weights break the guard
/// bound (lanes that wrap) is not an integer model; the circuit's well-formedness constraints
/// fail even when everything else (commitment, IO digest) is made consistent with it, and the
/// native checks refuse it before proving and before decryption.
#[test]
fn wrapping_weights_in_the_plaintext_fail_the_claim_circuit() {
    let s = scenario();
    let fp = s.model.fp;
    let mut bad = s.opening.clone();
    let k = bad
        .model
        .steps
        .iter()
        .position(|st| st.op.is_linear())
        .unwrap();
    // beyond the largest weight the bound admits (2^(fw+guard)), still a valid lane packing
    bad.model.steps[k].weights.w[0] = 1 << (fp.fw + fp.guard + 1);
    let arch = &s.arch;
    let pt = weights::plaintext(arch, &bad.model, &bad.blinds).unwrap();
    let e = weights::check_plaintext(arch, &pt).unwrap_err().to_string();
    assert!(e.contains("not those of an integer model"), "{e}");
    let (file, _) = weights::encrypt(&bad, &s.host.public(), &s.hunter).unwrap();
    let commitment = bad.commitment().unwrap();
    let f = with_ciphertext(s, &file, Some(commitment));
    let u = unsatisfied(&f);
    assert!(
        !u.is_empty(),
        "the wrapping plaintext satisfies the claim circuit"
    );
    assert!(
        u.iter().all(|c| c.starts_with(&format!("wellformed{k}/"))),
        "{u:?}"
    );
    // natively: the claim is refused before proving, the host's decryption refuses the model
    let io = ShardIos {
        ios: f.witness.ios.clone(),
        leaves: vec![],
    };
    assert!(ClaimInput::new(
        &s.spec,
        &file.parse().unwrap(),
        &s.hunter,
        io,
        cid_digest(),
        THRESHOLD,
        ALICE
    )
    .is_err());
    let kappa = weights::reveal_key(&s.hunter, file.parse().unwrap().nonce);
    let e = weights::decrypt(&file, &s.host, &kappa)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not those of an integer model"), "{e}");
}

/// Issue 15: a claim over shards of a dataset of several IPFS leaves. The digits dataset named
/// with 1 KiB leaves (three, under a dag-pb root the circuit rebuilds from the leaf states),
/// proven in three shards, bound by a circuit of four slots (the fourth is the canonical
/// padding). Every forged IO below comes with its digest recomputed — a prover choosing what the
/// claim binds — and fails the named constraint; natively, the same IO is refused before proving.
#[test]
fn a_claim_binds_the_shards_of_a_multi_leaf_dataset_and_forged_shards_fail() {
    let s = scenario();
    let data = dataset();
    let chunk = 1024;
    let spec = ClaimSpec::sharded(s.arch.clone(), *data.header(), 4, chunk).unwrap();
    assert!(spec.dag_pb());
    let commitment = fe_hex(&s.opening.commitment().unwrap());
    let claims: Vec<AccuracyClaim> = (1..=3)
        .map(|i| {
            let shard = ShardSpec {
                chunk_size: chunk,
                ..ShardSpec::nth(i, 3, data.len()).unwrap()
            };
            native_shard_claim(&s.model, &data, Visibility::Private, &commitment, &shard).unwrap()
        })
        .collect();
    let cid = FileDag::from_reader(
        data.as_bytes(),
        Chunking {
            chunk_size: chunk,
            max_links: MAX_LINKS,
        },
    )
    .unwrap()
    .cid();
    assert_eq!(cid.codec, Codec::DagPb);
    let shards = ShardIos::from_claims(&claims, 4, &spec.io).unwrap();
    assert_eq!(shards.leaves.len(), 2, "three leaves");
    let input = ClaimInput::new(
        &spec,
        &s.encrypted,
        &s.hunter,
        shards.clone(),
        cid.digest,
        THRESHOLD,
        ALICE,
    )
    .unwrap();
    assert!(unsatisfied_with(&spec, &input).is_empty());
    let r1cs = R1cs::of(&ClaimCircuit {
        spec: &spec,
        public: None,
        witness: None,
    })
    .unwrap();
    let (x, w) = groth16::witness(&ClaimCircuit {
        spec: &spec,
        public: Some(&input.public),
        witness: Some(&input.witness),
    })
    .unwrap();
    assert_eq!(r1cs.check(&x, &w), Ok(()));
    println!(
        "claim circuit, 4 slots, 3 leaves: {} constraints",
        r1cs.num_constraints()
    );

    let l = IoLayout::ACCURACY;
    type Forge = Box<dyn Fn(&mut ShardIos)>;
    let cases: Vec<(&str, Forge, &str)> = vec![
        (
            "a shard removed",
            Box::new(|f| {
                f.ios.remove(1);
                f.ios.push(f.ios[2].clone());
            }),
            "slot1/join_samples",
        ),
        (
            "two shards swapped",
            Box::new(|f| f.ios.swap(0, 1)),
            "bind_start/samples",
        ),
        (
            "a shard repeated",
            Box::new(|f| f.ios[2] = f.ios[1].clone()),
            "slot2/join_samples",
        ),
        (
            "a shard of another model",
            Box::new(move |f| {
                f.ios[1].z0[l.model] += Fr::ONE;
                f.ios[1].zn[l.model] += Fr::ONE;
            }),
            "slot1/model0",
        ),
        (
            "padding that counts samples",
            Box::new(move |f| f.ios[3].zn[l.correct] = Fr::ONE),
            "slot3/correct_le_steps/recompose",
        ),
        (
            "the last shard short of the last sample",
            Box::new(move |f| {
                for io in &mut f.ios[2..] {
                    io.zn[l.samples] -= Fr::ONE;
                    if io.num_steps == 0 {
                        io.z0[l.samples] -= Fr::ONE;
                    } else {
                        io.num_steps -= 1;
                    }
                }
            }),
            "bind_end",
        ),
        (
            "a finished leaf the folds did not reach",
            Box::new(|f| f.leaves[0][0] ^= 1),
            "bind_leaves",
        ),
    ];
    for (what, forge, constraint) in cases {
        let mut f = shards.clone();
        forge(&mut f);
        let mut forged = input.clone();
        forged.witness.ios = f.ios.clone();
        forged.witness.leaves = f.leaves.clone();
        forged.public.io_digest = io_digest(&f.ios);
        let u = unsatisfied_with(&spec, &forged);
        assert_eq!(
            u.first().map(String::as_str),
            Some(constraint),
            "{what}: {u:?}"
        );
        // natively refused before proving
        match ClaimInput::new(
            &spec,
            &s.encrypted,
            &s.hunter,
            f,
            cid.digest,
            THRESHOLD,
            ALICE,
        ) {
            Err(e) => println!("{what}: {constraint}; natively: {e}"),
            Ok(_) => panic!("{what}: accepted natively"),
        }
    }
    // the file's name with IPFS' default leaves (a raw block) is another dataset
    let mut f = input.clone();
    f.public.cid_digest = cid_of_bytes(data.as_bytes()).digest;
    let u = unsatisfied_with(&spec, &f);
    assert!(u.iter().all(|c| c.starts_with("bind_cid/")), "{u:?}");
    assert!(!u.is_empty());
    // more shards than the circuit binds
    let e = ShardIos::from_claims(&claims, 2, &spec.io).unwrap_err();
    assert!(e.to_string().contains("at most 2"), "{e}");
    // shapes a setup (or a hostile setup.json) cannot have
    let header = *data.header();
    for n in [0, 1025] {
        let e = ClaimSpec::sharded(s.arch.clone(), header, n, chunk).unwrap_err();
        assert!(e.to_string().contains("1 to 1024"), "{e}");
    }
    let e = ClaimSpec::sharded(s.arch.clone(), header, 4, 100).unwrap_err();
    println!("--chunk-size 100: {e}");
    let on_chain = |max_shards, chunk_size| ClaimShape {
        max_shards,
        chunk_size,
        ..ClaimShape::ON_CHAIN
    };
    let e = ClaimSpec::of(s.arch.clone(), header, &on_chain(4, CHUNK_SIZE)).unwrap_err();
    assert!(e.to_string().contains("binds no shards"), "{e}");
    let e = ClaimSpec::of(s.arch.clone(), header, &on_chain(1, chunk)).unwrap_err();
    assert!(e.to_string().contains("--chunk-size 1024"), "{e}");
    assert!(ClaimSpec::of(s.arch.clone(), header, &on_chain(1, CHUNK_SIZE)).is_ok());
}
