#!/usr/bin/env python3
"""kerafold and EZKL side by side: the same models, the same input, each tool's full pipeline.

    python side_by_side.py [--models mlp,dense16x32] [--work-dir DIR] [--kerafold-bin PATH]
                           [--kerafold-system kzg|ipa] [--kerafold-step-size mlp=88,cnn=layer]

Run it through benches/ezkl/run.sh, which makes the Python venv this needs (ezkl, keras, onnx).

For each model (written by make_models.py as NAME.keras and NAME.onnx with the same weights):

  EZKL (its Python API, ezkl==23.0.5), one child process per stage, so that each is measured:
    prepare = gen_settings, calibrate_settings, compile_circuit, gen_witness
    srs     = gen_srs for the settings' logrows (cached per logrows; NOT timed, see below)
    prove   = setup (keys), prove
    verify  = verify
  kerafold, one child process each:
    ptau    = powers of tau for HyperKZG sized to the model (NOT timed, like EZKL's SRS): an
              untimed `kerafold prove --insecure-random-tau` into a scratch parameter directory
    prove   = kerafold prove NAME.keras --input ... --ptau PTAU --params-dir FRESH_EMPTY_DIR --json
    verify  = kerafold verify PROOF --model NAME.keras --input ... --ptau PTAU --params-dir SAME_DIR --json
  With --kerafold-system ipa, kerafold uses its transparent default (IPA, no SRS, no --ptau).
  --kerafold-step-size NAME=N adds `--step-size N` to both kerafold runs of model NAME (N rows
  a tile, `layer` or `auto`); by default kerafold chooses (`auto`): it tiles the MLP's Dense
  layers at one commitment block (88 rows of its 11-bit activations) and proves the other models
  a step per layer: their Dense layers are 16 wide, and the CNN's cost is in its convolutions,
  which are not tiled yet. Steps a fold are kerafold's own
  default (`prove --steps-per-fold`, chosen from the step circuit and the depth: the Dense 16
  chains pack several layers a fold); the JSON records the choice.

"End to end" is everything up to a written proof: EZKL prepare + prove, kerafold prove (its
calibration, parameter setup, folding and compression are all inside). Verify is timed on its
own. The EZKL structured reference string is excluded: in real use it is downloaded once, and
this machine cannot download it, so it is generated locally with ezkl.gen_srs (an insecure,
test-only SRS of the same size; proving and verifying cost the same with it).

Every child is measured by the OS: wall time around the child, CPU seconds (user + sys) and
peak RSS (ru_maxrss) from os.wait4. Peak MB of a pipeline is the largest peak of its children.

Checks: both proofs verify, and both tools' predicted class equals the float model's argmax
(EZKL: the argmax of the witness outputs, rescaled to floats; kerafold: `class` of prove --json).
The script exits 1 if a check fails or a child fails, after printing the table.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ALL_MODELS = ["mlp", "cnn", "dense16x32", "dense16x128", "dense16x512"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- measuring children -----------


class ChildFailed(Exception):
    pass


def measure(cmd, cwd, label, log_dir):
    """Runs cmd as a child process; returns {wall_s, cpu_s, user_s, sys_s, peak_mb, stdout}.

    stdout and stderr go to files in log_dir (no pipes to fill). Raises ChildFailed on a
    non-zero exit, with the tail of the child's stderr.
    """
    os.makedirs(log_dir, exist_ok=True)
    out_path = os.path.join(log_dir, f"{label}.stdout")
    err_path = os.path.join(log_dir, f"{label}.stderr")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # we reaped it: keep Popen from trying
    with open(out_path, "r", errors="replace") as f:
        stdout = f.read()
    if proc.returncode != 0:
        with open(err_path, "r", errors="replace") as f:
            tail = "".join(f.readlines()[-15:])
        raise ChildFailed(f"{label}: exit {proc.returncode} after {wall:.1f} s ({' '.join(cmd)})\n{tail}")
    return {
        "wall_s": wall,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "peak_mb": ru.ru_maxrss / 1024.0,  # Linux: kilobytes
        "stdout": stdout,
    }


def combine(stages):
    """One pipeline from consecutive children: times add up, the peak is the largest peak."""
    return {
        "wall_s": sum(s["wall_s"] for s in stages),
        "cpu_s": sum(s["cpu_s"] for s in stages),
        "peak_mb": max(s["peak_mb"] for s in stages),
    }


def strip(m):
    return {k: v for k, v in m.items() if k != "stdout"}


# ---------------------------------------------------------------- EZKL (child side) ------------


def ezkl_stage(stage, d, model_dir, name, srs=None):
    """Runs inside a child process: one stage of EZKL's pipeline, files in directory d.

    Prints one JSON line on stdout with what the parent needs.
    """
    import ezkl

    onnx_path = os.path.join(model_dir, f"{name}.onnx")
    data_path = os.path.join(model_dir, f"{name}.ezkl-input.json")
    settings, compiled = os.path.join(d, "settings.json"), os.path.join(d, "network.compiled")
    witness, proof = os.path.join(d, "witness.json"), os.path.join(d, "proof.json")
    vk, pk = os.path.join(d, "vk.key"), os.path.join(d, "pk.key")

    def ok(what, result):
        if result is False or result is None:
            raise SystemExit(f"ezkl.{what} returned {result!r}")
        return result

    if stage == "prepare":
        run_args = ezkl.PyRunArgs()
        # a public model and a public input, like kerafold's defaults: weights fixed in the
        # circuit (part of the verifying key), input and output as public instances
        run_args.input_visibility = "public"
        run_args.output_visibility = "public"
        run_args.param_visibility = "fixed"
        ok("gen_settings", ezkl.gen_settings(onnx_path, settings, py_run_args=run_args))
        ok("calibrate_settings", ezkl.calibrate_settings(data_path, onnx_path, settings, target="resources"))
        ok("compile_circuit", ezkl.compile_circuit(onnx_path, compiled, settings))
        ok("gen_witness", ezkl.gen_witness(data_path, compiled, witness))
        with open(settings) as f:
            s = json.load(f)
        print(json.dumps({"logrows": s["run_args"]["logrows"], "num_rows": s.get("num_rows"),
                          "input_scale": s["run_args"]["input_scale"], "param_scale": s["run_args"]["param_scale"]}))
    elif stage == "srs":  # here d is the SRS file to write and name its logrows
        ezkl.gen_srs(d, int(name))
    elif stage == "prove":
        ok("setup", ezkl.setup(compiled, vk, pk, srs_path=srs))
        ok("prove", ezkl.prove(witness, compiled, pk, proof, srs_path=srs))
        print(json.dumps({"proof_bytes": os.path.getsize(proof), "pk_bytes": os.path.getsize(pk)}))
    elif stage == "verify":
        valid = ezkl.verify(proof, settings, vk, srs_path=srs)
        print(json.dumps({"valid": bool(valid)}))
    else:
        raise SystemExit(f"unknown EZKL stage {stage}")


# ---------------------------------------------------------------- the two pipelines ------------


def run_ezkl(name, model_dir, work, srs_dir):
    d = os.path.join(work, "ezkl")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    me = [sys.executable, os.path.abspath(__file__)]

    def stage(s, *args):
        return me + ["--ezkl-stage", s, *(args or (d, model_dir, name))]

    prepare = measure(stage("prepare"), d, "ezkl-prepare", d)
    info = json.loads(prepare["stdout"].strip().splitlines()[-1])
    logrows = info["logrows"]

    srs_path = os.path.join(srs_dir, f"kzg{logrows}.srs")
    srs_s = None
    if not os.path.exists(srs_path):
        os.makedirs(srs_dir, exist_ok=True)
        log(f"  ezkl: generating a local SRS for logrows {logrows} (not timed; cached in {srs_dir})")
        tmp = srs_path + ".part"
        srs_s = measure(stage("srs", tmp, "-", str(logrows)), d, "ezkl-srs", d)["wall_s"]
        os.replace(tmp, srs_path)

    prove = measure(stage("prove", d, model_dir, name, srs_path), d, "ezkl-prove", d)
    verify = measure(stage("verify", d, model_dir, name, srs_path), d, "ezkl-verify", d)
    valid = json.loads(verify["stdout"].strip().splitlines()[-1])["valid"]
    prove_info = json.loads(prove["stdout"].strip().splitlines()[-1])

    with open(os.path.join(d, "witness.json")) as f:
        w = json.load(f)
    logits = [float(v) for v in w["pretty_elements"]["rescaled_outputs"][0]]
    return {
        "end_to_end": combine([prepare, prove]),
        "stages": {"prepare": strip(prepare), "prove": strip(prove)},
        "verify": strip(verify),
        "valid": valid,
        "logits": logits,
        "class": max(range(len(logits)), key=lambda i: logits[i]),
        "logrows": logrows,
        "num_rows": info.get("num_rows"),
        "scales": {"input": info["input_scale"], "param": info["param_scale"]},
        "proof_bytes": prove_info["proof_bytes"],
        "pk_bytes": prove_info["pk_bytes"],
        "srs_generation_s_excluded": srs_s,
    }


# kerafold's own default (`--step-size auto`) unless asked: it tiles the MLP's Dense layers at
# one commitment block (88 rows) and proves the other models a step per layer
DEFAULT_STEP_SIZES = {}


def run_kerafold(name, model_dir, work, binary, system, step_size):
    d = os.path.join(work, "kerafold")
    shutil.rmtree(d, ignore_errors=True)
    params = os.path.join(d, "params")
    os.makedirs(params)  # fresh and empty: setup is measured from scratch
    model = os.path.join(model_dir, f"{name}.keras")
    inp = os.path.join(model_dir, f"{name}.input.json")
    proof = os.path.join(d, f"{name}.proof")

    tiles = ["--step-size", str(step_size)] if step_size else []
    srs_args, srs_s = [], None
    if system == "kzg":
        # HyperKZG's powers of tau play the part of EZKL's SRS: made here, sized to this model's
        # circuit, and not timed. The untimed run writes them into its own scratch directory.
        scratch = os.path.join(d, "ptau-scratch")
        t = time.monotonic()
        measure([binary, "prove", model, "--input", inp, "-o", os.path.join(scratch, "unused.proof"),
                 "--insecure-random-tau", "--params-dir", scratch, "--json"] + tiles, d, "kerafold-ptau", d)
        srs_s = time.monotonic() - t
        srs_args = ["--ptau", os.path.join(scratch, "insecure-random-tau")]

    prove = measure([binary, "prove", model, "--input", inp, "-o", proof, "--params-dir", params, "--json"]
                    + srs_args + tiles, d, "kerafold-prove", d)
    p = json.loads(prove["stdout"])
    verify = measure([binary, "verify", proof, "--model", model, "--input", inp, "--params-dir", params, "--json"]
                     + srs_args, d, "kerafold-verify", d)
    v = json.loads(verify["stdout"])
    fa = v["claim"]["fixed_point"]["fa"]
    logits = [x / 2.0**fa for x in v["claim"]["output"]["values"]]
    return {
        "end_to_end": combine([prove]),
        "verify": strip(verify),
        "valid": bool(v.get("valid")),
        "class": p["class"],
        "verified_class": v["claim"]["class"],
        "logits": logits,
        "fixed_point": p["fixed_point"],
        "own_report": {k: p.get(k) for k in ("setup_s", "prove_s", "compress_s", "peak_rss_mb", "steps",
                                             "steps_per_fold", "folds", "step_constraints", "proof_bytes",
                                             "system", "tiling")},
        "proof_bytes": p.get("proof_bytes"),
        "srs_generation_s_excluded": srs_s,
        "step_size": step_size,
    }


# ---------------------------------------------------------------- table ------------------------


def fmt_ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "–"


def table(rows):
    head = (
        "| model | EZKL end-to-end s (CPU s) | EZKL peak MB | EZKL verify s "
        "| kerafold end-to-end s (CPU s) | kerafold peak MB | kerafold verify s "
        "| kerafold/EZKL end-to-end | kerafold/EZKL peak | kerafold/EZKL verify | class float / EZKL / kerafold |"
    )
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in rows:
        e, k = r.get("ezkl"), r.get("kerafold")

        def cols(t, tool):
            if t is None:
                return ["failed" if tool in r else "not run", "–", "–"]
            ee = t["end_to_end"]
            return [f"{ee['wall_s']:.1f} ({ee['cpu_s']:.1f})", f"{ee['peak_mb']:.0f}", f"{t['verify']['wall_s']:.2f}"]

        ratios = ["–", "–", "–"]
        if e and k:
            ratios = [
                fmt_ratio(k["end_to_end"]["wall_s"], e["end_to_end"]["wall_s"]),
                fmt_ratio(k["end_to_end"]["peak_mb"], e["end_to_end"]["peak_mb"]),
                fmt_ratio(k["verify"]["wall_s"], e["verify"]["wall_s"]),
            ]
        classes = f"{r['float_class']} / {e['class'] if e else '–'} / {k['class'] if k else '–'}"
        how = []
        if k and k.get("step_size"):
            how.append(f"`--step-size {k['step_size']}`")
        elif k and k["own_report"].get("tiling"):
            t = k["own_report"]["tiling"]
            how.append(f"step size {t['rows']}" + (" (Dense tiles, conv/pool row bands)" if t.get("bands") else " (Dense tiles)"))
        if k and (k["own_report"].get("steps_per_fold") or 1) > 1:
            how.append(f"{k['own_report']['steps_per_fold']} steps a fold")
        label = r["model"] + (f" (kerafold {', '.join(how)})" if how else "")
        lines.append("| " + " | ".join([label] + cols(e, "ezkl") + cols(k, "kerafold") + ratios + [classes]) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- main -------------------------


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--ezkl-stage":
        ezkl_stage(*sys.argv[2:])
        return 0

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(ALL_MODELS), help="comma-separated subset, in order")
    ap.add_argument("--work-dir", default=os.path.join(REPO, "target", "ezkl-bench"),
                    help="models, proofs, keys, logs and results (default: target/ezkl-bench)")
    ap.add_argument("--kerafold-bin", default=os.environ.get("KERAFOLD_BIN", os.path.join(REPO, "target", "release", "kerafold")),
                    help="the kerafold binary (default: $KERAFOLD_BIN, else target/release/kerafold)")
    ap.add_argument("--only", choices=["ezkl", "kerafold"], help="run one tool only (for debugging)")
    ap.add_argument("--kerafold-system", choices=["kzg", "ipa"], default="kzg",
                    help="kzg (default): HyperKZG with powers of tau made beforehand and not timed, as EZKL's SRS; "
                         "ipa: kerafold's transparent default, no SRS")
    ap.add_argument("--kerafold-step-size", default="",
                    help="NAME=N[,NAME=N]: prove model NAME with --step-size N (N: rows, layer or auto); "
                         "default: kerafold's own (auto)")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()

    names = [n for n in args.models.split(",") if n]
    step_sizes = dict(DEFAULT_STEP_SIZES)
    for item in filter(None, args.kerafold_step_size.split(",")):
        k, _, v = item.partition("=")
        step_sizes[k] = v
    binary = os.path.abspath(args.kerafold_bin)
    if args.only != "ezkl" and not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        sys.exit(f"error: no kerafold binary at {binary}: run `cargo build --release` in {REPO}, "
                 "or name one with KERAFOLD_BIN=/path/to/kerafold (or --kerafold-bin)")
    if args.only != "kerafold":
        try:
            import ezkl  # noqa: F401
        except ImportError:
            sys.exit("error: the ezkl Python package is missing: run this through benches/ezkl/run.sh, "
                     "which makes the venv with benches/ezkl/requirements.txt")

    work = os.path.abspath(args.work_dir)
    model_dir = os.path.join(work, "models")
    os.makedirs(model_dir, exist_ok=True)
    log(f"writing the models into {model_dir}")
    subprocess.run([sys.executable, os.path.join(HERE, "make_models.py"), model_dir, "--models", ",".join(names),
                    "--seed", str(args.seed)], check=True)
    with open(os.path.join(model_dir, "models.json")) as f:
        meta = json.load(f)["models"]

    rows, problems = [], []
    for name in names:
        row = {"model": name, "float_class": meta[name]["float_class"], "float_margin": meta[name]["float_margin"],
               "loadavg_before": os.getloadavg()}  # the machine may be shared: keep a trace of it
        float_logits = meta[name]["float_logits"]
        mwork = os.path.join(work, name)
        for tool in ("ezkl", "kerafold"):
            if args.only and args.only != tool:
                continue
            log(f"{name}: {tool} ...")
            try:
                if tool == "ezkl":
                    r = run_ezkl(name, model_dir, mwork, os.path.join(work, "srs"))
                else:
                    r = run_kerafold(name, model_dir, mwork, binary, args.kerafold_system, step_sizes.get(name))
            except ChildFailed as e:
                log(f"  FAILED {e}")
                row[tool] = None
                problems.append(f"{name}/{tool}: child failed")
                continue
            r["max_abs_logit_error"] = max(abs(a - b) for a, b in zip(r["logits"], float_logits))
            row[tool] = r
            ee = r["end_to_end"]
            log(f"  {tool}: end to end {ee['wall_s']:.1f} s wall, {ee['cpu_s']:.1f} s CPU, peak {ee['peak_mb']:.0f} MB; "
                f"verify {r['verify']['wall_s']:.2f} s; valid {r['valid']}; class {r['class']} "
                f"(float {row['float_class']}); max |logit - float| {r['max_abs_logit_error']:.4f}")
            if not r["valid"]:
                problems.append(f"{name}/{tool}: the proof did not verify")
            if r["class"] != row["float_class"]:
                problems.append(f"{name}/{tool}: class {r['class']} != float class {row['float_class']}")
        row["loadavg_after"] = os.getloadavg()
        rows.append(row)
        with open(os.path.join(work, "results.json"), "w") as f:  # after every model: nothing lost
            json.dump({"rows": rows, "problems": problems}, f, indent=1)

    t = table(rows)
    with open(os.path.join(work, "results.md"), "w") as f:
        f.write(t + "\n")
    print(t)
    print("\nload average (1 min) before / after each model: "
          + ", ".join(f"{r['model']} {r['loadavg_before'][0]:.1f} / {r['loadavg_after'][0]:.1f}" for r in rows))
    for p in problems:
        print(f"PROBLEM: {p}")
    if not problems:
        print("\nall proofs verify; both tools' classes equal the float model's argmax")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
