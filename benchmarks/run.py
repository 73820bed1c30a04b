#!/usr/bin/env python3
"""Run every linclass speed benchmark side by side, print a table, write a JSON file.

    python3 tasks.py bench                 # set up .venv, then run this with all benchmarks
    python3 tasks.py bench --quick         # fewer repeats, smaller searches
    python3 tasks.py bench --only kernel,training
    python benchmarks/run.py --list

Each file benchmarks/bench_*.py is one benchmark module; see benchmarks/README.md for the
interface. Results go to benchmarks/results/latest.json (every figure, plus the machine:
CPU, cores, BLAS, numpy version, load, and the dataset used).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import io
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from contextlib import redirect_stdout
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import numpy as np  # noqa: E402


class Context(dict):
    """What every benchmark's run(ctx) receives. A dict, also readable as attributes.

    Keys:
    - quick: bool, fewer repeats and smaller searches (a smoke run).
    - repeats: int, how many timed repeats to take medians over.
    - data_dir: str or None, the folder holding real cifar-10-batches-py (from
      LINCLASS_DATA_DIR or --data-dir), None when there is none.
    - cifar: function cifar(dtype=np.float64) -> dict of get_cifar10_data, loaded once
      per dtype and cached, or None when data_dir is None.
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _real_data_dir(given):
    value = given or os.environ.get("LINCLASS_DATA_DIR")
    if not value:
        return None
    root = Path(value).expanduser().resolve()
    return str(root) if (root / "cifar-10-batches-py" / "data_batch_1").exists() else None


def make_context(quick=False, repeats=None, data_dir=None):
    data_dir = _real_data_dir(data_dir)
    cache = {}

    def cifar(dtype=np.float64):
        if data_dir is None:
            return None
        key = np.dtype(dtype).name
        if key not in cache:
            from linclass.data import get_cifar10_data
            cache[key] = get_cifar10_data(data_dir, dtype=dtype)
        return cache[key]

    return Context(quick=quick, repeats=repeats or (3 if quick else 7), data_dir=data_dir, cifar=cifar)


def discover(only=None):
    mods = sorted(HERE.glob("bench_*.py"))
    if only:
        wanted = {w.strip().removeprefix("bench_").removesuffix(".py") for w in only.split(",")}
        mods = [m for m in mods if m.stem.removeprefix("bench_") in wanted]
    return mods


def load_module(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def machine_info(data_dir):
    from _common import blas_threads
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    buf = io.StringIO()
    try:
        with redirect_stdout(buf):
            np.show_config()
    except Exception as exc:  # show_config's format changes between numpy versions
        buf.write(f"numpy.show_config() failed: {exc}")
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable,
        "python": sys.version.split()[0], "numpy": np.__version__, "platform": platform.platform(),
        "blas_threadpoolctl": blas_threads(), "numpy_show_config": buf.getvalue(),
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "dataset": (f"CIFAR-10 from {data_dir} (the JPEG copy when built by .ci/run)" if data_dir
                    else "none: LINCLASS_DATA_DIR is unset or holds no cifar-10-batches-py"),
        "git_commit": commit,
    }


def fmt(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def print_table(rows):
    headers = ["benchmark", "figure", "value", "unit", "ratio", "target", "met"]
    table = [[r.get("bench", ""), r["figure"], fmt(r.get("value")), r.get("unit") or "",
              fmt(r.get("ratio")), fmt(r.get("target")),
              {True: "yes", False: "NO", None: "-"}[r.get("met")]] for r in rows]
    widths = [max(len(h), *(len(t[i]) for t in table)) if table else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for t, r in zip(table, rows):
        print("  ".join(c.ljust(w) for c, w in zip(t, widths)))
        if r.get("notes"):
            print("      " + r["notes"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller searches")
    parser.add_argument("--repeats", type=int, help="timed repeats per figure (default 7, quick 3)")
    parser.add_argument("--only", help="comma-separated benchmark names, e.g. kernel,training")
    parser.add_argument("--data-dir", help="folder holding cifar-10-batches-py (default $LINCLASS_DATA_DIR)")
    parser.add_argument("--out", default=str(HERE / "results" / "latest.json"), help="JSON output file")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and stop")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be >= 1")

    mods = discover(args.only)
    if args.list or not mods:
        for m in mods:
            print(m.stem)
        if not mods:
            print(f"no benchmark matches --only {args.only!r}", file=sys.stderr)
            return 2 if not args.list else 0
        return 0
    ctx = make_context(args.quick, args.repeats, args.data_dir)
    info = machine_info(ctx.data_dir)
    print(f"machine: {info['cpu']}, {info['usable_cores']} usable cores, numpy {info['numpy']}, "
          f"BLAS {info['blas_threadpoolctl']}, load {info['load_average_at_start']}")
    print(f"dataset: {info['dataset']}")
    if ctx.data_dir is None:
        print("         -> figures that need real CIFAR-10 are SKIPPED; others use synthetic data of the same shape")

    rows, durations = [], {}
    for path in mods:
        name = path.stem.removeprefix("bench_")
        print(f"\n== {name} ==", flush=True)
        t0 = time.perf_counter()
        try:
            out = load_module(path).run(ctx)
        except Exception as exc:
            traceback.print_exc()
            out = [{"figure": f"{name}: benchmark failed", "value": None, "unit": "", "ratio": None,
                    "target": None, "met": False, "notes": f"{type(exc).__name__}: {exc}"}]
        durations[name] = round(time.perf_counter() - t0, 1)
        for r in out:
            r = {"bench": name, **r}
            rows.append(r)
            print(f"  {r['figure']}: {fmt(r.get('value'))} {r.get('unit') or ''}  ratio {fmt(r.get('ratio'))}"
                  f"  target {fmt(r.get('target'))}  met {r.get('met')}  {r.get('notes') or ''}", flush=True)

    info["load_average_at_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    print("\n== summary ==")
    print_table(rows)
    result = {"when": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
              "argv": sys.argv[1:], "quick": ctx.quick, "repeats": ctx.repeats,
              "machine": info, "bench_seconds": durations, "rows": rows}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
