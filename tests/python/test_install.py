"""Installing the Python package without environment variables (issue 19):
after `make install` with the prefix on the loader's path, and from the
wheel `make wheel` builds, `import embedviz` finds the library with no
EMBEDVIZ_LIBRARY. Each case in a fresh `python3 -m venv
--system-site-packages` (numpy and scikit-learn from Debian), offline."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = "/usr/bin/python3"

# What the fresh environment runs: where the library came from, and a real
# computation through it.
PROBE = (
    "import numpy as np, embedviz\n"
    "x = np.random.RandomState(0).rand(40, 5).astype(np.float32)\n"
    "t = embedviz.PCA(2).fit_transform(x)\n"
    "print(embedviz.library().path)\n"
    "print(t.shape, embedviz.__file__)\n")


# Extraction from the fresh environment: whether the backend module loads
# and which file was mapped (issue 20: the module travels with the library).
EXTRACT_PROBE = (
    "import embedviz\n"
    "lib = embedviz.library()\n"
    "ok = lib.ev_extract_available()\n"
    "maps = open('/proc/self/maps').read().split()\n"
    "print(ok, [m for m in maps if m.endswith('/libembedviz-torch.so')][:1],\n"
    "      '' if ok else lib.ev_last_error().decode())\n")
HAVE_MODULE = os.path.exists(os.path.join(ROOT, "build", "libembedviz-torch.so"))


def check_module_used(py, env, cwd, module):
    """The backend module is found at `module` and extraction is available."""
    out = run([py, "-c", EXTRACT_PROBE], env=env, cwd=cwd).strip()
    assert out.startswith("1 ['%s']" % os.path.realpath(module)), out


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("EMBEDVIZ_LIBRARY", "PYTHONPATH", "LD_LIBRARY_PATH",
                        "EMBEDVIZ_BACKEND_DIR")}
    env.update(extra)
    return env


def run(cmd, **kw):
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert out.returncode == 0, "%s\n%s\n%s" % (cmd, out.stdout, out.stderr)
    return out.stdout


def venv(path):
    run([PYTHON, "-m", "venv", "--system-site-packages", str(path)])
    return str(path / "bin" / "python")


def pip_install(py, target, env):
    run([py, "-m", "pip", "install", "--no-index", "--no-build-isolation", "--no-deps",
         "-q", target], env=env, cwd=str(os.path.dirname(py)))


def test_make_install_then_pip_install_needs_no_environment_variable(tmp_path):
    stage = tmp_path / "stage"
    # DESTDIR keeps the loader's cache alone; the prefix's lib folder is put
    # on the loader's path with LD_LIBRARY_PATH (as ld.so.conf would).
    run(["make", "-s", "install", "DESTDIR=%s" % stage, "PREFIX=/opt/ev"], cwd=ROOT)
    libdir = stage / "opt" / "ev" / "lib"
    assert (libdir / "libembedviz.so.1").exists()
    py = venv(tmp_path / "venv")
    env = clean_env(LD_LIBRARY_PATH=str(libdir))
    pip_install(py, os.path.join(ROOT, "bindings", "python"), env)
    out = run([py, "-c", PROBE], env=env, cwd=str(tmp_path)).splitlines()
    assert os.path.realpath(out[0]) == os.path.realpath(str(libdir / "libembedviz.so.1")) \
        or out[0] == "libembedviz.so.1", out
    assert out[1].startswith("(40, 2) " + str(tmp_path / "venv")), out
    if HAVE_MODULE:   # installed in $(LIBDIR)/embedviz, found from the library
        check_module_used(py, env, str(tmp_path), libdir / "embedviz" / "libembedviz-torch.so")
    # Without the prefix on the loader's path the error says where it looked.
    fail = subprocess.run([py, "-c", PROBE], capture_output=True, text=True,
                          env=clean_env(), cwd=str(tmp_path))
    assert fail.returncode != 0 and "libembedviz could not be loaded" in fail.stderr


def test_the_wheel_carries_the_library(tmp_path):
    run(["make", "-s", "wheel", "WHEEL_DIR=%s" % (tmp_path / "dist")], cwd=ROOT)
    wheels = list((tmp_path / "dist").glob("embedviz-*.whl"))
    assert len(wheels) == 1, wheels
    import zipfile
    names = zipfile.ZipFile(str(wheels[0])).namelist()
    assert "embedviz/libembedviz.so.1" in names
    if HAVE_MODULE:
        assert "embedviz/libembedviz-torch.so" in names
    assert "linux" in wheels[0].name              # a platform wheel, not pure Python
    py = venv(tmp_path / "venv")
    env = clean_env()
    pip_install(py, str(wheels[0]), env)
    out = run([py, "-c", PROBE], env=env, cwd=str(tmp_path)).splitlines()
    site = str(tmp_path / "venv")
    assert out[0].startswith(site) and out[0].endswith("embedviz/libembedviz.so.1"), out
    assert out[1].startswith("(40, 2) " + site), out
    if HAVE_MODULE:   # the wheel's own module, beside its library
        check_module_used(py, env, str(tmp_path),
                          os.path.join(os.path.dirname(out[0]), "libembedviz-torch.so"))
