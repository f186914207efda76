"""What runs on the cluster: one task per shard, and the actor progress goes through."""

from __future__ import annotations

import collections
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import ray


class ShardFailed(Exception):
    """A shard's kerafold run failed (non-zero exit, or no proof)."""

    def __init__(self, shard: int, attempt: int, node: str, returncode: Optional[int], stderr: str):
        self.shard = shard
        self.attempt = attempt
        self.node = node
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(shard, attempt, node, returncode, stderr)

    def __str__(self) -> str:
        how = f"exit {self.returncode}" if self.returncode is not None else "no proof"
        tail = self.stderr.strip() or "(no output)"
        return f"shard {self.shard} (attempt {self.attempt}, on {self.node}) failed, {how}:\n{tail}"


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)
class ProgressHub:
    """Collects the shards' progress events; the driver takes them in batches."""

    def __init__(self) -> None:
        self.events: list[tuple[int, int, float, dict]] = []

    def post(self, shard: int, attempt: int, event: dict) -> None:
        self.events.append((shard, attempt, time.time(), event))

    def take(self) -> list[tuple[int, int, float, dict]]:
        out, self.events = self.events, []
        return out


@dataclass
class ShardJob:
    """Everything one task needs (small; the shipped bytes travel as separate object refs)."""

    shard: int
    shards: int
    attempt: int
    kerafold: str  # path on the node (shared), or the shipped binary's name
    model: str  # path on the node (shared), or the shipped model's file name
    data: str
    params_dir: Optional[str]  # --params-dir as given (the same path on every node)
    params_default: Optional[str]  # else: the node's $KERAFOLD_PARAMS, this, <node tmp>/…
    model_visibility: str
    extra_args: list[str] = field(default_factory=list)
    threads: int = 1
    fail: bool = False  # a deliberate failure, for tests of the retry path


def _node_name() -> str:
    node = "local"
    if ray.is_initialized():  # (never start a Ray instance just to name the node)
        node = ray.get_runtime_context().get_node_id()[:8]
    return f"{socket.gethostname()}/{node}"


def _libc() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _libc()  # loaded before any fork: the child only makes the system call


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the Ray worker dies (Linux), so no prover outlives it."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def run_shard_local(
    job: ShardJob,
    hub: Any,
    binary: Optional[bytes],
    data: Optional[bytes],
    model: Optional[bytes],
) -> dict:
    """Runs `kerafold prove-accuracy --shard I/N` here and returns its proof and report."""
    node = _node_name()
    started = time.time()

    def post(ev: dict) -> None:
        if hub is not None:
            hub.post.remote(job.shard, job.attempt, ev)

    post({"event": "started", "node": node})
    work = _work_dir(job.shard)
    try:
        kerafold, model_path, data_path = job.kerafold, job.model, job.data
        if binary is not None:
            kerafold = os.path.join(work, "kerafold")
            with open(kerafold, "wb") as f:
                f.write(binary)
            os.chmod(kerafold, 0o755)
        if data is not None:
            data_path = os.path.join(work, os.path.basename(job.data))
            with open(data_path, "wb") as f:
                f.write(data)
        if model is not None:
            model_path = os.path.join(work, os.path.basename(job.model))
            with open(model_path, "wb") as f:
                f.write(model)
        params = (
            job.params_dir
            or os.environ.get("KERAFOLD_PARAMS")
            or job.params_default
            or os.path.join(tempfile.gettempdir(), "kerafold-params")
        )
        out = os.path.join(work, f"shard-{job.shard}-of-{job.shards}.json")
        if job.fail:
            raise ShardFailed(
                job.shard, job.attempt, node, 1, "deliberate failure (--inject-failure)"
            )
        cmd = [
            kerafold, "prove-accuracy", model_path,
            "--data", data_path,
            "-o", out,
            "--shard", f"{job.shard}/{job.shards}",
            "--params-dir", params,
            "--model-visibility", job.model_visibility,
            "--progress-json", "--json",
            *job.extra_args,
        ]  # fmt: skip
        env = dict(os.environ)
        env["RAYON_NUM_THREADS"] = str(job.threads)
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=work,
                preexec_fn=_die_with_parent,
            )
        except OSError as e:
            raise ShardFailed(job.shard, job.attempt, node, None, f"cannot run {kerafold}: {e}")
        assert proc.stdout is not None and proc.stderr is not None
        out_pipe, err_pipe = proc.stdout, proc.stderr
        stdout: list[str] = []
        reader = threading.Thread(target=lambda: stdout.append(out_pipe.read()), daemon=True)
        reader.start()
        tail: collections.deque[str] = collections.deque(maxlen=40)
        try:
            for line in err_pipe:
                ev = _progress_event(line)
                if ev is not None:
                    post(ev)
                elif line.strip():
                    tail.append(line.rstrip("\n"))
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if proc.returncode is None:  # interrupted (cancelled): stop the prover
                proc.kill()
                proc.wait()
        reader.join()
        out_pipe.close()
        err_pipe.close()
        text = "".join(stdout)
        if proc.returncode != 0:
            raise ShardFailed(job.shard, job.attempt, node, proc.returncode, "\n".join(tail))
        try:
            report = json.loads(text)
        except json.JSONDecodeError:
            raise ShardFailed(
                job.shard, job.attempt, node, 0, f"no JSON report on stdout: {text[-2000:]!r}"
            )
        if not os.path.exists(out):
            raise ShardFailed(job.shard, job.attempt, node, 0, f"kerafold wrote no {out}")
        with open(out, "rb") as g:
            proof = g.read()
        return {
            "shard": job.shard,
            "attempt": job.attempt,
            "node": node,
            "wall_s": time.time() - started,
            # ru_maxrss is in KiB on Linux.
            "max_rss_mb": usage.ru_maxrss / 1024.0,
            "report": report,
            "proof": proof,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


WORK_PARENT = "kerafold-ray-work"


def _work_dir(shard: int) -> str:
    """A fresh work directory under <tmp>/kerafold-ray-work, named by this worker's pid; the
    directories of workers that died, or of this worker's earlier (cancelled) tasks, go."""
    parent = os.path.join(tempfile.gettempdir(), WORK_PARENT)
    os.makedirs(parent, exist_ok=True)
    me = os.getpid()
    for name in os.listdir(parent):
        try:
            pid = int(name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid == me or not _pid_alive(pid):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"shard{shard}-{me}-", dir=parent)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _progress_event(line: str) -> Optional[dict]:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        ev = json.loads(line)
    except json.JSONDecodeError:
        return None
    return ev if isinstance(ev, dict) and ev.get("event") == "progress" else None


@ray.remote(max_retries=0)
def run_shard(
    job: ShardJob,
    hub: Any,
    binary: Optional[bytes],
    data: Optional[bytes],
    model: Optional[bytes],
) -> dict:
    """The Ray task (the driver retries failed attempts itself, so it can report them)."""
    return run_shard_local(job, hub, binary, data, model)
