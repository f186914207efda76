"""python -m kerafold_ray prove|estimate — see docs/RAY.md."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional

from . import driver


def _shard_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m kerafold_ray",
        description="Prove a kerafold accuracy claim in shards on a Ray cluster, then combine.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    pr = sub.add_parser(
        "prove",
        help="one Ray task per shard, then `kerafold combine`",
        description="Runs `kerafold prove-accuracy --shard I/N` for every shard as a Ray task, "
        "shows progress and the time to finish, retries failed shards, writes "
        "OUT/shard-I-of-N.json, combines them into OUT/accuracy.json and writes "
        "OUT/summary.json. Arguments after `--` go to every prove-accuracy.",
    )
    pr.add_argument(
        "--model",
        required=True,
        type=Path,
        help="Keras model (.keras/.h5) or a model opening (.json)",
    )
    pr.add_argument(
        "--data", required=True, type=Path, help="dataset (.kfd, `kerafold dataset pack`)"
    )
    pr.add_argument("--shards", required=True, type=int, help="number of shards")
    pr.add_argument("--out", required=True, type=Path, help="output directory")
    pr.add_argument(
        "--address",
        help="Ray cluster HOST:PORT, `auto`, or `local` (a one-node Ray in this process); default "
        "$KERAFOLD_RAY_ADDRESS, $RAY_ADDRESS, else the cluster ray/cluster.sh started",
    )
    pr.add_argument(
        "--kerafold", help="kerafold binary (default $KERAFOLD_BIN, target/release/kerafold, PATH)"
    )
    pr.add_argument(
        "--params-dir",
        help="parameter cache on the nodes (default $KERAFOLD_PARAMS, else ./kerafold-params made "
        "absolute; with --ship each node's <tmp>/kerafold-params)",
    )
    pr.add_argument("--model-visibility", choices=["public", "private"], default="private")
    pr.add_argument("--retries", type=int, default=2, help="retries of a failed shard (default 2)")
    pr.add_argument(
        "--ship",
        action="store_true",
        help="send the binary, dataset and model through Ray's object store (no shared paths)",
    )
    pr.add_argument(
        "--cpus-per-shard", type=float, default=1, help="CPUs each shard task takes (default 1)"
    )
    pr.add_argument(
        "--threads-per-shard",
        type=int,
        help="the prover's threads (RAYON_NUM_THREADS; default its CPUs): more than its CPUs lets "
        "a shard use cores that no other shard is using",
    )
    pr.add_argument(
        "--memory-mb", type=int, help="memory each shard task reserves in Ray's scheduler"
    )
    pr.add_argument(
        "--inject-failure",
        type=_shard_list,
        default=[],
        metavar="I[,J]",
        help="fail the first attempt of these shards (tests the retry path)",
    )
    pr.add_argument(
        "--verify",
        action="store_true",
        help="then `kerafold verify` the combined proof against the dataset's CID, here",
    )
    srs = pr.add_mutually_exclusive_group()
    srs.add_argument(
        "--ptau",
        type=Path,
        help="prove with HyperKZG over the powers of tau in this directory (a path every node "
        "shares; faster compression and verification; the verifier names the same --ptau). "
        "Default: IPA, transparent, what a bounty's claim takes",
    )
    srs.add_argument(
        "--insecure-random-tau",
        action="store_true",
        help="HyperKZG with a random tau drawn into --params-dir (shared). INSECURE: whoever reads "
        "it can forge proofs; tests and demos only",
    )
    pr.add_argument("--json", action="store_true", help="print the summary as JSON")
    pr.add_argument("extra", nargs=argparse.REMAINDER, help="-- then arguments for prove-accuracy")

    es = sub.add_parser(
        "estimate",
        help="extrapolate the wall time to more workers from a run's summary.json",
        description="Wall time ≈ fixed cost per shard + ⌈samples/workers⌉ × per-sample fold cost "
        "+ combine cost × shards, from the costs a run measured.",
    )
    es.add_argument(
        "summary", type=Path, help="OUT/summary.json of a `prove` run (or its directory)"
    )
    es.add_argument("--workers", type=_shard_list, default=[1, 8, 64], metavar="1,8,64")
    es.add_argument("--samples", type=int, help="samples to extrapolate to (default the run's)")
    es.add_argument("--json", action="store_true")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    a = parser().parse_args(argv)
    try:
        if a.command == "prove":
            extra = list(a.extra)
            if extra and extra[0] == "--":
                extra = extra[1:]
            summary = driver.prove(
                driver.ProveOptions(
                    model=a.model,
                    data=a.data,
                    shards=a.shards,
                    out=a.out,
                    address=a.address,
                    kerafold=a.kerafold,
                    params_dir=a.params_dir,
                    model_visibility=a.model_visibility,
                    retries=a.retries,
                    ship=a.ship,
                    cpus_per_shard=a.cpus_per_shard,
                    threads_per_shard=a.threads_per_shard,
                    memory_mb=a.memory_mb,
                    inject_failure=a.inject_failure,
                    extra_args=extra,
                    json=a.json,
                    verify=a.verify,
                    ptau=a.ptau,
                    insecure_random_tau=a.insecure_random_tau,
                )
            )
            print(json.dumps(summary, indent=2) if a.json else driver.summary_text(summary))
            return 0
        if a.command == "estimate":
            path = a.summary / "summary.json" if a.summary.is_dir() else a.summary
            try:
                summary = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError) as e:
                raise driver.DriverError(f"cannot read {path}: {e}")
            try:
                est = driver.estimate(summary, a.workers, a.samples)
            except (KeyError, TypeError, ValueError) as e:
                raise driver.DriverError(f"{path} is not a kerafold_ray summary: {e}")
            if a.json:
                print(json.dumps(est, indent=2))
            else:
                print(
                    f"{est['samples']} samples; {est['per_sample_s']} s per sample, "
                    f"{est['fixed_s']} s fixed per shard, "
                    f"{est['combine_per_shard_s']} s combine per shard"
                )
                for w in est["workers"]:
                    print(
                        f"  {w['workers']:>4} workers: {w['shards']} shards of "
                        f"{w['samples_per_shard']} samples, about {w['wall_s']:.0f} s"
                        + ("" if w["verify_s"] is None else f" (verify {w['verify_s']:.0f} s)")
                    )
                for n in est["assumptions"]:
                    print(f"  ({n})")
            return 0
    except driver.DriverError as e:
        print(f"kerafold_ray: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print("kerafold_ray: interrupted", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
