"""The Python example runs end to end: examples/python/features_tsne.py
on the demo model when `make demo` has made it, else on the example's own
scripted ResNet-18 with random weights."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = "/usr/share/datasets/fashion-mnist"
MODEL = os.path.join(ROOT, "build", "demo", "model.pt")


@pytest.mark.skipif(not os.path.exists(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")),
                    reason="no Fashion-MNIST (dataset-fashion-mnist)")
def test_features_tsne_example(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "map.png"
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    p = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python", "features_tsne.py"),
                        "--model", MODEL, "--n", "600", "--out", str(out)],
                       capture_output=True, text=True, timeout=600, env=env, cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    m = re.search(r"features: \((\d+), (\d+)\)", p.stdout)
    assert m and int(m.group(1)) == 600
    kl = float(re.search(r"t-SNE: KL ([0-9.]+) after (\d+) iterations", p.stdout).group(1))
    assert 0 < kl < 3
    if os.path.exists(MODEL):
        # The demo CNN classifies Fashion-MNIST at about 90 %.
        assert float(re.search(r"accuracy ([0-9.]+)", p.stdout).group(1)) > 0.8
    if "matplotlib missing" in p.stdout:
        emb = np.load(tmp_path / "map.npy")
        assert emb.shape == (600, 2) and np.isfinite(emb).all()
    else:
        assert out.stat().st_size > 10000
