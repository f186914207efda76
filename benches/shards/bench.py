#!/usr/bin/env python3
"""Sharded accuracy proofs at scale (issue 15): per-sample cost, fixed costs, memory, overhead.

    python bench.py [--work-dir DIR] [--kerafold-bin PATH] [--records 10000] [--sizes 8,16,32]
                    [--overhead 4x8] [--verify-records 64] [--verify-shards 4] [--seed 13]
                    [--workers 1,8,64]

Run it through benches/shards/run.sh, which makes the Python venv this needs (Keras on JAX, only
to write the model). Everything goes to the work directory (default target/shards-bench):
the model, the datasets, every proof, a log of every child and results.json / results.md.

What it does, one child process per kerafold command (measured by the OS: wall time around the
child, CPU seconds and peak RSS from os.wait4, as benches/ezkl/side_by_side.py does):

  make     cnn.keras: the MNIST-class CNN of benches/ezkl/make_models.py (28x28x1: Conv2D 4 3x3
           + ReLU, MaxPool 2, Conv2D 8 3x3 + ReLU, MaxPool 2, Flatten, Dense 10), written with that
           script's own functions (its weights, seed 13; no ONNX twin). RECORDS synthetic 28x28 u8
           images (one to three anti-aliased strokes plus noise, from --seed) with labels 0..9:
           the float model's class for 80% of them, a random class for the rest. Packed as
           data.kfd (--scale-shift 8: byte b is the input b/256) and, for the verification
           numbers, verify.kfd: its first VERIFY_RECORDS records, named with leaves of
           VERIFY_RECORDS/4 records (--chunk-size) so that it is a multi-leaf file like data.kfd
           and its step circuit does the same work (the leaf hand-over).
  commit   kerafold commit cnn.keras --data data.kfd --opening opening.json: one private
           commitment for every shard; every shard below proves from opening.json.
  shards   of data.kfd, into one parameter directory, in this order:
             cold   shard 1/RECORDS (one sample) into the empty directory: the parameter setup
                    from nothing, which a worker pays once per architecture;
             sizes  shard 1/N for each size s in --sizes, N chosen so that shard 1 is samples
                    0..s (N = 1250, 625, 312 for 8, 16, 32 of 10,000), parameters cached;
             split  shards 2..K of the smallest size's N (--overhead KxS, S = the smallest size):
                    with shard 1 from `sizes`, samples 0..K*S as K shards, proven in sequence
                    right after the same samples as one shard (size K*S, which must be in --sizes).
           Each reports setup_s (loading or setting up parameters), fold_s, compress_s and its
           peak RSS; per-sample cost = fold_s / samples.
  verify   verify.kfd in --verify-shards shards (shard 1 into an empty parameter directory),
           `kerafold combine`, then `kerafold verify` of the combined proof (--cid) three times
           with the prover's parameter directory (keys cached) and once from an empty directory
           (--arch: the verifier derives its keys); and a lone shard of verify.kfd and of
           data.kfd (shard 1 of the sizes) verified three times each: the per-shard cost.

Then the extrapolation to all RECORDS samples on W workers (--workers), one shard per worker:
  wall(W) = setup_cold + ceil(RECORDS / W) * per_sample + compress + combine(W) + verify(W)
  verify(W) = verify_lone + (W - 1) * verify_extra_shard
where per_sample is the fold time per sample at the largest size, verify_extra_shard the verifier's
cost of each shard beyond the first ((combined - lone) / (shards - 1) on verify.kfd) and
combine(W) the measured combine scaled by W / --verify-shards (it reads and checks every shard).
"""

import argparse
import datetime
import glob
import hashlib
import json
import math
import os
import platform
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EZKL_BENCH = os.path.join(REPO, "benches", "ezkl")
sys.path.insert(0, EZKL_BENCH)

from side_by_side import ChildFailed, measure, strip  # noqa: E402  (stdlib only at import)

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

MODEL = "cnn"
SCALE_SHIFT = 8
CLASSES = 10
LABEL_FROM_MODEL = 0.8


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load_avg():
    return round(os.getloadavg()[0], 2)


# ---------------------------------------------------------------- model and data ---------------


def strokes(rng, n, size=28):
    """n images size x size in [0, 1]: one to three anti-aliased strokes each, plus noise."""
    import numpy as np

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    p = np.stack([xx, yy], axis=-1).reshape(1, -1, 2)  # (1, P, 2)
    img = np.zeros((n, size * size), dtype=np.float32)
    count = rng.integers(1, 4, n)
    for k in range(3):
        a = rng.uniform(4, size - 4, (n, 1, 2)).astype(np.float32)
        b = rng.uniform(4, size - 4, (n, 1, 2)).astype(np.float32)
        width = rng.uniform(0.8, 2.2, (n, 1)).astype(np.float32)
        ab = b - a
        t = np.clip(((p - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-6), 0.0, 1.0)
        d = np.linalg.norm(p - a - t[..., None] * ab, axis=-1)
        ink = np.clip(width + 0.5 - d, 0.0, 1.0) * (k < count)[:, None]
        img = np.maximum(img, ink)
    img = np.clip(img + rng.normal(0.0, 0.06, img.shape), 0.0, 1.0)
    return img.reshape(n, size, size, 1)


def make(work, records, verify_records, seed):
    """Writes cnn.keras, features.npy, labels.npy; returns facts about them."""
    import numpy as np
    import keras
    from make_models import draw_layers, keras_model

    x, layers, ref = draw_layers(MODEL, 13)  # make_models.py's weights for `cnn` (its default seed)
    km = keras_model(MODEL, x, layers)
    model_path = os.path.join(work, f"{MODEL}.keras")
    km.save(model_path)
    reloaded = keras.saving.load_model(model_path)
    got = np.asarray(reloaded(x[None, ...])).reshape(-1)
    if not np.max(np.abs(got - ref.reshape(-1))) < 1e-4 * max(1.0, float(np.max(np.abs(ref)))):
        sys.exit("cnn.keras does not compute make_models.py's reference output")

    rng = np.random.default_rng([seed, 15])
    feats = np.rint(strokes(rng, records) * 255.0).astype(np.uint8)
    inputs = feats.astype(np.float32) / float(1 << SCALE_SHIFT)
    logits = np.concatenate(
        [np.asarray(reloaded(inputs[i : i + 1000])) for i in range(0, records, 1000)]
    )
    pred = logits.argmax(axis=1)
    random_labels = rng.integers(0, CLASSES, records)
    keep = rng.random(records) < LABEL_FROM_MODEL
    labels = np.where(keep, pred, random_labels).astype(np.int64)
    np.save(os.path.join(work, "features.npy"), feats)
    np.save(os.path.join(work, "labels.npy"), labels)
    np.save(os.path.join(work, "verify-features.npy"), feats[:verify_records])
    np.save(os.path.join(work, "verify-labels.npy"), labels[:verify_records])
    hist = np.bincount(pred, minlength=CLASSES)
    return {
        "model": f"{MODEL}.keras",
        "params": int(sum(l["w"].size + l["b"].size for l in layers if "w" in l)),
        "records": records,
        "float_accuracy": float(np.mean(pred == labels)),
        "float_class_histogram": [int(v) for v in hist],
        "mean_ink": float(feats.mean() / 255.0),
    }


# ---------------------------------------------------------------- kerafold children ------------


class Runner:
    def __init__(self, binary, work):
        self.binary = binary
        self.work = work
        self.logs = os.path.join(work, "logs")
        self.n = 0

    def run(self, label, *args, json_out=True):
        self.n += 1
        label = f"{self.n:02d}-{label}"
        cmd = [self.binary, *args]
        log(f"{label}: {' '.join(os.path.relpath(a, self.work) if a.startswith(self.work) else a for a in cmd[1:])}")
        load_before = load_avg()
        m = measure(cmd, self.work, label, self.logs)
        m["load_before"] = load_before
        m["load_after"] = load_avg()
        m["label"] = label
        if json_out:
            m["report"] = json.loads(m["stdout"])
        log(
            f"  {m['wall_s']:.1f} s wall, {m['cpu_s']:.1f} CPU-s, peak {m['peak_mb']:.0f} MB, "
            f"load {load_before}->{m['load_after']}"
        )
        return strip(m)


def shard_count_for(records, size):
    """The N for which shard 1 of N is samples 0..size (ShardSpec::nth: floor(k*records/N))."""
    for n in range(records // size + 2, max(0, records // size - 3), -1):
        if n <= records and records // n == size:
            return n
    sys.exit(f"no N makes shard 1 of {records} samples exactly {size} samples")


def prove_row(m, what):
    r = m["report"]
    return {
        "what": what,
        "shard": r.get("shard"),
        "first": r["first"],
        "samples": r["samples"],
        "correct": r["correct"],
        "setup_s": r["setup_s"],
        "params_cached": r["params_cached"],
        "fold_s": r["fold_s"],
        "per_sample_s": r["fold_s"] / r["samples"],
        "compress_s": r["compress_s"],
        "other_s": m["wall_s"] - r["setup_s"] - r["fold_s"] - r["compress_s"],
        "wall_s": m["wall_s"],
        "cpu_s": m["cpu_s"],
        "peak_mb": m["peak_mb"],
        "reported_peak_mb": r["peak_rss_mb"],
        "step_constraints": r["step_constraints"],
        "primary_constraints": r["primary_constraints"],
        "proof_bytes": r["proof_bytes"],
        "load": [m["load_before"], m["load_after"]],
    }


def best(ms):
    walls = sorted(m["wall_s"] for m in ms)
    return {
        "runs": len(ms),
        "min_s": walls[0],
        "median_s": walls[len(walls) // 2],
        "max_s": walls[-1],
        "peak_mb": max(m["peak_mb"] for m in ms),
    }


# ---------------------------------------------------------------- main -------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work-dir", default=os.path.join(REPO, "target", "shards-bench"))
    ap.add_argument("--kerafold-bin", default=os.environ.get("KERAFOLD_BIN", os.path.join(REPO, "target", "release", "kerafold")))
    ap.add_argument("--records", type=int, default=10000)
    ap.add_argument("--sizes", default="8,16,32", help="shard sizes proven (samples 0..s of the file)")
    ap.add_argument("--overhead", default="4x8", help="KxS: samples 0..K*S as K shards of S, against one shard of K*S")
    ap.add_argument("--verify-records", type=int, default=16)
    ap.add_argument("--verify-shards", type=int, default=2)
    ap.add_argument("--verify-runs", type=int, default=2)
    ap.add_argument("--workers", default="1,8,64")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--make", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--report", action="store_true", help="only redo the extrapolation and results.md from WORK_DIR/results.json")
    args = ap.parse_args()
    if args.report:
        work = os.path.abspath(args.work_dir)
        with open(os.path.join(work, "results.json")) as f:
            results = json.load(f)
        results.setdefault("finished_utc", "(stopped early)")
        finish(results, work)
        return
    if args.make:
        # in a child: this process imports Keras and JAX, the measuring parent never does
        print(json.dumps(make(args.work_dir, args.records, args.verify_records, args.seed)))
        return

    sizes = sorted({int(s) for s in args.sizes.split(",")})
    k_split, s_split = (int(v) for v in args.overhead.lower().split("x"))
    if s_split != sizes[0] or k_split * s_split not in sizes:
        sys.exit(f"--overhead {args.overhead}: S must be the smallest size and K*S one of --sizes {sizes}")
    if args.verify_records % 4 or args.verify_records % args.verify_shards or args.verify_shards < 2:
        sys.exit("--verify-records must be a multiple of 4 and of --verify-shards, which must be at least 2")
    workers = [int(w) for w in args.workers.split(",")]

    work = os.path.abspath(args.work_dir)
    os.makedirs(work, exist_ok=True)
    shutil.rmtree(os.path.join(work, "logs"), ignore_errors=True)
    # a private copy: the shared target/release/kerafold may be rebuilt while this runs
    binary = os.path.join(work, "kerafold-under-test")
    shutil.copy2(args.kerafold_bin, binary)
    with open(binary, "rb") as f:
        binary_sha = hashlib.sha256(f.read()).hexdigest()
    started = datetime.datetime.now(datetime.timezone.utc)
    log(f"kerafold {args.kerafold_bin} (sha256 {binary_sha[:16]}), work dir {work}, load {load_avg()}")

    # --- model and datasets
    t0 = time.perf_counter()
    made = measure([sys.executable, os.path.abspath(__file__), "--make", "--work-dir", work, "--records",
                    str(args.records), "--verify-records", str(args.verify_records), "--seed", str(args.seed)],
                   work, "00-make", os.path.join(work, "logs"))
    facts = json.loads(made["stdout"])
    log(f"model and data written in {time.perf_counter() - t0:.1f} s: {facts}")
    k = Runner(binary, work)
    p = lambda *a: os.path.join(work, *a)  # noqa: E731
    record_bytes = None
    pack = k.run("pack", "dataset", "pack", "--features", p("features.npy"), "--labels", p("labels.npy"),
                 "--classes", str(CLASSES), "--scale-shift", str(SCALE_SHIFT), "-o", p("data.kfd"), "--json")
    k.run("pack-verify", "dataset", "pack", "--features", p("verify-features.npy"), "--labels",
          p("verify-labels.npy"), "--classes", str(CLASSES), "--scale-shift", str(SCALE_SHIFT),
          "-o", p("verify.kfd"), "--json")
    record_bytes = pack["report"].get("record_size") or pack["report"].get("record_bytes")
    cid = k.run("cid", "cid", p("data.kfd"), "--json")["report"]
    if record_bytes is None:
        record_bytes = os.path.getsize(p("data.kfd")) // (args.records + 1)
    verify_chunk = record_bytes * args.verify_records // 4
    commit = k.run("commit", "commit", p(f"{MODEL}.keras"), "--data", p("data.kfd"), "--opening", p("opening.json"))

    # --- shards of data.kfd
    params = p("params")
    shutil.rmtree(params, ignore_errors=True)
    shutil.rmtree(p("proofs"), ignore_errors=True)
    os.makedirs(p("proofs"))

    def prove(label, data, i, n, params_dir, *extra):
        out = p("proofs", f"{label}.json")
        m = k.run(label, "prove-accuracy", p("opening.json"), "--data", data, "--shard", f"{i}/{n}",
                  "-o", out, "--params-dir", params_dir, "--json", *extra)
        return m, out

    rows = {}
    results = {"started_utc": started.isoformat(timespec="seconds"), "kerafold_bin": args.kerafold_bin,
               "kerafold_sha256": binary_sha, "args": vars(args), "rows": rows,
               "data": facts | {"cid": cid, "record_bytes": record_bytes, "file_bytes": os.path.getsize(p("data.kfd"))},
               "commit": {"wall_s": commit["wall_s"], "peak_mb": commit["peak_mb"], "report": commit["report"]},
               "machine": {"nproc": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}}

    def save():
        with open(p("results.json"), "w") as f:
            json.dump(results, f, indent=1)

    def size_run(s):
        n = shard_count_for(args.records, s)
        cold = not rows
        m, out = prove(f"size{s}-1of{n}", p("data.kfd"), 1, n, params)
        rows[f"size{s}"] = prove_row(m, f"shard 1/{n}" + (", empty parameter directory" if cold else ""))
        save()
        return out

    # the smallest size first, into the empty directory (its setup_s is the setup from nothing), then
    # the largest, then the split right after it: side by side
    lone_data_shard = size_run(sizes[0])
    size_run(sizes[-1])
    n_split = shard_count_for(args.records, s_split)
    split = [rows[f"size{s_split}"]]
    for i in range(2, k_split + 1):
        m, _ = prove(f"split-{i}of{n_split}", p("data.kfd"), i, n_split, params)
        split.append(prove_row(m, f"shard {i}/{n_split}"))
    one = rows[f"size{k_split * s_split}"]

    def fixed(r):
        return r["setup_s"] + r["compress_s"] + r["other_s"]

    # the cold shard's setup is from nothing; count it as a cached load, like the other shards'
    split_fixed = [fixed(r) if r["params_cached"] else fixed(r) - r["setup_s"] + one["setup_s"] for r in split]
    overhead = {
        "samples": k_split * s_split,
        "shards": k_split,
        "one_shard_fold_s": one["fold_s"],
        "shards_fold_s": sum(r["fold_s"] for r in split),
        "fold_ratio": sum(r["fold_s"] for r in split) / one["fold_s"],
        "one_shard_fixed_s": fixed(one),
        "shards_fixed_s": sum(split_fixed),
        "split": split,
    }
    results["overhead"] = overhead
    save()
    log(f"sharding overhead: {overhead['fold_ratio']:.3f}x fold time")

    # --- verification: verify.kfd in shards, combined and verified
    vparams = p("verify-params")
    shutil.rmtree(vparams, ignore_errors=True)
    vshards, vrows = [], []
    for i in range(1, args.verify_shards + 1):
        m, out = prove(f"verify-{i}of{args.verify_shards}", p("verify.kfd"), i, args.verify_shards, vparams,
                       "--chunk-size", str(verify_chunk))
        vshards.append(out)
        vrows.append(prove_row(m, f"verify.kfd shard {i}/{args.verify_shards}"))
    vcid = m["report"]["cid"]
    comb = k.run("combine", "combine", *vshards, "-o", p("proofs", "combined.json"), "--json")
    verify_warm = [
        k.run(f"verify-combined-{r}", "verify", p("proofs", "combined.json"), "--cid", vcid,
              "--params-dir", vparams, "--json")
        for r in range(args.verify_runs)
    ]
    verify_lone = [
        k.run(f"verify-lone-{r}", "verify", vshards[0], "--params-dir", vparams, "--json")
        for r in range(args.verify_runs)
    ]
    verify_lone_data = [
        k.run(f"verify-lone-data-{r}", "verify", lone_data_shard, "--params-dir", params, "--json")
        for r in range(args.verify_runs)
    ]
    cold_dir = p("verify-params-cold")
    shutil.rmtree(cold_dir, ignore_errors=True)
    arch = glob.glob(os.path.join(vparams, "*", "arch.json"))
    verify_cold = k.run("verify-combined-cold", "verify", p("proofs", "combined.json"), "--cid", vcid,
                        "--params-dir", cold_dir, "--json", *(["--arch", arch[0]] if arch else []))
    for m in verify_warm + verify_lone + verify_lone_data + [verify_cold]:
        if not m["report"].get("valid"):
            sys.exit(f"{m['label']}: not valid: {m['report']}")
    if not verify_warm[0]["report"].get("whole") or verify_warm[0]["report"].get("shards") != args.verify_shards:
        sys.exit(f"the combined proof did not verify as the whole file in {args.verify_shards} shards")
    verification = {
        "records": args.verify_records,
        "shards": args.verify_shards,
        "chunk_size": verify_chunk,
        "cid": vcid,
        "combine": {"wall_s": comb["wall_s"], "peak_mb": comb["peak_mb"], "report": comb["report"]},
        "combined_warm": best(verify_warm),
        "combined_cold": {"wall_s": verify_cold["wall_s"], "peak_mb": verify_cold["peak_mb"]},
        "lone_shard_warm": best(verify_lone),
        "lone_data_shard_warm": best(verify_lone_data),
        "shards_proven": vrows,
    }
    extra = (verification["combined_warm"]["median_s"] - verification["lone_shard_warm"]["median_s"]) / (
        args.verify_shards - 1
    )
    verification["per_extra_shard_s"] = extra
    results["verification"] = verification
    save()

    # --- the sizes between, last
    for s in sizes[1:-1]:
        size_run(s)

    results["finished_utc"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    finish(results, work)


def finish(results, work):
    """Adds the extrapolation to `results`, writes results.json and results.md, prints the latter.

    `bench.py --report` runs this alone on an existing results.json (e.g. of a run stopped after
    the verification step: the sizes not proven are left out)."""
    args = results["args"]
    rows = results["rows"]
    split = results["overhead"]["split"]
    v = results["verification"]
    sizes = sorted(int(k[4:]) for k in rows)
    per_sample = rows[f"size{sizes[-1]}"]["per_sample_s"]  # the largest shard: steady-state folds
    warm_rows = list(rows.values()) + split[1:]
    compress = sorted(r["compress_s"] for r in warm_rows)[len(warm_rows) // 2]
    other = sorted(r["other_s"] for r in warm_rows)[len(warm_rows) // 2]
    setup_cold = min(r["setup_s"] for r in warm_rows if not r["params_cached"])
    setup_cached = sorted(r["setup_s"] for r in warm_rows if r["params_cached"])
    combine_per_shard = v["combine"]["wall_s"] / v["shards"]
    lone = v["lone_data_shard_warm"]["median_s"]
    extra = v["per_extra_shard_s"]
    extrap = []
    for w in (int(x) for x in str(args["workers"]).split(",")):
        samples = math.ceil(args["records"] / w)
        prove_s = setup_cold + samples * per_sample + compress + other
        comb_s = combine_per_shard * w
        ver_s = lone + (w - 1) * extra
        extrap.append({
            "workers": w,
            "samples_per_worker": samples,
            "prove_s": prove_s,
            "combine_s": comb_s,
            "verify_s": ver_s,
            "wall_s": prove_s + comb_s + ver_s,
            "wall_h": (prove_s + comb_s + ver_s) / 3600,
        })
    results["extrapolation"] = {
        "formula": "wall(W) = setup_cold + ceil(records/W)*per_sample + compress + other "
        "+ combine_per_shard*W + verify_lone + (W-1)*verify_extra_shard",
        "setup_cold_s": setup_cold,
        "setup_cached_median_s": setup_cached[len(setup_cached) // 2] if setup_cached else None,
        "per_sample_s": per_sample,
        "compress_s": compress,
        "other_s": other,
        "combine_per_shard_s": combine_per_shard,
        "verify_lone_s": lone,
        "verify_extra_shard_s": extra,
        "rows": extrap,
    }
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    text = markdown(results)
    with open(os.path.join(work, "results.md"), "w") as f:
        f.write(text)
    sys.stdout.write(text)


def markdown(r):
    out = []
    w = out.append
    d = r["data"]
    w(f"Run {r['started_utc']} .. {r['finished_utc']}; kerafold sha256 {r['kerafold_sha256'][:16]}; "
      f"{d['records']} records of {d['record_bytes']} bytes ({d['file_bytes']} bytes, CID {d['cid'].get('cid', d['cid'])}); "
      f"float accuracy {d['float_accuracy']:.3f}.\n\n")
    w("| run | samples | setup s | cached | fold s | fold s / sample | compress s | other s | wall s | peak MB | step constraints | load |\n")
    w("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
    allrows = list(r["rows"].values()) + r["overhead"]["split"][1:] + r["verification"]["shards_proven"]
    for x in allrows:
        w(f"| {x['what']} | {x['samples']} | {x['setup_s']:.1f} | {'yes' if x['params_cached'] else 'no'} | "
          f"{x['fold_s']:.1f} | {x['per_sample_s']:.2f} | {x['compress_s']:.1f} | {x['other_s']:.1f} | "
          f"{x['wall_s']:.1f} | {x['peak_mb']:.0f} | {x['step_constraints']} | {x['load'][0]}–{x['load'][1]} |\n")
    o = r["overhead"]
    w(f"\nSharding overhead, samples 0..{o['samples']}: {o['shards']} shards fold in {o['shards_fold_s']:.1f} s, "
      f"one shard in {o['one_shard_fold_s']:.1f} s: **{o['fold_ratio']:.3f}×**; fixed costs (setup + compress + other) "
      f"{o['shards_fixed_s']:.1f} s vs {o['one_shard_fixed_s']:.1f} s (the first shard's setup counted as a cached "
      f"load).\n")
    v = r["verification"]
    w(f"\nVerification ({v['records']} records in {v['shards']} shards, leaves of {v['chunk_size']} bytes): combine "
      f"{v['combine']['wall_s']:.2f} s; verify combined {v['combined_warm']['median_s']:.2f} s (median of "
      f"{v['combined_warm']['runs']}, {v['combined_warm']['min_s']:.2f}–{v['combined_warm']['max_s']:.2f}), "
      f"from an empty parameter directory {v['combined_cold']['wall_s']:.1f} s; lone shard "
      f"{v['lone_shard_warm']['median_s']:.2f} s (data.kfd's: {v['lone_data_shard_warm']['median_s']:.2f} s); "
      f"each shard beyond the first {v['per_extra_shard_s']:.2f} s; peak {v['combined_warm']['peak_mb']:.0f} MB.\n")
    e = r["extrapolation"]
    w(f"\nExtrapolation: `{e['formula']}` with setup_cold {e['setup_cold_s']:.1f} s, per_sample {e['per_sample_s']:.2f} s, "
      f"compress {e['compress_s']:.1f} s, other {e['other_s']:.1f} s, combine {e['combine_per_shard_s']:.3f} s/shard, "
      f"verify_lone {e['verify_lone_s']:.2f} s, verify_extra_shard {e['verify_extra_shard_s']:.2f} s.\n\n")
    w("| workers | samples/worker | prove s | combine s | verify s | wall s | wall h |\n|---:|---:|---:|---:|---:|---:|---:|\n")
    for x in e["rows"]:
        w(f"| {x['workers']} | {x['samples_per_worker']} | {x['prove_s']:.0f} | {x['combine_s']:.1f} | "
          f"{x['verify_s']:.1f} | {x['wall_s']:.0f} | {x['wall_h']:.2f} |\n")
    return "".join(out)


if __name__ == "__main__":
    try:
        main()
    except ChildFailed as e:
        sys.exit(str(e))
