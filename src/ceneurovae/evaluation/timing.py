"""Speed and memory measurements, as ``benchmarks/speed.py`` and ``benchmarks/readout.py`` take them.

Each measurement of those benchmarks runs in a fresh interpreter (`run_child`), so that its
peak memory is its own; this module has what they share, for users who want to time their
own runs the same way:

- `machine_line`: the processor, cores, torch and Python versions and the load average;
- `median_time`: median wall time of a call over repeats, after warm-up calls;
- `peak_rss_mb` and `rss_mb`: this process's peak and current resident memory;
- `child_env` and `run_child`: a script run again in a fresh interpreter that imports this
  same package, and its JSON result;
- `table` and `publish`: plain-text tables, printed and optionally written beside their data.

Standard library only (torch is imported by `machine_line` when called).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

__all__ = [
    "child_env",
    "machine_line",
    "median_time",
    "peak_rss_mb",
    "publish",
    "rss_mb",
    "run_child",
    "table",
]

SRC = Path(__file__).resolve().parents[2]
"""The folder this package was imported from (``src`` in a checkout)."""


def _status_mb(key: str) -> float | None:
    """A memory line of /proc/self/status (``VmHWM``, ``VmRSS``) in MB; None where /proc is missing."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (VmHWM), MB."""
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    import resource

    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def rss_mb() -> float:
    """This process's resident memory now (VmRSS), MB (NaN where /proc is missing)."""
    now = _status_mb("VmRSS")
    return float("nan") if now is None else now


def publish(text: str, data: dict, out: str | None, name: str) -> None:
    """Print the tables with the load average at the end; with `out`, also write NAME.txt and NAME.json."""
    load = os.getloadavg()
    text += f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    print("\n" + text)
    if out:
        os.makedirs(out, exist_ok=True)
        Path(out, f"{name}.txt").write_text(text + "\n")
        Path(out, f"{name}.json").write_text(json.dumps(data, indent=1))


def child_env() -> dict:
    """This process's environment with `SRC` first on PYTHONPATH, so that a child interpreter
    imports the same ``ceneurovae`` as this one."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def run_child(script: Path, args: list[str], timeout: float = 3600) -> dict:
    """Run ``script --child ...`` in a fresh interpreter; its last stdout line is a JSON result."""
    res = subprocess.run([sys.executable, str(script), *args], env=child_env(), capture_output=True,
                         text=True, timeout=timeout)
    if res.returncode != 0:
        sys.exit(f"{script.name} {' '.join(args)} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def machine_line() -> str:
    """One line on the machine: processor, cores, torch (and its threads), Python, load average."""
    import torch

    load = os.getloadavg()
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"python {platform.python_version()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def median_time(fn, repeat: int = 3, warmup: int = 1) -> float:
    """Median wall time (s) of ``fn()`` over `repeat` calls, after `warmup` calls not timed."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def table(header: list[str], rows: list[list], fmt: dict[int, str] | None = None) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned.

    `fmt` maps a column index to a format string for its non-string cells (default ``"{}"``);
    string cells are printed as they are.
    """
    fmt = fmt or {}
    cells = [[fmt.get(j, "{}").format(v) if not isinstance(v, str) else v for j, v in enumerate(r)] for r in rows]
    widths = [max(len(h), *(len(c[j]) for c in cells)) for j, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) if j == 0 else h.rjust(w) for j, (h, w) in enumerate(zip(header, widths)))]
    for c in cells:
        lines.append("  ".join(v.ljust(w) if j == 0 else v.rjust(w) for j, (v, w) in enumerate(zip(c, widths))))
    return "\n".join(lines)
