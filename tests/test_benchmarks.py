"""The benchmark command: it lists every benchmark, and says clearly what it skipped."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def test_list_names_every_benchmark():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--list"],
                         capture_output=True, text=True, check=True).stdout.split()
    expected = {p.stem for p in (ROOT / "benchmarks").glob("bench_*.py")}
    assert expected <= set(out)
    assert {f"bench_{name}" for name in ("kernel", "training", "time_to_accuracy", "grading", "sandbox", "demo",
                                         "notebooks")} <= expected


def test_without_real_data_the_data_benchmarks_say_skipped(monkeypatch, tmp_path):
    import bench_notebooks
    import bench_time_to_accuracy

    monkeypatch.delenv("LINCLASS_DATA_DIR", raising=False)
    rows = bench_notebooks.run({"quick": True, "data_dir": str(tmp_path)})
    assert len(rows) == 1 and rows[0]["notes"].startswith("SKIPPED: no real CIFAR-10")
    rows = bench_time_to_accuracy.run({"quick": True, "cifar": lambda dtype: None})
    assert len(rows) == 1 and rows[0]["notes"].startswith("SKIPPED: no real CIFAR-10")
