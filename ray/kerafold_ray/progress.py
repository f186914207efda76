"""Per-shard progress, the overall time to finish, and wall-time extrapolation.

Pure Python (no Ray): the driver feeds it the progress events `kerafold prove-accuracy
--progress-json` prints and the reports of finished shards.

The estimate is built from measured costs only:
  * per-sample fold cost: fold seconds over samples folded, summed over every shard seen so far
    (finished shards' `fold_s`, running shards' fold-phase events since their first one);
  * a shard's fixed cost: its wall time less its fold time (process start, setup or loading the
    cached parameters, hashing, compression), the median of the finished shards, else what the
    running shards have spent before folding;
  * compression: the finished shards' `compress_s` (0 until one has finished).
Queued shards are placed greedily on the cluster's free worker slots (list scheduling), so the
time to finish accounts for shards that wait for a slot.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Optional

PHASES = ("setup", "fold", "compress")


@dataclass
class ShardProgress:
    """What the driver knows about one shard."""

    index: int  # 1-based
    samples: Optional[int] = None  # from the first fold event or the report
    state: str = "queued"  # queued, running, done, failed
    phase: Optional[str] = None  # setup, fold, compress (while running)
    done: int = 0  # samples folded
    attempt: int = 1
    node: Optional[str] = None
    started_at: Optional[float] = None  # driver clock, attempt start
    phase_started_at: Optional[float] = None
    kerafold_eta_s: Optional[float] = None
    # Fold-phase timing from kerafold's own clock: (elapsed_s, done) of the first fold event.
    fold_anchor: Optional[tuple[float, int]] = None
    fold_measured: tuple[float, int] = (0.0, 0)  # seconds, samples since the anchor
    report: Optional[dict] = None
    wall_s: Optional[float] = None

    def restart(self, attempt: int) -> None:
        """A retry: forget the failed attempt's progress."""
        self.state = "queued"
        self.phase = None
        self.done = 0
        self.attempt = attempt
        self.started_at = None
        self.phase_started_at = None
        self.kerafold_eta_s = None
        self.fold_anchor = None
        self.fold_measured = (0.0, 0)

    def on_event(self, ev: dict, now: float) -> None:
        """Applies one `--progress-json` event (or the task's own `started` event)."""
        kind = ev.get("event")
        if kind == "started":
            self.state = "running"
            self.node = ev.get("node")
            self.started_at = now
            return
        if kind != "progress":
            return
        self.state = "running"
        if self.started_at is None:
            self.started_at = now
        phase = ev.get("phase")
        if phase != self.phase:
            self.phase = phase
            self.phase_started_at = now
        done, total = ev.get("done"), ev.get("total")
        elapsed = ev.get("elapsed_s")
        eta = ev.get("eta_s")
        self.kerafold_eta_s = float(eta) if isinstance(eta, (int, float)) else None
        if phase == "fold":
            if isinstance(total, int):
                self.samples = total
            if isinstance(done, int):
                self.done = done
                if isinstance(elapsed, (int, float)):
                    if self.fold_anchor is None:
                        self.fold_anchor = (float(elapsed), done)
                    else:
                        t0, d0 = self.fold_anchor
                        if done > d0:
                            self.fold_measured = (float(elapsed) - t0, done - d0)
        elif phase == "compress" and self.samples is not None:
            self.done = self.samples

    def finish(self, report: dict, wall_s: float) -> None:
        self.state = "done"
        self.phase = None
        self.report = report
        self.wall_s = wall_s
        samples = report.get("samples")
        if isinstance(samples, int):
            self.samples = samples
            self.done = samples


@dataclass
class Costs:
    """Measured costs the estimates use (None: not measured yet)."""

    per_sample_s: Optional[float]
    fixed_s: Optional[float]  # per shard, everything but folding
    compress_s: float


def measured_costs(shards: list[ShardProgress], now: float) -> Costs:
    fold_s, folded = 0.0, 0
    fixed: list[float] = []
    compress: list[float] = []
    for s in shards:
        r = s.report
        if s.state == "done" and r is not None:
            f, n = float(r.get("fold_s") or 0.0), int(r.get("samples") or 0)
            if n > 0 and f > 0:
                fold_s, folded = fold_s + f, folded + n
            if s.wall_s is not None:
                fixed.append(max(s.wall_s - f, 0.0))
            if isinstance(r.get("compress_s"), (int, float)):
                compress.append(float(r["compress_s"]))
        elif s.state == "running":
            t, n = s.fold_measured
            if n > 0 and t > 0:
                fold_s, folded = fold_s + t, folded + n
    per_sample = fold_s / folded if folded else None
    if fixed:
        fixed_s: Optional[float] = statistics.median(fixed)
    else:
        # Not one shard finished: what the running ones spent before their first fold, plus
        # compression once measured (0 until then).
        before = [
            s.phase_started_at - s.started_at
            for s in shards
            if s.state == "running"
            and s.phase in ("fold", "compress")
            and s.started_at is not None
            and s.phase_started_at is not None
        ]
        fixed_s = max(before) if before else None
    comp = statistics.median(compress) if compress else 0.0
    return Costs(per_sample, fixed_s, comp)


def remaining_s(s: ShardProgress, c: Costs, now: float) -> Optional[float]:
    """Time until a running shard finishes (None when not estimable yet)."""
    if s.state == "done":
        return 0.0
    n = s.samples
    if s.phase == "compress":
        spent = now - (s.phase_started_at or now)
        if s.kerafold_eta_s is not None:
            return s.kerafold_eta_s
        return max(c.compress_s - spent, 0.0)
    if s.phase == "fold" and c.per_sample_s is not None and n is not None:
        return (n - s.done) * c.per_sample_s + c.compress_s
    if c.per_sample_s is None or c.fixed_s is None or n is None:
        return None
    # Queued or setting up: the whole shard, less what it has spent so far.
    spent = now - s.started_at if s.started_at is not None else 0.0
    return max(c.fixed_s - spent, 0.0) + n * c.per_sample_s


def time_to_finish(shards: list[ShardProgress], slots: int, now: float) -> Optional[float]:
    """Overall seconds until the last shard finishes, or None while not estimable."""
    c = measured_costs(shards, now)
    busy: list[float] = []
    queued: list[float] = []
    for s in shards:
        if s.state == "done":
            continue
        r = remaining_s(s, c, now)
        if r is None:
            return None
        (busy if s.state == "running" else queued).append(r)
    free = sorted(busy + [0.0] * max(max(slots, 1) - len(busy), 0))
    for q in queued:
        free.sort()
        free[0] += q
    return max(free) if free else 0.0


def shard_ranges(total: int, shards: int) -> list[tuple[int, int]]:
    """(first, samples) of each shard as `--shard I/N` proves it: samples
    ⌊(I−1)·total/N⌋ .. ⌊I·total/N⌋ (so the driver can estimate before a shard reports)."""
    at = [k * total // shards for k in range(shards + 1)]
    return [(at[k], at[k + 1] - at[k]) for k in range(shards)]


def fmt_s(x: Optional[float]) -> str:
    if x is None:
        return "?"
    x = max(x, 0.0)
    if x < 60:
        return f"{x:.0f}s"
    m, s = divmod(int(round(x)), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


@dataclass
class Extrapolation:
    workers: int
    shards: int
    samples_per_shard: int
    wall_s: float
    verify_s: Optional[float]  # verifying the combined proof (not in wall_s)


@dataclass
class Model:
    """Wall time ≈ fixed + ⌈samples / shards⌉ · per_sample + combine_per_shard · shards."""

    per_sample_s: float
    fixed_s: float
    combine_per_shard_s: float
    samples: int
    verify_per_shard_s: Optional[float] = None
    notes: list[str] = field(default_factory=list)

    def wall_s(self, workers: int, samples: Optional[int] = None) -> Extrapolation:
        total = self.samples if samples is None else samples
        shards = max(1, min(workers, total))
        per = math.ceil(total / shards)
        wall = self.fixed_s + per * self.per_sample_s + self.combine_per_shard_s * shards
        verify = None if self.verify_per_shard_s is None else self.verify_per_shard_s * shards
        return Extrapolation(workers, shards, per, wall, verify)


def model_from_summary(summary: dict) -> Model:
    """The cost model of a finished run's summary (kerafold_ray prove --json / summary.json)."""
    shards = summary["shards"]
    fold = sum(float(s["fold_s"]) for s in shards)
    samples = sum(int(s["samples"]) for s in shards)
    if samples == 0:
        raise ValueError("the summary has no proven samples")
    fixed = statistics.median(float(s["wall_s"]) - float(s["fold_s"]) for s in shards)
    combine = float(summary.get("combine_s") or 0.0) / max(len(shards), 1)
    verify_s = summary.get("verify_s")
    verify = float(verify_s) / max(len(shards), 1) if verify_s is not None else None
    notes = [
        f"per-sample fold cost {fold / samples:.3f} s (measured over {samples} samples, "
        f"{len(shards)} shards)",
        f"fixed cost per shard {fixed:.1f} s (median of wall - fold: process start, "
        "parameters, hashing, compression)",
        f"combine {combine:.2f} s per shard (measured {summary.get('combine_s', 0):.1f} s "
        f"for {len(shards)})",
        "one shard per worker, each with the CPUs of one measured shard; parameters already "
        "cached on every node",
    ]
    if verify is not None:
        notes.append(
            f"verifying the combined proof: {verify:.1f} s per shard (measured {verify_s:.1f} s "
            f"for {len(shards)}; one machine, not in the wall time)"
        )
    return Model(fold / samples, fixed, combine, samples, verify, notes)
