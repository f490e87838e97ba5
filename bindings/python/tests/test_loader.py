"""Finding the library: the environment variable, beside the package, the
system's search path; the message when none loads; the version check; a
library without a capability. Each case runs in a fresh interpreter."""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import embedviz

PKG = os.path.dirname(os.path.dirname(embedviz.__file__))


def run(code, env_lib=None, pythonpath=PKG, extra_env=None, cwd=None):
    env = {k: v for k, v in os.environ.items() if k not in ("EMBEDVIZ_LIBRARY", "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = pythonpath
    if env_lib is not None:
        env["EMBEDVIZ_LIBRARY"] = env_lib
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=120, cwd=cwd)


def fake_library(tmp_path, version, body=""):
    """A shared library that exports ev_version_number() and nothing else
    of libembedviz."""
    if not shutil.which("cc"):
        pytest.skip("no C compiler to build a fake library")
    src = tmp_path / "fake.c"
    src.write_text("unsigned ev_version_number(void) { return %d; }\n"
                   "const char *ev_version_string(void) { return \"%d.%d.%d\"; }\n%s"
                   % (version, version // 10000, version // 100 % 100, version % 100, body))
    out = tmp_path / "libembedviz.so.1"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(out), str(src)], check=True)
    return str(out)


def test_the_variable_wins_and_may_name_a_folder():
    real = embedviz.library().path
    r = run("import embedviz; print(embedviz.library().path)", env_lib=os.path.dirname(real))
    assert r.returncode == 0, r.stderr
    assert os.path.samefile(r.stdout.strip(), real)


def test_a_missing_library_names_where_it_looked(tmp_path):
    r = run("""
        import embedviz
        import numpy as np
        try:
            embedviz.ambiguity(np.ones((2, 2)))
        except embedviz.LibraryNotFoundError as e:
            assert isinstance(e, OSError)
            print(e)
        """, env_lib=str(tmp_path / "nowhere.so"))
    assert r.returncode == 0, r.stderr
    assert "EMBEDVIZ_LIBRARY=" in r.stdout and "nowhere.so" in r.stdout
    assert "no such file" in r.stdout
    # Without the variable: beside the package, then the system's path.
    r = run("""
        import embedviz
        try:
            embedviz.library()
        except embedviz.LibraryNotFoundError as e:
            print(e)
        else:
            print("found", embedviz.library().path)
        """, extra_env={"LD_LIBRARY_PATH": ""})
    assert r.returncode == 0, r.stderr
    if not r.stdout.startswith("found"):
        assert "beside the package" in r.stdout and "system's search path" in r.stdout
        assert "libembedviz.so.1" in r.stdout and "make" in r.stdout


def test_the_library_beside_the_package_is_found(tmp_path):
    pkg = tmp_path / "site" / "embedviz"
    shutil.copytree(os.path.join(PKG, "embedviz"), pkg,
                    ignore=shutil.ignore_patterns("__pycache__", "libembedviz.so*"))
    shutil.copy(embedviz.library().path, pkg / "libembedviz.so.1")
    r = run("import embedviz; print(embedviz.library().path, embedviz.library_version())",
            pythonpath=str(tmp_path / "site"))
    assert r.returncode == 0, r.stderr
    path, version = r.stdout.split()
    assert os.path.samefile(path, pkg / "libembedviz.so.1") and version == embedviz.__version__


def test_a_library_of_another_major_version_is_refused(tmp_path):
    lib = fake_library(tmp_path, 20003)
    r = run("""
        import embedviz
        try:
            embedviz.library()
        except embedviz.LibraryNotFoundError as e:
            print(e)
        """, env_lib=lib)
    assert r.returncode == 0, r.stderr
    assert "is libembedviz 2.0.3" in r.stdout and "needs 1.x" in r.stdout


def test_a_library_without_a_capability_says_so(tmp_path):
    lib = fake_library(tmp_path, 10000)
    r = run("""
        import embedviz, numpy as np
        try:
            embedviz.PCA(2).fit(np.ones((3, 3)))
        except embedviz.UnsupportedError as e:
            print(e)
        """, env_lib=lib)
    assert r.returncode == 0, r.stderr
    assert "has no ev_pca_create()" in r.stdout


def test_use_library_and_version():
    # the package and the library it is released with share one version
    assert embedviz.library_version() == embedviz.__version__
    major, minor, patch = map(int, embedviz.__version__.split("."))
    assert embedviz.library().version_number == major * 10000 + minor * 100 + patch
    assert embedviz.default_threads() >= 1
    with pytest.raises(embedviz.LibraryNotFoundError, match="the path given"):
        embedviz.use_library("/nonexistent/libembedviz.so.1")
    assert embedviz.library_version() == embedviz.__version__   # still the one loaded before


def test_calls_release_the_gil():
    import ctypes
    lib = embedviz.library()._cdll
    assert isinstance(lib, ctypes.CDLL) and not isinstance(lib, ctypes.PyDLL)


def test_pip_install_offline(tmp_path):
    """`pip install bindings/python` with no network and no index: a pure
    Python package whose only dependency is numpy; the installed copy loads
    the library and works."""
    target = tmp_path / "site"
    src = tmp_path / "src"   # setuptools builds in the source folder: use a copy
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns(
        "__pycache__", "build", "*.egg-info", "tests", "libembedviz.so*"))
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index",
                        "--no-build-isolation", "--no-deps", "--target", str(target), str(src)],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PIP_NO_CACHE_DIR": "1"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert (target / "embedviz" / "__init__.py").exists()
    meta = next(target.glob("embedviz-*.dist-info")) / "METADATA"
    requires = [l for l in meta.read_text().splitlines() if l.startswith("Requires-Dist")]
    names = lambda ls: [l.split(":", 1)[1].split()[0].split(">")[0] for l in ls]
    base = [l for l in requires if "extra ==" not in l]
    extra = [l for l in requires if "extra ==" in l]
    assert names(base) == ["numpy"]
    # embedviz.distributed's extra, never installed unless asked for
    assert names(extra) == ["dask", "distributed"]
    assert all("extra == 'distributed'" in l.replace('"', "'") for l in extra)
    lib = os.path.abspath(embedviz.library().path)   # the one these tests use
    out = run("""
        import embedviz, numpy as np
        assert embedviz.__file__.startswith(%r), embedviz.__file__
        x = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
        print(embedviz.PCA(2).fit_transform(x).shape)
    """ % str(target), env_lib=lib, pythonpath=str(target), cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(50, 2)"
