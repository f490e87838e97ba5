"""pytest plugin loaded by tests/check-python.sh (`-p pytest_skips`): in
`make check` a skipped test is a failure, because a suite that passes by
skipping proves nothing. A skip is allowed only when EV_ALLOW_SKIPS (a
space-separated list) names it: its node id
(tests/python/test_x.py::test_y), its file, its test name, or a word of its
reason ("chromium", "fashion-mnist", "torch"...). Allowed skips stay
skipped and are listed by -rs; the others fail with their reason."""
import os
import re

import pytest


def _allowed(nodeid, reason):
    names = os.environ.get("EV_ALLOW_SKIPS", "").replace(",", " ").split()
    if not names:
        return False
    path, _, rest = nodeid.partition("::")
    test = rest.split("[")[0]
    words = set(re.findall(r"[\w.-]+", reason.lower()))
    return any(n in (nodeid, path, os.path.basename(path), test, rest) or n.lower() in words
               for n in names)


def _reason(rep):
    if isinstance(rep.longrepr, tuple):
        return str(rep.longrepr[2]).replace("Skipped: ", "", 1)
    return str(rep.longrepr)


def _fail_unless_allowed(rep):
    if not rep.skipped or hasattr(rep, "wasxfail"):
        return
    reason = _reason(rep)
    if _allowed(rep.nodeid, reason):
        return
    rep.outcome = "failed"
    rep.longrepr = (f"skipped in `make check`: {reason}\n"
                    f"Install what is missing, or set EV_ALLOW_SKIPS=\"{rep.nodeid}\" "
                    "(or a word of the reason) to allow this skip.")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_unless_allowed(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_unless_allowed(outcome.get_result())
