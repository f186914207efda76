//! The bounty market in a real browser (issue 17): `web/e2e/browser.mjs` starts the development
//! stack (a Hardhat node with the contracts, the IPFS node, `kerafold serve` with the web app)
//! and drives Debian's Chromium through it with playwright-core: a host creates a bounty over a
//! dataset whose CID the page computes, the hunter fetches it by CID (a gateway answering other
//! bytes is refused), proves with this CLI (HyperKZG, over a development tau the bounty's setup
//! names, as the page's commands say) and submits through the page, the page verifies the
//! claim (and shows a claim with a substituted accuracy proof as not verified, its approval
//! disabled), the host approves, the hunter reveals and is paid, and the host decrypts in the
//! page to the hunter's very model opening; a bounty nobody claimed is refunded once its windows
//! are over. `web/install.sh` installs the pinned npm packages,
//! builds the app and installs Chromium when missing. Screenshots of every step are kept in
//! `target/browser-test/`.

use crate::common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Once;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command, what: &str) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    common::succeeded(&o, what);
    eprint!("{}", String::from_utf8_lossy(&o.stderr));
}

/// `web/install.sh`, once per process (two tests running it at once would race in `npm ci`).
fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        run(
            &mut Command::new(repo().join("web/install.sh")),
            "web/install.sh",
        )
    });
}

/// The web app's own tests (`node --test web/test/`): its CIDs against this CLI and the
/// committed vectors, the IPFS node, key files and decryption against this CLI, a bounty's state
/// from its events.
#[test]
fn the_web_apps_modules_agree_with_the_cli() {
    install();
    run(
        Command::new("node")
            .args(["--test", "test/"])
            .current_dir(repo().join("web"))
            .env("KERAFOLD_BIN", env!("CARGO_BIN_EXE_kerafold")),
        "node --test web/test/",
    );
}

#[test]
fn a_bounty_from_creation_to_decryption_in_chromium() {
    install();
    let shots = repo().join("target/browser-test");
    let _ = std::fs::remove_dir_all(&shots);
    run(
        Command::new("node")
            .arg(repo().join("web/e2e/browser.mjs"))
            .arg(&shots)
            .env("KERAFOLD_BIN", env!("CARGO_BIN_EXE_kerafold")),
        "web/e2e/browser.mjs",
    );
    // a screenshot of every step, for the record
    let mut names: Vec<String> = std::fs::read_dir(&shots)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for step in [
        "deployment-refused",
        "host-create-bounty",
        "bounty-open",
        "hunter-fetched-dataset",
        "hunter-dataset-refused",
        "claim-verified",
        "host-sees-claims",
        "approved",
        "paid",
        "decrypted",
        "refunded",
        "bounties",
    ] {
        assert!(
            names.iter().any(|n| n.ends_with(&format!("-{step}.png"))),
            "no screenshot of {step} in {}: {names:?}",
            shots.display()
        );
    }
}
