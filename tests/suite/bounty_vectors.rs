//! kerafold's circom-compatible crypto against the JS reference implementations: vectors made
//! once by `tests/vectors/bjj/make_vectors.mjs` (circomlibjs 0.1.7, @zk-kit/baby-jubjub 1.0.3,
//! @zk-kit/eddsa-poseidon 1.1.0, @zk-kit/poseidon-cipher 0.3.2) and committed; no Node needed.

use kerafold::crypto::babyjubjub::{Point, SecretKey};
use kerafold::crypto::blake512::blake512;
use kerafold::crypto::bn254::{from_dec, to_dec, Fr};
use kerafold::crypto::{cipher, poseidon};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
struct Vectors {
    blake512: Vec<Blake>,
    keys: Vec<Key>,
    ecdh: Vec<Ecdh>,
    points: Points,
    poseidon: Vec<Hash>,
    poseidon_perm_t4: Vec<Perm>,
    cipher: Vec<Cipher>,
    chain: Vec<Chain>,
}
#[derive(Deserialize)]
struct Blake {
    msg: String,
    hash: String,
}
#[derive(Deserialize)]
struct Key {
    private_key: String,
    secret_scalar: String,
    public_key: [String; 2],
}
#[derive(Deserialize)]
struct Ecdh {
    secret: usize,
    public: usize,
    shared: [String; 2],
}
#[derive(Deserialize)]
struct Points {
    base8: [String; 2],
    base8_double: [String; 2],
    base8_triple: [String; 2],
    sub_order: String,
    base8_times_sub_order_minus_1: [String; 2],
    base8_times_2_251_minus_1: [String; 2],
}
#[derive(Deserialize)]
struct Hash {
    inputs: Vec<String>,
    hash: String,
}
#[derive(Deserialize)]
struct Perm {
    state: Vec<String>,
    out: Vec<String>,
}
#[derive(Deserialize)]
struct Cipher {
    key: [String; 2],
    nonce: String,
    message: Vec<String>,
    ciphertext: Vec<String>,
}
#[derive(Deserialize)]
struct Chain {
    tag: u64,
    inputs: Vec<String>,
    hash: String,
}

fn vectors() -> Vectors {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/bjj/vectors.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn fes(v: &[String]) -> Vec<Fr> {
    v.iter().map(|s| from_dec(s, "vector").unwrap()).collect()
}

fn pt(c: &[String; 2]) -> Point {
    Point {
        x: from_dec(&c[0], "x").unwrap(),
        y: from_dec(&c[1], "y").unwrap(),
    }
}

#[test]
fn blake512_matches_blake_hash() {
    for v in vectors().blake512 {
        assert_eq!(
            hex::encode(blake512(&hex::decode(&v.msg).unwrap())),
            v.hash,
            "{} bytes",
            v.msg.len() / 2
        );
    }
}

#[test]
fn keys_match_zk_kit_eddsa_poseidon() {
    let v = vectors();
    for k in &v.keys {
        let key = SecretKey::from_private_key(&hex::decode(&k.private_key).unwrap());
        assert_eq!(key.scalar_dec(), k.secret_scalar);
        assert_eq!(key.public().to_dec(), k.public_key);
    }
    for e in &v.ecdh {
        let a = SecretKey::from_private_key(&hex::decode(&v.keys[e.secret].private_key).unwrap());
        let shared = a.ecdh(&pt(&v.keys[e.public].public_key));
        assert_eq!(shared.to_dec(), e.shared);
    }
}

#[test]
fn points_match_zk_kit_baby_jubjub() {
    let p = vectors().points;
    let b = Point::base8();
    assert_eq!(b.to_dec(), p.base8);
    assert_eq!(b.add(&b).to_dec(), p.base8_double);
    assert_eq!(b.add(&b).add(&b).to_dec(), p.base8_triple);
    let bits = |dec: &str| -> Vec<bool> {
        let n: Fr = from_dec(dec, "n").unwrap();
        use ff::PrimeFieldBits;
        n.to_le_bits().iter().take(253).map(|b| *b).collect()
    };
    let l_minus_1 = to_dec(&(from_dec::<Fr>(&p.sub_order, "l").unwrap() - Fr::from(1u64)));
    assert_eq!(
        b.mul_bits(&bits(&l_minus_1)).to_dec(),
        p.base8_times_sub_order_minus_1
    );
    let all_ones = vec![true; 251];
    assert_eq!(b.mul_bits(&all_ones).to_dec(), p.base8_times_2_251_minus_1);
}

#[test]
fn poseidon_matches_circomlibjs() {
    let v = vectors();
    for h in &v.poseidon {
        assert_eq!(
            to_dec(&poseidon::hash(&fes(&h.inputs))),
            h.hash,
            "{} inputs",
            h.inputs.len()
        );
    }
    for p in &v.poseidon_perm_t4 {
        let mut s = fes(&p.state);
        poseidon::permute(&mut s);
        assert_eq!(s, fes(&p.out));
    }
    for c in &v.chain {
        assert_eq!(
            to_dec(&poseidon::chain_hash(c.tag, &fes(&c.inputs))),
            c.hash,
            "{} inputs",
            c.inputs.len()
        );
    }
}

#[test]
fn cipher_matches_zk_kit_poseidon_cipher() {
    for c in vectors().cipher {
        let key = (
            from_dec(&c.key[0], "k").unwrap(),
            from_dec(&c.key[1], "k").unwrap(),
        );
        let nonce: u128 = c.nonce.parse().unwrap();
        let msg = fes(&c.message);
        let ct = cipher::encrypt(&msg, key, nonce);
        assert_eq!(ct, fes(&c.ciphertext), "length {}", msg.len());
        assert_eq!(cipher::decrypt(&ct, key, nonce, msg.len()).unwrap(), msg);
    }
}
