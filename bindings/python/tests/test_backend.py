"""The libtorch backend module (docs/extract.md) from Python: `import
embedviz` and a PCA never map libtorch; extraction loads the module found
beside the library the package loaded, also when the library is a copy in
another folder (as in a wheel). Each case runs in a fresh interpreter,
since this one may have loaded torch already."""
import os
import shutil

import pytest

import embedviz

from test_loader import run

MODULE = "libembedviz-torch.so"

# Prints two lines: what is mapped after a PCA, then after asking whether
# extraction is available (and its answer, and the library's message).
PROBE = """
import numpy as np
import embedviz

def mapped():
    with open("/proc/self/maps") as f:
        maps = f.read()
    return ["libtorch_cpu" in maps, "libembedviz-torch" in maps]

x = np.random.default_rng(0).standard_normal((100, 5)).astype("f4")
embedviz.PCA(2).fit(x)
print("after_pca", *mapped())
lib = embedviz.library()
ok = lib.ev_extract_available()
print("after_extract", *mapped(), ok, lib.ev_last_error().decode() if not ok else "")
"""


def probe(env_lib, extra_env=None):
    r = run(PROBE, env_lib=env_lib, extra_env=extra_env)
    assert r.returncode == 0, r.stderr
    lines = dict((l.split()[0], l.split(None, 1)[1]) for l in r.stdout.splitlines())
    return lines["after_pca"], lines["after_extract"]


def built_library():
    path = embedviz.library().path
    folder = os.path.dirname(os.path.realpath(path))
    if not os.path.exists(os.path.join(folder, MODULE)):
        pytest.skip("no %s beside %s (a build without libtorch)" % (MODULE, path))
    return os.path.realpath(path), folder


def test_pca_does_not_map_libtorch():
    lib, _ = built_library()
    after_pca, after_extract = probe(lib, {"EMBEDVIZ_BACKEND_DIR": ""})
    assert after_pca == "False False"
    # extraction maps the module and libtorch, found beside the library
    assert after_extract.startswith("True True 1"), after_extract


def test_module_found_beside_a_copied_library(tmp_path):
    lib, folder = built_library()
    shutil.copy(lib, tmp_path / "libembedviz.so.1")
    after_pca, after_extract = probe(str(tmp_path / "libembedviz.so.1"))
    assert after_pca == "False False"
    assert after_extract.startswith("False False 0"), after_extract
    assert MODULE in after_extract and str(tmp_path) in after_extract
    shutil.copy(os.path.join(folder, MODULE), tmp_path / MODULE)
    _, after_extract = probe(str(tmp_path / "libembedviz.so.1"))
    assert after_extract.startswith("True True 1"), after_extract


def test_backend_dir_variable_names_the_folder(tmp_path):
    lib, _ = built_library()
    _, after_extract = probe(lib, {"EMBEDVIZ_BACKEND_DIR": str(tmp_path)})
    assert after_extract.startswith("False False 0"), after_extract
    assert "EMBEDVIZ_BACKEND_DIR=%s has no %s" % (tmp_path, MODULE) in after_extract
