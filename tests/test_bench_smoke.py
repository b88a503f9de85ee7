"""The benchmark scripts still run (a few steps each). Nothing here is about time."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_smoke_run_writes_a_report(tmp_path):
    out = tmp_path / "results.md"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--smoke",
                             "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text()
    for row in ("moons 2-5-1", "circles [2,10,5,1]", "784-512-512-10, fp32, batch 32",
                "784-512-512-10, fp32, batch 1024", "import glassnet"):
        assert row in text, row
    assert "SMOKE RUN" in text
