"""Every row of docs/errors-python-cli.md, run for real: the outcome and a
message fragment each, and the page is current (regenerate it with the
command at the top of error_table.py)."""
import os

import pytest

import error_table

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    pytest.importorskip("embedviz", reason="PYTHONPATH needs bindings/python")
    return error_table.results(tmp_path_factory.mktemp("errors"))


def test_each_bad_input_gives_its_outcome_and_message(rows):
    for case, outcome, message in rows:
        assert outcome == case.outcome, f"{case.shown}: got {outcome}: {message}"
        assert case.contains in message, f"{case.shown}: {message!r} lacks {case.contains!r}"


def test_messages_do_not_name_c_constants(rows):
    for case, _, message in rows:
        if case.door == "Python":
            assert "EV_" not in message and "ev_" not in message, f"{case.shown}: {message}"


def test_the_page_is_current(rows):
    if not any(case.shown.startswith("FeatureExtractor") for case, _, _ in rows):
        pytest.skip("the page includes extraction rows, which need torch and a libembedviz with libtorch")
    with open(os.path.join(ROOT, "docs", "errors-python-cli.md")) as f:
        page = f.read()
    assert page == error_table.markdown(rows), (
        "docs/errors-python-cli.md is out of date: regenerate it with the command in tests/python/error_table.py")
