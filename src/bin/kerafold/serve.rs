//! `kerafold serve`: the JSON API for the bounty web app (`kerafold::serve`).

use crate::args::ParamsArgs;
use clap::Args;
use kerafold::serve::{ServeOptions, DEFAULT_MAX_UPLOAD};
use kerafold::Result;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args)]
#[command(after_help = "Routes (GET /api/health lists them): POST /api/cid, \
    /api/dataset/inspect, /api/model/inspect, /api/proof/describe, /api/verify/accuracy, \
    /api/verify/claim, /api/opening. Every answer is JSON; a proof or claim that does not verify is \
    {\"valid\": false, \"reason\": …}, a bad upload a 400 and an oversized one a 413. The server \
    never takes a secret key: an upload holding one is refused.")]
pub(crate) struct ServeArgs {
    /// Address to listen on (port 0: any free port, printed when listening).
    #[arg(long, default_value = "127.0.0.1:8700")]
    bind: SocketAddr,
    /// Listen on a non-loopback address: anyone who reaches it can use the API.
    #[arg(long)]
    allow_remote: bool,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_UPLOAD)]
    max_upload: usize,
    /// The directory of the .ptau files HyperKZG accuracy proofs are verified over (and that a
    /// bounty setup naming powers of tau is checked against).
    #[arg(long, value_name = "DIR")]
    ptau: Option<PathBuf>,
    /// Serve the web app from DIR (the build of web/: `cd web && npm ci && npm run build` writes
    /// web/dist) on every path outside /api/.
    #[arg(long, value_name = "DIR")]
    web: Option<PathBuf>,
    #[command(flatten)]
    params: ParamsArgs,
    /// Print the listening address as one JSON line.
    #[arg(long)]
    json: bool,
}

pub(crate) fn serve(a: ServeArgs) -> Result<()> {
    let opts = ServeOptions {
        bind: a.bind,
        allow_remote: a.allow_remote,
        max_upload: a.max_upload,
        params_dir: a.params.dir(),
        ptau: a.ptau,
        web: a.web,
    };
    let (json, app) = (a.json, opts.web.is_some());
    kerafold::serve::serve(&opts, &mut |addr| {
        let url = format!("http://{addr}/api/");
        let line = match (json, app) {
            (true, true) => {
                serde_json::json!({"listening": url, "app": format!("http://{addr}/")}).to_string()
            }
            (true, false) => serde_json::json!({"listening": url}).to_string(),
            (false, true) => format!("kerafold bounty app on http://{addr}/, its API on {url}"),
            (false, false) => format!("kerafold API on {url} (GET {url}health lists the routes)"),
        };
        let _ = crate::emit(&line);
    })
}
