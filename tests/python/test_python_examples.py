"""examples/python/own_images.py runs end to end: a torch.nn.Module and a
folder of class subfolders (its own synthetic one) through
FeatureExtractor.extract, kNN, t-SNE, and embedviz.report when the tool has
--images."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_own_images_example(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    p = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python", "own_images.py"),
                        "--report", str(tmp_path / "report")],
                       capture_output=True, text=True, timeout=600, env=env, cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "model: FeatureExtractor(the torch.nn.Module ResNet (scripted)" in out
    m = re.search(r"features: \((\d+), (\d+)\) classes: (\d+) first: (\S+) -> (\S+)", out)
    assert m and m.group(1, 2, 3) == ("96", "512", "12"), out
    assert os.path.basename(os.path.dirname(m.group(4))) == m.group(5) == "class_00"
    assert "t-SNE map: (96, 2)" in out
    if "no --images yet" in out:
        assert "embedviz.report(images=" in out
    else:
        assert "report: %s" % (tmp_path / "report" / "index.html") in out
        assert (tmp_path / "report" / "index.html").is_file()
