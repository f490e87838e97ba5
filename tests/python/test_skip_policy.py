"""The no-silent-skips rule of `make check` (docs/testing.md), checked on
small suites written here: a test that cannot run fails, saying what is
missing, unless EV_ALLOW_SKIPS names it; an allowed skip is listed.

- pytest with tests/pytest_skips.py (as tests/check-python.sh runs it): a
  `skipif`, a `pytest.skip()` and a module-level `importorskip` each fail;
  named by node id, test name or a word of the reason, they are skipped
  and listed by -rs.
- C with testutil.h's TU_REQUIRE (as tests/run-c.sh runs the programs): a
  missing dependency fails the test (Check would count an early return as a
  pass); allowed, it prints SKIPPED and run-c.sh lists it.
- tests/run-all.sh: a run with EV_SKIP_SANITIZERS=1 names what it left out."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

SUITE = '''
import pytest

def test_runs():
    assert 1 + 1 == 2

@pytest.mark.skipif(True, reason="the widget package is not installed")
def test_needs_widget():
    pass

def test_needs_gadget_data():
    pytest.skip("gadget data set not installed")
'''

MODULE_SKIP = '''
import pytest
pytest.importorskip("no_such_module_for_embedviz_tests")

def test_never_runs():
    pass
'''


def pytest_run(tmp_path, allow=None):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests"))
    env.pop("EV_ALLOW_SKIPS", None)
    if allow is not None:
        env["EV_ALLOW_SKIPS"] = allow
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider", "-p", "pytest_skips",
                        "--continue-on-collection-errors", str(tmp_path)],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    return p.returncode, p.stdout + p.stderr


@pytest.fixture
def suite(tmp_path):
    (tmp_path / "test_suite.py").write_text(SUITE)
    (tmp_path / "test_module_skip.py").write_text(MODULE_SKIP)
    return tmp_path


def test_a_pytest_skip_fails_and_says_what_is_missing(suite):
    rc, out = pytest_run(suite)
    assert rc != 0, out
    # a skip at collection (importorskip) or setup (skipif) is reported as
    # an error, one in the test's body as a failure: none passes
    assert "1 failed, 1 passed, 2 errors" in out, out
    for reason in ("the widget package is not installed", "gadget data set not installed",
                   "no_such_module_for_embedviz_tests"):
        assert "skipped in `make check`: " in out and reason in out, (reason, out)
    assert "EV_ALLOW_SKIPS" in out


def test_named_skips_are_allowed_and_listed(suite):
    rc, out = pytest_run(suite, "widget test_needs_gadget_data test_module_skip.py")
    assert rc == 0, out
    assert "1 passed, 3 skipped" in out, out
    assert out.count("SKIPPED") == 3, out
    # naming one skip allows that one only
    rc, out = pytest_run(suite, "widget")
    assert rc != 0 and "1 failed, 1 passed, 1 skipped, 1 error" in out, out


C_PROGRAM = r'''
#include "testutil.h"
START_TEST(needs_a_thing) {
  TU_REQUIRE(0, "test_skip_demo.needs_a_thing", "thing", "the thing is not installed");
  ck_assert_int_eq(1, 2); /* never reached when skipped */
}
END_TEST
START_TEST(runs) { ck_assert_int_eq(2, 2); }
END_TEST
int main(void) {
  Suite *s = suite_create("skip demo");
  TCase *tc = tcase_create("skip demo");
  tcase_add_test(tc, needs_a_thing);
  tcase_add_test(tc, runs);
  suite_add_tcase(s, tc);
  return tu_run(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
'''


@pytest.fixture(scope="module")
def c_program(tmp_path_factory):
    cc = shutil.which("cc")
    assert cc, "no C compiler: the C half of the skip rule cannot be checked"
    d = tmp_path_factory.mktemp("skipdemo")
    (d / "test_skip_demo.c").write_text(C_PROGRAM)
    libs = subprocess.run(["pkg-config", "--libs", "check"], capture_output=True, text=True).stdout.split()
    exe = d / "test_skip_demo"
    p = subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-I" + os.path.join(ROOT, "include"),
                        "-I" + os.path.join(ROOT, "tests"), str(d / "test_skip_demo.c"), "-o", str(exe)]
                       + (libs or ["-lcheck"]) + ["-lm"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return exe


def run_c(exe, allow=None):
    env = dict(os.environ)
    env.pop("EV_ALLOW_SKIPS", None)
    if allow is not None:
        env["EV_ALLOW_SKIPS"] = allow
    p = subprocess.run(["bash", os.path.join(ROOT, "tests", "run-c.sh"), str(exe)], capture_output=True, text=True,
                       env=env, timeout=120)
    return p.returncode, p.stdout + p.stderr


def test_a_c_skip_fails_and_says_what_is_missing(c_program):
    rc, out = run_c(c_program)
    assert rc != 0, out
    assert "needs_a_thing" in out and "cannot run: the thing is not installed" in out, out
    assert "C tests: 1 passed, 1 failed" in out, out


def test_a_named_c_skip_is_allowed_and_listed(c_program):
    for allow in ("thing", "test_skip_demo.needs_a_thing"):
        rc, out = run_c(c_program, allow)
        assert rc == 0, out
        assert "C test parts skipped" in out and "test_skip_demo.needs_a_thing" in out, out
        assert "C tests: 1 passed, 0 failed, 1 skipped (allowed)" in out, out
    rc, out = run_c(c_program, "something_else")
    assert rc != 0, out


def test_a_quick_run_says_what_it_left_out():
    """EV_SKIP_SANITIZERS=1 leaves four parts out of `make check`; its
    summary names them and counts them, so it is not read as a full run.
    (Each part's command is replaced by `true` here: only the summary is
    checked.)"""
    env = dict(os.environ, MAKE="true", EV_SKIP_SANITIZERS="1")
    env.pop("EV_ALLOW_SKIPS", None)
    p = subprocess.run(["bash", os.path.join(ROOT, "tests", "run-all.sh")], capture_output=True, text=True, env=env,
                       timeout=120)
    lines = p.stdout.splitlines()
    assert p.returncode == 0, p.stdout + p.stderr
    assert "left out by EV_SKIP_SANITIZERS=1: ASan+UBSan; TSan; valgrind; fuzzing, short run" in lines, lines
    assert lines[-1].endswith(", 4 left out"), lines[-1]
    env.pop("EV_SKIP_SANITIZERS")
    p = subprocess.run(["bash", os.path.join(ROOT, "tests", "run-all.sh")], capture_output=True, text=True, env=env,
                       timeout=120)
    last = p.stdout.splitlines()[-1]
    assert "left out" not in p.stdout, p.stdout
    assert last.startswith("test parts: ") and last.endswith(" passed, 0 failed"), p.stdout
