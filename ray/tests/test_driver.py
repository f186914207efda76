"""Unit tests of the driver's pieces that need no cluster: the time-to-finish estimate, the
extrapolation, the display, and a shard run against a stand-in kerafold.

    ray/.venv/bin/python -m unittest discover -s ray/tests     (tests/suite/ray_shards.rs runs it)
"""

from __future__ import annotations

import io
import json
import os
import stat
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kerafold_ray import driver, progress as pg  # noqa: E402
from kerafold_ray.tasks import ShardFailed, ShardJob, run_shard_local  # noqa: E402


def eta(shards: list[pg.ShardProgress], slots: int, now: float) -> float:
    t = pg.time_to_finish(shards, slots, now)
    assert t is not None
    return t


def fold(s: pg.ShardProgress, done: int, total: int, elapsed: float, at: float) -> None:
    s.on_event(
        {
            "event": "progress",
            "phase": "fold",
            "done": done,
            "total": total,
            "elapsed_s": elapsed,
            "eta_s": None,
        },
        at,
    )


class Estimates(unittest.TestCase):
    def test_shard_ranges_are_contiguous_and_near_equal(self) -> None:
        self.assertEqual(pg.shard_ranges(560, 3), [(0, 186), (186, 187), (373, 187)])
        self.assertEqual(pg.shard_ranges(3, 3), [(0, 1), (1, 1), (2, 1)])
        r = pg.shard_ranges(1001, 7)
        self.assertEqual(sum(n for _, n in r), 1001)
        self.assertTrue(all(a + n == b for (a, n), (b, _) in zip(r, r[1:])))

    def test_time_to_finish_from_the_per_sample_cost(self) -> None:
        shards = [pg.ShardProgress(i, samples=100) for i in (1, 2, 3)]
        self.assertIsNone(pg.time_to_finish(shards, 2, 0.0))  # nothing measured yet
        for s in shards[:2]:
            s.on_event({"event": "started", "node": "n"}, 0.0)
            s.on_event(
                {
                    "event": "progress",
                    "phase": "setup",
                    "done": 0,
                    "total": 1,
                    "elapsed_s": 0.0,
                    "eta_s": None,
                },
                0.0,
            )
            fold(s, 0, 100, 10.0, 10.0)  # 10 s before folding
        self.assertIsNone(pg.time_to_finish(shards, 2, 10.0))  # no sample folded yet
        for s in shards[:2]:
            fold(s, 50, 100, 60.0, 60.0)  # 1 s a sample
        # the running two: 50 s more; the queued third on the first free slot: 10 + 100 s
        self.assertAlmostEqual(eta(shards, 2, 60.0), 50.0 + 110.0)
        self.assertAlmostEqual(eta(shards, 3, 60.0), 110.0)

    def test_finished_shards_give_fixed_and_compression_costs(self) -> None:
        shards = [pg.ShardProgress(i, samples=100) for i in (1, 2)]
        shards[0].finish({"samples": 100, "fold_s": 200.0, "compress_s": 30.0}, 250.0)
        shards[1].on_event({"event": "started", "node": "n"}, 250.0)
        self.assertAlmostEqual(
            eta(shards, 1, 250.0), 50.0 + 100 * 2.0
        )  # fixed 250-200, 2 s a sample
        fold(shards[1], 40, 100, 100.0, 300.0)
        fold(shards[1], 60, 100, 140.0, 340.0)
        # 40 left at the measured average (200+40 s over 120 samples) plus compression
        c = (200.0 + 40.0) / 120
        self.assertAlmostEqual(eta(shards, 1, 340.0), 40 * c + 30.0)

    def test_a_retry_forgets_the_failed_attempt(self) -> None:
        s = pg.ShardProgress(1, samples=10)
        fold(s, 5, 10, 5.0, 5.0)
        s.restart(2)
        self.assertEqual((s.state, s.done, s.attempt, s.fold_anchor), ("queued", 0, 2, None))

    def test_extrapolation(self) -> None:
        summary = {
            "combine_s": 3.0,
            "shards": [
                {"samples": 100, "fold_s": 100.0, "wall_s": 150.0},
                {"samples": 100, "fold_s": 100.0, "wall_s": 160.0},
                {"samples": 100, "fold_s": 100.0, "wall_s": 170.0},
            ],
        }
        e = driver.estimate(summary, [1, 8, 64])
        self.assertEqual(e["per_sample_s"], 1.0)
        self.assertEqual(e["fixed_s"], 60.0)
        w1, w8, w64 = e["workers"]
        self.assertEqual((w1["shards"], w1["samples_per_shard"]), (1, 300))
        self.assertAlmostEqual(w1["wall_s"], 60 + 300 + 1.0)
        self.assertAlmostEqual(w8["wall_s"], 60 + 38 + 8.0)
        self.assertAlmostEqual(w64["wall_s"], 60 + 5 + 64.0)
        self.assertIsNone(w8["verify_s"])
        big = driver.estimate(summary, [64], samples=64_000)["workers"][0]
        self.assertAlmostEqual(big["wall_s"], 60 + 1000 + 64.0)
        summary["verify_s"] = 30.0
        e = driver.estimate(summary, [8])
        self.assertEqual(e["verify_per_shard_s"], 10.0)
        self.assertAlmostEqual(e["workers"][0]["verify_s"], 80.0)


class Display(unittest.TestCase):
    def test_lines_when_not_a_terminal(self) -> None:
        out = io.StringIO()
        shards = [pg.ShardProgress(1, samples=20), pg.ShardProgress(2, samples=20)]
        d = driver.Display(shards, out)
        d.update(0.0, None, force=True)
        shards[0].on_event({"event": "started", "node": "host/abc"}, 0.0)
        for k in range(21):
            fold(shards[0], k, 20, float(k), float(k))
            d.update(float(k), pg.time_to_finish(shards, 2, float(k)))
        text = out.getvalue()
        self.assertIn("shard 1/2: queued", text)
        self.assertIn("shard 1/2: fold 10/20 (50%) on host/abc", text)
        self.assertIn("to finish", text)
        # one line per tenth, not one per sample
        self.assertLess(text.count("shard 1/2: fold"), 13)


FAKE = """\
#!{python}
import json, sys
a = sys.argv[1:]
out = a[a.index("-o") + 1]
i, n = map(int, a[a.index("--shard") + 1].split("/"))
if i == 2:
    print("warming up", file=sys.stderr)
    print("error: shard 2 of the dataset is unreadable", file=sys.stderr)
    sys.exit(2)
for d in range(3):
    print(json.dumps({{"event": "progress", "phase": "fold", "done": d, "total": 2,
                      "elapsed_s": d, "eta_s": None}}), file=sys.stderr, flush=True)
print("not json", file=sys.stderr)
open(out, "w").write(json.dumps({{"args": a}}))
print(json.dumps({{"samples": 2, "correct": 1, "fold_s": 2.0, "first": 0}}))
"""


class Hub:
    def __init__(self) -> None:
        self.events: list[tuple[int, int, dict]] = []
        hub = self

        class Post:
            @staticmethod
            def remote(shard: int, attempt: int, ev: dict) -> None:
                hub.events.append((shard, attempt, ev))

        self.post = Post()


class ShardRun(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.bin = Path(self.dir.name) / "kerafold"
        self.bin.write_text(FAKE.format(python=sys.executable))
        self.bin.chmod(self.bin.stat().st_mode | stat.S_IXUSR)

    def tearDown(self) -> None:
        self.dir.cleanup()

    def job(self, shard: int, **kw: object) -> ShardJob:
        base = dict(
            shard=shard,
            shards=3,
            attempt=1,
            kerafold=str(self.bin),
            model="/m.keras",
            data="/d.kfd",
            params_dir="/p",
            params_default=None,
            model_visibility="public",
            extra_args=["--fa", "6"],
        )
        base.update(kw)
        return ShardJob(**base)  # type: ignore[arg-type]

    def test_progress_is_forwarded_and_the_proof_returned(self) -> None:
        hub = Hub()
        r = run_shard_local(self.job(1), hub, None, None, None)
        args = json.loads(r["proof"])["args"]
        self.assertEqual(args[:2], ["prove-accuracy", "/m.keras"])
        for flag in ("--shard", "1/3", "--params-dir", "/p", "--progress-json", "--json", "--fa"):
            self.assertIn(flag, args)
        self.assertEqual(r["report"]["samples"], 2)
        kinds = [ev.get("event") for _, _, ev in hub.events]
        self.assertEqual(kinds, ["started", "progress", "progress", "progress"])

    def test_a_failure_carries_the_exit_code_and_stderr(self) -> None:
        with self.assertRaises(ShardFailed) as c:
            run_shard_local(self.job(2, attempt=2), None, None, None, None)
        e = c.exception
        self.assertEqual((e.shard, e.attempt, e.returncode), (2, 2, 2))
        self.assertIn("shard 2 of the dataset is unreadable", str(e))

    def test_shipped_files_are_written_on_the_node(self) -> None:
        r = run_shard_local(
            self.job(
                3,
                kerafold="kerafold",
                model="model.keras",
                data="test.kfd",
                params_dir=None,
                params_default=None,
            ),
            None,
            self.bin.read_bytes(),
            b"data",
            b"model",
        )
        args = json.loads(r["proof"])["args"]
        self.assertTrue(args[1].endswith("/model.keras"), args)
        self.assertTrue(args[args.index("--data") + 1].endswith("/test.kfd"))
        self.assertFalse(os.path.exists(os.path.dirname(args[1])), "work dir removed")

    def test_missing_binary_is_explained(self) -> None:
        with self.assertRaises(driver.DriverError) as c:
            driver.find_kerafold("/nonexistent/kerafold")
        self.assertIn("not found", str(c.exception))


class HyperKzg(unittest.TestCase):
    """Every shard must prove over one tau: the driver refuses what would split it."""

    def options(self, **kw: object) -> driver.ProveOptions:
        return driver.ProveOptions(
            model=Path("m.keras"), data=Path("d.kfd"), shards=2, out=Path("out"), **kw
        )  # type: ignore[arg-type]

    def refused(self, o: driver.ProveOptions, words: str) -> None:
        with self.assertRaises(driver.DriverError) as c:
            driver.srs_arguments(o)
        self.assertIn(words, str(c.exception))

    def test_ipa_by_default(self) -> None:
        self.assertEqual(driver.srs_arguments(self.options()), [])

    def test_ptau_is_a_shared_directory(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            got = driver.srs_arguments(self.options(ptau=Path(d)))
            self.assertEqual(got, ["--ptau", str(Path(d).resolve())])
            self.refused(self.options(ptau=Path(d), ship=True), "every node")
        self.refused(self.options(ptau=Path("/nonexistent/ptau")), "not a directory")

    def test_a_random_tau_needs_a_shared_params_dir(self) -> None:
        self.refused(self.options(insecure_random_tau=True), "--params-dir")
        self.refused(
            self.options(insecure_random_tau=True, params_dir="/p", ship=True), "--params-dir"
        )
        got = driver.srs_arguments(self.options(insecure_random_tau=True, params_dir="/p"))
        self.assertEqual(got, ["--insecure-random-tau"])


if __name__ == "__main__":
    unittest.main()
