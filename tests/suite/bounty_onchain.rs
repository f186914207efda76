//! On-chain-accuracy claims (issue 14, item 3): the Groth16 claim itself runs every record of a
//! small bounty dataset through the decrypted model, so the contract can pay without the host's
//! approval. The fixture: the digits model (private commitment) on the first 4 records of the
//! 16-sample digits dataset. Every forgery the issue names fails at its named constraint: a count
//! below the threshold, a changed sample or label, a ciphertext of another model. (The claim
//! proven and verified, natively and by the generated verifier on revm, with its public inputs
//! changed: `bounty_onchain_evm.rs`, whose fixture proves this circuit with the same keys.)

use crate::scenario;

use ff::Field;
use kerafold::accuracy::native_claim;
use kerafold::claim::circuit::{
    ClaimCircuit, ClaimInput, ClaimMode, ClaimPublic, ClaimSpec, NUM_PUBLIC,
};
use kerafold::claim::groth16::FrontendCircuit;
use kerafold::claim::weights::{self, Opening};
use kerafold::crypto::babyjubjub::SecretKey;
use kerafold::crypto::bn254::Fr;
use kerafold::data::cid::cid_of_bytes;
use kerafold::data::Dataset;
use kerafold::fold::{fe_hex, Architecture, Visibility};
use kerafold_step_circuits::cs::TamperCs;
use std::sync::OnceLock;

const ALICE: [u8; 20] = [0xa1; 20];
const SAMPLES: usize = 4;

/// The first `SAMPLES` records of the digits dataset, as a dataset of their own.
fn small_dataset() -> Dataset {
    scenario::first_records(SAMPLES)
}

struct Fixture {
    spec: ClaimSpec,
    data: Dataset,
    host: SecretKey,
    hunter: SecretKey,
    opening: Opening,
    encrypted: weights::Encrypted,
    correct: u64,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let model = scenario::digits();
        let data = small_dataset();
        let arch = Architecture::compile(&model).unwrap();
        let opening = Opening::private(model.clone()).unwrap();
        let (host, hunter) = (SecretKey::random(), SecretKey::random());
        let (file, _) = weights::encrypt(&opening, &host.public(), &hunter).unwrap();
        let commitment = fe_hex(&opening.commitment().unwrap());
        let correct = native_claim(&model, &data, Visibility::Private, &commitment)
            .unwrap()
            .correct as u64;
        Fixture {
            spec: ClaimSpec::on_chain(arch, *data.header()).unwrap(),
            data,
            host,
            hunter,
            opening,
            encrypted: file.parse().unwrap(),
            correct,
        }
    })
}

fn honest() -> ClaimInput {
    let f = fixture();
    ClaimInput::on_chain(&f.spec, &f.encrypted, &f.hunter, &f.data, f.correct, ALICE).unwrap()
}

fn unsatisfied(input: &ClaimInput) -> Vec<String> {
    let mut cs = TamperCs::new();
    ClaimCircuit {
        spec: &fixture().spec,
        public: Some(&input.public),
        witness: Some(&input.witness),
    }
    .synthesize(&mut cs)
    .unwrap();
    cs.unsatisfied().into_iter().map(String::from).collect()
}

#[test]
fn the_honest_claim_holds_and_posts_its_ciphertext() {
    let f = fixture();
    assert_eq!(f.spec.mode, ClaimMode::OnChain);
    let input = honest();
    assert!(unsatisfied(&input).is_empty());
    // the public inputs: the twelve of every claim, then the nonce and the ciphertext
    let x = input.public.inputs();
    assert_eq!(x.len(), f.spec.num_public());
    assert_eq!(
        x.len(),
        NUM_PUBLIC + 1 + f.encrypted.ciphertext.len(),
        "nonce and ciphertext are public"
    );
    assert_eq!(&x[NUM_PUBLIC + 1..], &f.encrypted.ciphertext[..]);
    assert_eq!(ClaimPublic::from_inputs(&x).unwrap(), input.public);
    // the CID is the small dataset's, the count is the model's
    assert_eq!(
        input.public.cid_digest,
        cid_of_bytes(f.data.as_bytes()).digest
    );
    assert!(f.correct >= 1, "the model gets {} of {SAMPLES}", f.correct);
}

#[test]
fn a_count_below_the_threshold_fails() {
    let f = fixture();
    let mut bad = honest();
    bad.public.threshold = f.correct + 1;
    assert_eq!(unsatisfied(&bad), vec!["meets_threshold/recompose"]);
    // and natively, before proving
    let e = ClaimInput::on_chain(
        &f.spec,
        &f.encrypted,
        &f.hunter,
        &f.data,
        f.correct + 1,
        ALICE,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("below the threshold"), "{e}");
}

#[test]
fn a_changed_sample_or_label_fails_the_cid() {
    let f = fixture();
    let features = f.data.header().features();
    // one feature byte of sample 2, then sample 1's label
    for (k, at) in [(2, 5), (1, features)] {
        let mut bad = honest();
        let mut w = (*bad.witness.samples.clone().unwrap()).clone();
        w.records[k][at] ^= 1;
        bad.witness.samples = Some(std::sync::Arc::new(w));
        let u = unsatisfied(&bad);
        assert!(
            u.iter().any(|c| c.starts_with("bind_cid/")),
            "record {k} byte {at}: {u:?}"
        );
        // the run's IO (its digest, perhaps the count) changes with the record; nothing else
        assert!(
            u.iter().all(|c| c.starts_with("bind_cid/")
                || c == "bind_io_digest"
                || c == "meets_threshold/recompose"),
            "{u:?}"
        );
    }
}

#[test]
fn a_ciphertext_of_another_model_fails() {
    let f = fixture();
    // the hunter runs the samples with its model but posts the weights of another one (here
    // the same model with one weight changed): the run's weights are not the plaintext's
    let mut other = f.opening.clone();
    let k = other
        .model
        .steps
        .iter()
        .position(|st| st.op.is_linear())
        .unwrap();
    other.model.steps[k].weights.w[0] += 1;
    let (file, _) = weights::encrypt(&other, &f.host.public(), &f.hunter).unwrap();
    let enc = file.parse().unwrap();
    let mut bad = honest();
    let posted = bad.public.posted.as_mut().unwrap();
    posted.nonce = enc.nonce;
    posted.ciphertext = enc.ciphertext.clone();
    bad.public.ciphertext_hash = enc.hash;
    bad.public.key_hash = enc.key_hash;
    bad.witness.nonce = enc.nonce;
    bad.witness.ciphertext = enc.ciphertext.clone();
    bad.witness.kappa = weights::reveal_key(&f.hunter, enc.nonce);
    let u = unsatisfied(&bad);
    for k in 0..SAMPLES {
        assert!(u.contains(&format!("sample{k}/model_commitment")), "{u:?}");
    }
    // (the IO digest follows the posted model's commitment, which the run does not reach)
    assert!(
        u.iter()
            .all(|c| c.ends_with("/model_commitment") || c == "bind_io_digest"),
        "{u:?}"
    );
    // a posted ciphertext that is not the one the proof decrypts fails its hash
    let mut bad = honest();
    bad.public.posted.as_mut().unwrap().ciphertext[3] += Fr::ONE;
    let u = unsatisfied(&bad);
    assert_eq!(u[0], "bind_ct_hash", "{u:?}");
}
