"""Two CPU processes under `accelerate launch` (DDP over gloo): identical masks on both ranks, exact sparsity."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from .conftest import REPO


@pytest.mark.parametrize("method", ["gradual_magnitude", "movement"])
def test_two_process_ddp_keeps_ranks_identical(tmp_path, method):
    launcher = shutil.which("accelerate", path=os.path.dirname(sys.executable)) or shutil.which("accelerate")
    if launcher is None:
        pytest.skip("accelerate launcher not installed")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        # `--cpu` alone starts one process (multi-CPU needs MPI); the torchrun-based launcher behind
        # `--multi_gpu` starts two, and with no GPU the processes join a gloo group on the CPU.
        [
            launcher,
            "launch",
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            str(REPO / "tests" / "ddp_worker.py"),
            str(tmp_path),
            method,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]
    assert ranks[0]["world_size"] == 2
    assert ranks[0]["masks"], "no masks were registered"
    for key, mask in ranks[0]["masks"].items():
        assert torch.equal(mask, ranks[1]["masks"][key]), f"rank masks differ at {key}"
    for key, weight in ranks[0]["weights"].items():
        torch.testing.assert_close(weight, ranks[1]["weights"][key], atol=0, rtol=0)
    report = json.loads((tmp_path / "export" / "compression.json").read_text())
    requested = report["requested_sparsity"]
    assert abs(report["sparsity"]["global"] - requested) <= 0.005
    assert report["sparsity"]["global"] > 0.4
