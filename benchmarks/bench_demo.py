"""How long one continuous-update step of the interactive demo takes (math + redraw).

    python benchmarks/bench_demo.py          # prints the rows
    python benchmarks/bench_demo.py --quick  # fewer repeats

A continuous update is what the Start button repeats: one gradient step of W and b, then
every number and both pictures redrawn. To animate smoothly it must take under 50 ms.
Measured, as the median over many steps in one process:

1. the whole step with the default settings (Weston-Watkins SVM, all points);
2. the whole step with softmax, minibatches and the margins shown (the most drawing);
   each as wall time and as CPU time of this process (on a busy shared machine the wall
   time also counts the wait for a free core);
3. the math alone (`linclass.reference.demo.step`), to show where the time goes;
4. the whole step when every frame redraws the axes from scratch, interleaved with the
   normal step: the ratio shows what caching the static background saves.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from linclass.reference import demo as demo_module  # noqa: E402

TARGET_MS = 50.0


def _option(ctx, name, default):
    if isinstance(ctx, dict):
        return ctx.get(name, default)
    return getattr(ctx, name, default)


def _median_ms(fn, repeats):
    """Median wall time and median CPU time of this process, in ms, of fn() over repeats."""
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return 1000 * statistics.median(wall), 1000 * statistics.median(cpu)


def _fresh_demo(**settings):
    demo = demo_module.LinearClassifierDemo(seed=0)
    # A small step size keeps the parameters moving for the whole run without diverging.
    demo.lr_slider.value = 1e-3
    for name, value in settings.items():
        getattr(demo, name).value = value
    for _ in range(3):          # warm up: first draws build caches and font tables
        demo.step()
    return demo


def _full_redraw_step(demo):
    # Forget the cached backgrounds, so this frame draws the axes, ticks and labels again.
    demo._plane_background = None
    demo._curve_limits = None
    demo.step()


def run(ctx=None) -> list[dict]:
    """Rows {"figure","value","unit","ratio","target","met","notes"} for benchmarks/run.py."""
    quick = bool(_option(ctx, "quick", False))
    repeats = 20 if quick else 100
    rows = []

    def add(figure, value, notes, ratio=None, target=f"<= {TARGET_MS:.0f} ms", met=None):
        rows.append({
            "figure": figure, "value": round(value, 2), "unit": "ms",
            "ratio": round(value / TARGET_MS if ratio is None else ratio, 3),
            "target": target, "met": value <= TARGET_MS if met is None else met, "notes": notes,
        })

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    settings = [("default settings (Weston-Watkins SVM, all 9 points)", {}),
                ("softmax + minibatch + margins shown",
                 dict(loss_menu="softmax", minibatch_box=True, margins_box=True))]
    for label, options in settings:
        demo = _fresh_demo(**options)
        wall, cpu = _median_ms(demo.step, repeats)
        add(f"demo: one continuous-update step (math + redraw), {label}, wall time", wall,
            f"median of {repeats} steps; load average {load:.1f} on {os.cpu_count()} cores; "
            f"ratio = time / 50 ms")
        # On a shared machine the wall time includes waiting for a core; the CPU time is
        # what the step itself costs, the wall time a lecturer's idle laptop would see.
        add(f"demo: one continuous-update step (math + redraw), {label}, CPU time", cpu,
            f"median of {repeats} steps, time.process_time of this process; ratio = time / 50 ms")

    W, b = demo_module.default_params()
    X, y = demo_module.default_points()

    def math_only():
        nonlocal W, b
        W, b, _, _ = demo_module.step(W, b, X, y, "ww", 0.1, 1e-3)

    add("demo: math alone (linclass.reference.demo.step), no drawing, wall time",
        _median_ms(math_only, repeats * 10)[0], f"median of {repeats * 10} calls; ratio = time / 50 ms")

    # Side by side in alternation, so both see the same machine load.
    demo = _fresh_demo()
    cached, full = [], []
    for _ in range(max(10, repeats // 2)):
        t0 = time.perf_counter()
        demo.step()
        cached.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _full_redraw_step(demo)
        full.append(time.perf_counter() - t0)
    cached_ms = 1000 * statistics.median(cached)
    full_ms = 1000 * statistics.median(full)
    add("demo: step redrawing the whole figure every frame (no cached background)", full_ms,
        f"median of {len(full)}, interleaved with the normal step ({cached_ms:.1f} ms); "
        f"ratio = full redraw / cached redraw",
        ratio=full_ms / cached_ms, target="for comparison only", met=True)
    return rows


if __name__ == "__main__":
    for row in run({"quick": "--quick" in sys.argv}):
        print(f"{row['figure']}: {row['value']} {row['unit']} (ratio {row['ratio']}) "
              f"target {row['target']} met={row['met']} | {row['notes']}")
