"""Loading the embedder leaves the process as it found it (a notebook loads its own Hugging Face models
after paperkg's), and still never reaches the network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: this test process may have loaded the model already (get_embedder caches
# it), and the state checked is the process's. Every connection and name look-up is refused and recorded.
_SCRIPT = r"""
import json, logging, os, socket

attempts = []

def refuse(self, address, *args):
    attempts.append(repr(address))
    raise OSError("network unreachable (test)")

def no_names(*args, **kwargs):
    attempts.append(repr(args[:2]))
    raise socket.gaierror("network unreachable (test)")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.getaddrinfo = no_names

import huggingface_hub.constants as constants
from transformers.utils import logging as hf_logging

def state():
    return {"env": {n: os.environ.get(n) for n in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")},
            "constant": constants.HF_HUB_OFFLINE,
            "logger": logging.getLogger("sentence_transformers").level,
            "bars": hf_logging.is_progress_bar_enabled()}

before = state()
from ingest.embed import get_embedder

vector = get_embedder().encode_query("induction heads copy tokens")
print(json.dumps({"before": before, "after": state(), "dim": len(vector), "attempts": attempts}))
"""


@pytest.mark.model
def test_loading_the_model_restores_the_hub_settings_logger_and_progress_bars_offline() -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "PAPERKG_EMBEDDING_MODEL")}
    run = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["dim"] == 384  # the packaged model loaded and encoded with no network at all
    assert out["attempts"] == []  # and tried none
    before, after = out["before"], out["after"]
    assert before == {"env": {"HF_HUB_OFFLINE": None, "TRANSFORMERS_OFFLINE": None}, "constant": False,
                      "logger": 0, "bars": True}
    assert after == before
