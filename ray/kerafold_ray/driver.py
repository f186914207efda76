"""The driver: one Ray task per shard, progress, retries, then `kerafold combine`."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, TextIO

from . import progress as pg

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent.parent
STATE_DIR = Path(
    os.environ.get("KERAFOLD_RAY_DIR") or Path(os.environ.get("TMPDIR", "/tmp")) / "kerafold-ray"
)


class DriverError(Exception):
    """A failure the driver explains in one message; `code` is the exit status."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class ProveOptions:
    model: Path
    data: Path
    shards: int
    out: Path
    address: Optional[str] = None
    kerafold: Optional[str] = None
    params_dir: Optional[str] = None
    model_visibility: str = "private"
    retries: int = 2
    ship: bool = False
    cpus_per_shard: float = 1
    threads_per_shard: Optional[int] = None  # the prover's threads (default: its CPUs)
    memory_mb: Optional[int] = None
    inject_failure: list[int] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)
    json: bool = False
    verify: bool = False
    # HyperKZG instead of IPA: powers of tau at a path every node shares, or (tests) a random tau
    # drawn into the shared parameter directory.
    ptau: Optional[Path] = None
    insecure_random_tau: bool = False


# ---------------------------------------------------------------------------------------------
# Finding the binary and the cluster


def find_kerafold(explicit: Optional[str]) -> str:
    """The kerafold binary: --kerafold, $KERAFOLD_BIN, this checkout's release build, or PATH."""
    candidates = [explicit, os.environ.get("KERAFOLD_BIN")]
    for c in candidates:
        if c:
            p = Path(c).expanduser()
            if p.is_file() and os.access(p, os.X_OK):
                return str(p.resolve())
            raise DriverError(f"kerafold binary {c} not found or not executable")
    built = REPO_DIR / "target" / "release" / "kerafold"
    if built.is_file():
        return str(built)
    on_path = shutil.which("kerafold")
    if on_path:
        return on_path
    raise DriverError(
        "no kerafold binary: build it with `cargo build --release --bin kerafold` in "
        f"{REPO_DIR} (or pass --kerafold PATH / set KERAFOLD_BIN)"
    )


def check_kerafold(kerafold: str) -> None:
    """Refuses a binary without the sharded prover (an older build)."""
    try:
        out = subprocess.run(
            [kerafold, "prove-accuracy", "--help"], capture_output=True, text=True, timeout=60
        )
    except OSError as e:
        raise DriverError(f"cannot run {kerafold}: {e}")
    missing = [f for f in ("--shard", "--progress-json") if f not in out.stdout]
    if out.returncode != 0 or missing:
        raise DriverError(
            f"{kerafold} has no prove-accuracy {' '.join(missing)}: rebuild it with "
            "`cargo build --release --bin kerafold`"
        )


def srs_arguments(o: ProveOptions) -> list[str]:
    """prove-accuracy's flags for HyperKZG, checked: every shard must use the same tau."""
    if o.ptau is not None and o.insecure_random_tau:
        raise DriverError("--ptau and --insecure-random-tau exclude each other")
    if o.ptau is not None:
        if o.ship:
            raise DriverError(
                "--ptau is read on every node: give a directory all nodes share (without --ship)"
            )
        ptau = o.ptau.expanduser().resolve()
        if not ptau.is_dir():
            raise DriverError(f"--ptau {o.ptau}: not a directory of .ptau files")
        return ["--ptau", str(ptau)]
    if o.insecure_random_tau:
        if o.ship or not o.params_dir:
            raise DriverError(
                "--insecure-random-tau needs --params-dir on a path every node shares (the shards "
                "must prove with one tau, drawn there), and not --ship"
            )
        return ["--insecure-random-tau"]
    return []


def resolve_address(explicit: Optional[str]) -> str:
    """--address, $KERAFOLD_RAY_ADDRESS, $RAY_ADDRESS, the cluster ray/cluster.sh started."""
    for a in (explicit, os.environ.get("KERAFOLD_RAY_ADDRESS"), os.environ.get("RAY_ADDRESS")):
        if a:
            return a
    state = STATE_DIR / "address"
    if state.is_file() and state.read_text().strip():
        return state.read_text().strip()
    raise DriverError(
        "no Ray cluster given: start the local one with `ray/cluster.sh start` (it prints the "
        "address; the driver finds it by itself), or pass --address HOST:PORT of a running "
        "cluster, or --address local for a one-node Ray inside this process"
    )


def probe(address: str, timeout: float = 5.0) -> None:
    """Fails fast when nothing listens at HOST:PORT (ray.init would retry for minutes)."""
    if address in ("auto", "local") or "://" in address or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as e:
        raise DriverError(
            f"no Ray cluster at {address} ({e}): start the local one with `ray/cluster.sh start`, "
            "or check --address / $KERAFOLD_RAY_ADDRESS"
        )


def connect(address: str) -> Any:
    """ray.init against the cluster, with this package shipped to the workers."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    runtime_env = {"py_modules": [str(PACKAGE_DIR)]}
    probe(address)
    try:
        if address == "local":
            ray.init(runtime_env=runtime_env, logging_level=logging.ERROR, log_to_driver=False)
        else:
            ray.init(
                address=address,
                runtime_env=runtime_env,
                logging_level=logging.ERROR,
                log_to_driver=False,
            )
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise DriverError(
            f"Ray cluster at {address} not reachable ({str(e).splitlines()[0]}): start one with "
            "`ray/cluster.sh start`, or check --address / $KERAFOLD_RAY_ADDRESS"
        )
    return ray


# ---------------------------------------------------------------------------------------------
# Running kerafold on the driver's host


def run_local(cmd: list[str], what: str) -> tuple[str, float]:
    t = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        err = out.stderr.strip() or out.stdout.strip()
        raise DriverError(f"{what} failed (exit {out.returncode}): {err}", code=1)
    return out.stdout, time.time() - t


def dataset_records(kerafold: str, data: Path) -> Optional[int]:
    """The number of samples in the dataset, for estimates before the shards report."""
    try:
        text, _ = run_local([kerafold, "dataset", "inspect", str(data), "--json"], "inspect")
        info = json.loads(text)
    except (DriverError, json.JSONDecodeError):
        return None
    for key in ("records", "samples", "count", "n"):
        if isinstance(info.get(key), int):
            return int(info[key])
    return None


# ---------------------------------------------------------------------------------------------
# Display


class Display:
    """Per-shard progress and the time to finish, on a stream (stderr).

    On a terminal the shard lines are redrawn in place; otherwise one line per change of phase,
    per tenth of a shard's samples, and an overall line with them (at most every 2 s) or every
    30 s."""

    def __init__(self, shards: list[pg.ShardProgress], stream: TextIO = sys.stderr) -> None:
        self.shards = shards
        self.stream = stream
        self.tty = stream.isatty()
        self.drawn = 0
        self.last_key: dict[int, tuple] = {}
        self.last_overall = 0.0
        self.eta: Optional[float] = None

    def shard_line(self, s: pg.ShardProgress, now: float) -> str:
        head = f"shard {s.index}/{len(self.shards)}"
        if s.attempt > 1:
            head += f" (attempt {s.attempt})"
        where = f" on {s.node}" if s.node else ""
        if s.state == "done" and s.report is not None:
            r = s.report
            return (
                f"{head}: done{where}: {r.get('correct')}/{r.get('samples')} correct, "
                f"{pg.fmt_s(s.wall_s)} (fold {pg.fmt_s(r.get('fold_s'))}), "
                f"peak {_mb(r.get('peak_rss_mb'))}"
            )
        if s.state == "queued":
            return f"{head}: queued"
        if s.state == "failed":
            return f"{head}: failed{where}"
        phase = s.phase or "starting"
        since = pg.fmt_s(now - s.started_at) if s.started_at else "?"
        if phase == "fold" and s.samples:
            pct = 100.0 * s.done / s.samples
            return f"{head}: fold {s.done}/{s.samples} ({pct:.0f}%){where}, {since}"
        return f"{head}: {phase}{where}, {since}"

    def overall_line(self, now: float) -> str:
        done = sum(s.done for s in self.shards)
        total = sum(s.samples or 0 for s in self.shards)
        finished = sum(1 for s in self.shards if s.state == "done")
        running = sum(1 for s in self.shards if s.state == "running")
        if self.eta is None:
            eta = "estimating"
        elif finished == 0:  # compression not measured yet: a lower bound
            eta = f"at least {pg.fmt_s(self.eta)} to finish (compression not measured yet)"
        else:
            eta = f"about {pg.fmt_s(self.eta)} to finish"
        return (
            f"{finished}/{len(self.shards)} shards done, {running} running, "
            f"{done}/{total or '?'} samples folded; {eta}"
        )

    def update(self, now: float, eta: Optional[float], force: bool = False) -> None:
        self.eta = eta
        if self.tty:
            lines = [self.shard_line(s, now) for s in self.shards] + [self.overall_line(now)]
            if self.drawn:
                self.stream.write(f"\x1b[{self.drawn}F")
            for line in lines:
                self.stream.write("\x1b[2K" + line + "\n")
            self.drawn = len(lines)
            self.stream.flush()
            return
        changed = False
        for s in self.shards:
            tenth = int(10 * s.done / s.samples) if s.samples else 0
            key = (s.state, s.phase, s.attempt, tenth if s.phase == "fold" else 0)
            if self.last_key.get(s.index) != key:
                self.last_key[s.index] = key
                self.stream.write(self.shard_line(s, now) + "\n")
                changed = True
        if force or (changed and now - self.last_overall >= 2) or now - self.last_overall >= 30:
            self.stream.write(self.overall_line(now) + "\n")
            self.last_overall = now
        self.stream.flush()

    def note(self, text: str) -> None:
        if self.tty and self.drawn:
            self.drawn = 0  # keep the block above, start a new one below the note
        self.stream.write(text + "\n")
        self.stream.flush()


def _mb(x: Any) -> str:
    return f"{x:.0f} MB" if isinstance(x, (int, float)) else "?"


# ---------------------------------------------------------------------------------------------
# prove


def prove(o: ProveOptions) -> dict:
    t_start = time.time()
    if o.shards < 1:
        raise DriverError("--shards must be at least 1")
    for p, what in ((o.model, "model"), (o.data, "dataset")):
        if not p.is_file():
            raise DriverError(f"{what} {p} not found")
    srs_args = srs_arguments(o)
    kerafold = find_kerafold(o.kerafold)
    check_kerafold(kerafold)
    out = o.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    model = o.model.resolve()
    data = o.data.resolve()
    log = sys.stderr
    total = dataset_records(kerafold, data)
    if total is not None and o.shards > total:
        raise DriverError(f"{o.shards} shards of {total} samples: at most one shard per sample")

    address = resolve_address(o.address)
    ray = connect(address)

    # A private model: one commitment for every shard (the opening), drawn here.
    commit_s = 0.0
    if o.model_visibility == "private" and model.suffix.lower() != ".json":
        opening = out / "opening.json"
        print(f"committing to the private model: {opening}", file=log)
        _, commit_s = run_local(
            [kerafold, "commit", str(model), "--data", str(data), "--opening", str(opening)],
            "kerafold commit",
        )
        model = opening

    # The parameter cache: --params-dir on every node; else a node's own $KERAFOLD_PARAMS; else
    # the driver's (shared paths: $KERAFOLD_PARAMS or ./kerafold-params, made absolute; --ship:
    # each node's <tmp>/kerafold-params).
    params_dir = o.params_dir
    if params_dir and not o.ship:
        params_dir = str(Path(params_dir).expanduser().resolve())
    params_default = None
    if not o.ship:
        params_default = str(Path(os.environ.get("KERAFOLD_PARAMS") or "kerafold-params").resolve())

    from . import tasks

    def count_slots() -> int:
        return max(int(ray.cluster_resources().get("CPU", 1) // max(o.cpus_per_shard, 0.001)), 1)

    slots = count_slots()
    nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
    print(
        f"Ray cluster {address}: {nodes} node(s), {slots} shard slot(s); {o.shards} shards of "
        f"{data.name}{' (binary, data and model shipped)' if o.ship else ''}",
        file=log,
    )

    shards = [pg.ShardProgress(i + 1) for i in range(o.shards)]
    if total is not None:
        for s, (_, n) in zip(shards, pg.shard_ranges(total, o.shards)):
            s.samples = n
    display = Display(shards, log)

    payload: tuple[Any, Any, Any] = (None, None, None)
    if o.ship:
        payload = (
            ray.put(Path(kerafold).read_bytes()),
            ray.put(data.read_bytes()),
            ray.put(model.read_bytes()),
        )
    hub = tasks.ProgressHub.remote()  # type: ignore[attr-defined]
    options: dict[str, Any] = {"num_cpus": o.cpus_per_shard}
    if o.memory_mb:
        options["memory"] = o.memory_mb * 1024 * 1024
    threads = o.threads_per_shard or max(int(o.cpus_per_shard), 1)

    def submit(index: int, attempt: int) -> Any:
        job = tasks.ShardJob(
            shard=index,
            shards=o.shards,
            attempt=attempt,
            kerafold="kerafold" if o.ship else kerafold,
            model=model.name if o.ship else str(model),
            data=data.name if o.ship else str(data),
            params_dir=params_dir,
            params_default=params_default,
            model_visibility=o.model_visibility,
            extra_args=srs_args + list(o.extra_args),
            threads=threads,
            fail=attempt == 1 and index in o.inject_failure,
        )
        return tasks.run_shard.options(**options).remote(job, hub, *payload)

    def shard_file(index: int) -> Path:
        return out / f"shard-{index}-of-{o.shards}.json"

    pending: dict[Any, tuple[int, int]] = {}
    for s in shards:
        pending[submit(s.index, 1)] = (s.index, 1)
    results: dict[int, dict] = {}
    slots_at = time.time()
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            now = time.time()
            if now - slots_at > 10:  # nodes come and go (autoscaling, failures)
                slots, slots_at = count_slots(), now
            for shard, attempt, at, ev in ray.get(hub.take.remote()):
                s = shards[shard - 1]
                if attempt == s.attempt and s.state not in ("done", "failed"):
                    s.on_event(ev, at)
            for ref in ready:
                index, attempt = pending.pop(ref)
                s = shards[index - 1]
                try:
                    r = ray.get(ref)
                except Exception as e:  # ShardFailed inside a RayTaskError, or a lost node
                    msg = _failure_text(e)
                    if attempt <= o.retries:
                        display.note(
                            f"shard {index} failed (attempt {attempt} of {o.retries + 1}): "
                            f"{msg.splitlines()[-1] if msg else type(e).__name__}; retrying"
                        )
                        s.restart(attempt + 1)
                        pending[submit(index, attempt + 1)] = (index, attempt + 1)
                        continue
                    s.state = "failed"
                    display.update(now, None, force=True)
                    raise DriverError(
                        f"shard {index}/{o.shards} failed ({attempt} attempt"
                        f"{'s' if attempt > 1 else ''}; the last one's error follows):\n{msg}",
                        code=1,
                    )
                results[index] = r
                s.finish(r["report"], r["wall_s"])
                shard_file(index).write_bytes(r["proof"])  # kept even if a later shard fails
            display.update(now, pg.time_to_finish(shards, slots, now))
    finally:
        if pending:
            # Interrupt the other shards (their provers are stopped and work dirs removed).
            for ref in pending:
                ray.cancel(ref)
            ray.wait(list(pending), num_returns=len(pending), timeout=15)
    fold_done = time.time()

    # The shard proofs into one.
    shard_files = [shard_file(i) for i in range(1, o.shards + 1)]
    combined = out / "accuracy.json"
    print(f"combining {o.shards} shard proofs into {combined}", file=log)
    text, combine_s = run_local(
        [kerafold, "combine", *map(str, shard_files), "-o", str(combined), "--json"],
        "kerafold combine",
    )
    try:
        combine_report = json.loads(text)
    except json.JSONDecodeError:
        combine_report = {"output": text.strip()}

    cid = (combine_report.get("claim") or {}).get("cid") or results[1]["report"].get("cid")
    verify_s: Optional[float] = None
    verified: Optional[dict] = None
    if o.verify:
        # Against the file's own CID (computed here, not taken from the proof).
        text, _ = run_local([kerafold, "cid", str(data)], "kerafold cid")
        file_cid = text.strip().split()[-1]
        local_params = params_dir if params_dir and not o.ship else params_default
        cmd = [kerafold, "verify", str(combined), "--cid", file_cid, "--json"]
        cmd += ["--params-dir", local_params or str(Path("kerafold-params").resolve())]
        if o.model_visibility == "public" and model.suffix.lower() != ".json":
            cmd += ["--model", str(model)]
        if o.ptau is not None:
            cmd += ["--ptau", srs_args[1]]
        elif o.insecure_random_tau:
            cmd += ["--ptau", str(Path(local_params or "kerafold-params") / "insecure-random-tau")]
        print(f"verifying {combined} against the dataset's CID {file_cid}", file=log)
        text, verify_s = run_local(cmd, "kerafold verify")
        try:
            verified = json.loads(text)
        except json.JSONDecodeError:
            verified = {"output": text.strip()}

    rows = []
    for i in range(1, o.shards + 1):
        r = results[i]
        rep = r["report"]
        rows.append(
            {
                "shard": i,
                "first": rep.get("first"),
                "samples": rep.get("samples"),
                "correct": rep.get("correct"),
                "attempts": r["attempt"],
                "node": r["node"],
                "wall_s": round(r["wall_s"], 3),
                "setup_s": rep.get("setup_s"),
                "fold_s": rep.get("fold_s"),
                "compress_s": rep.get("compress_s"),
                "peak_rss_mb": rep.get("peak_rss_mb", round(r["max_rss_mb"], 1)),
                "proof": str(shard_files[i - 1]),
            }
        )
    summary: dict[str, Any] = {
        "proof": str(combined),
        "model": str(o.model),
        "model_visibility": o.model_visibility,
        "opening": str(model) if model != o.model.resolve() else None,
        "data": str(o.data),
        "cid": cid,
        "samples": sum(int(r["samples"] or 0) for r in rows),
        "correct": sum(int(r["correct"] or 0) for r in rows),
        "shards": rows,
        "address": address,
        "nodes": nodes,
        "slots": slots,
        "shipped": o.ship,
        "commit_s": round(commit_s, 3),
        "prove_wall_s": round(fold_done - t_start, 3),
        "combine_s": round(combine_s, 3),
        "verify_s": None if verify_s is None else round(verify_s, 3),
        "wall_s": round(time.time() - t_start, 3),
        "combine": combine_report,
        "verify": verified,
    }
    try:
        summary["estimate"] = estimate(summary, [1, 8, 64])
    except (KeyError, TypeError, ValueError):
        summary["estimate"] = None
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _failure_text(e: BaseException) -> str:
    """The failure's message: a shard's kerafold stderr, or Ray's account of a lost task."""
    from .tasks import ShardFailed

    cause = getattr(e, "cause", None)
    if isinstance(cause, ShardFailed):
        return str(cause)
    return str(e).strip()


def estimate(summary: dict, workers: list[int], samples: Optional[int] = None) -> dict:
    m = pg.model_from_summary(summary)
    rows = [asdict(m.wall_s(w, samples)) for w in workers]
    return {
        "samples": samples or m.samples,
        "per_sample_s": round(m.per_sample_s, 4),
        "fixed_s": round(m.fixed_s, 2),
        "combine_per_shard_s": round(m.combine_per_shard_s, 3),
        "verify_per_shard_s": (
            None if m.verify_per_shard_s is None else round(m.verify_per_shard_s, 2)
        ),
        "workers": [
            {k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()} for r in rows
        ],
        "assumptions": m.notes,
    }


def summary_text(s: dict) -> str:
    lines = [
        f"proof: {s['proof']}  ({s['correct']}/{s['samples']} correct, cid {s.get('cid')})",
        f"{'shard':>5} {'first':>6} {'samples':>7} {'correct':>7} {'tries':>5} {'wall':>8} "
        f"{'setup':>7} {'fold':>8} {'compress':>8} {'peak RSS':>9}  node",
    ]
    for r in s["shards"]:
        lines.append(
            f"{r['shard']:>5} {_v(r['first']):>6} {_v(r['samples']):>7} {_v(r['correct']):>7} "
            f"{r['attempts']:>5} {_secs(r['wall_s']):>8} {_secs(r['setup_s']):>7} "
            f"{_secs(r['fold_s']):>8} {_secs(r['compress_s']):>8} {_mb(r['peak_rss_mb']):>9}  "
            f"{r['node']}"
        )
    lines.append(
        f"commit {_secs(s['commit_s'])}, shards {_secs(s['prove_wall_s'])}, combine "
        f"{_secs(s['combine_s'])}, total {_secs(s['wall_s'])} on {s['nodes']} node(s), "
        f"{s['slots']} slot(s)"
    )
    if s.get("verify") is not None:
        v = s["verify"]
        lines.append(
            f"verified in {_secs(s.get('verify_s'))}: "
            f"{'valid' if v.get('valid') else v}, CID checked: {v.get('cid_checked')}"
        )
    e = s.get("estimate")
    if e:
        lines.append(
            f"extrapolated wall time for {e['samples']} samples ({e['per_sample_s']} s/sample, "
            f"{e['fixed_s']} s fixed per shard):"
        )
        for w in e["workers"]:
            verify = "" if w["verify_s"] is None else f", verify {pg.fmt_s(w['verify_s'])}"
            lines.append(
                f"  {w['workers']:>3} workers: {w['shards']} shards of {w['samples_per_shard']}, "
                f"about {pg.fmt_s(w['wall_s'])}{verify}"
            )
    return "\n".join(lines)


def _v(x: Any) -> str:
    return "?" if x is None else str(x)


def _secs(x: Any) -> str:
    return f"{x:.1f}s" if isinstance(x, (int, float)) else "?"
