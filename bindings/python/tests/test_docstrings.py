"""Every public name of embedviz has a numpydoc docstring that help() and
IDEs show (issue 19), and every Examples section runs.

The public names are embedviz.__all__ (and embedviz.distributed.__all__,
named "distributed.<name>") and, for its classes, their
non-underscore methods and properties written in embedviz (scikit-learn's
inherited ones, e.g. set_output, keep scikit-learn's docstrings). Each one
needs:

- a one-line summary (the first paragraph is one line);
- Parameters naming every parameter of its signature (a class: of the
  __init__ it defines) and nothing else;
- Returns (or Yields) when its code returns (yields) a value;
- Attributes for a class, listing its public properties and, for an
  estimator, every fitted attribute (trailing underscore) a fit sets;
- Examples with at least one example that runs, except for the few that
  need files, torch or the command-line tool (SKIP_ONLY, with the reason).

test_doctest runs every example of the package (the public names' and the
modules'), each as its own test named by its object. Exceptions to the
rules are listed in ALLOWED, with the reason."""
import ast
import doctest
import importlib
import inspect
import pkgutil
import re
import textwrap

import numpy as np
import pytest

import embedviz
from embedviz._base import Estimator

# (public name, rule) -> why the rule cannot apply (yet).
ALLOWED = {}

# Public names whose examples are all `# doctest: +SKIP`, and why.
SKIP_ONLY = {
    "FeatureExtractor": "needs torch and a folder of images",
    "FeatureExtractor.activations": "needs a TorchScript model file",
    "FeatureExtractor.extract": "needs a TorchScript model file and a folder of images",
    "FeatureExtractor.close": "needs a TorchScript model file",
    "FeatureExtractor.layers": "needs a TorchScript model file",
    "FeatureExtractor.layer_kinds": "needs a TorchScript model file",
    "report": "runs the embedviz command-line tool on a model and a folder of images",
    "tool_path": "finds the embedviz command-line tool, which depends on the installation",
    "distributed.extract": "needs a Dask cluster, a TorchScript model and images on shared storage",
    "distributed.extract_to_npy": "needs a Dask cluster, a TorchScript model and shared storage",
    "distributed.open_npy_shards": "reads the shards extract_to_npy wrote on shared storage",
}

_RULES = ("summary", "sections", "Parameters", "Returns", "Yields", "Attributes", "Examples")


def _public_names():
    """(qualified name, object): embedviz.__all__, then the optional
    modules' __all__ (embedviz.distributed, which needs dask: a missing
    dask fails here, naming the package)."""
    from embedviz import distributed
    return ([(name, getattr(embedviz, name)) for name in embedviz.__all__]
            + [("distributed." + name, getattr(distributed, name)) for name in distributed.__all__])


def public_objects():
    """(qualified name, object, kind) for every public name: kind is
    "class", "function", "method" or "property"."""
    out = []
    for name, obj in _public_names():
        if not inspect.isclass(obj):
            out.append((name, obj, "function"))
            continue
        out.append((name, obj, "class"))
        for attr in sorted(dir(obj)):
            if attr.startswith("_"):
                continue
            raw = inspect.getattr_static(obj, attr)
            if isinstance(raw, property):
                func, kind = raw.fget, "property"
            elif isinstance(raw, (staticmethod, classmethod)):
                func, kind = raw.__func__, "method"
            elif inspect.isfunction(raw):
                func, kind = raw, "method"
            else:
                continue
            if not getattr(func, "__module__", "").startswith("embedviz"):
                continue          # scikit-learn's, with scikit-learn's docstring
            out.append(("%s.%s" % (name, attr), func, kind))
    return out


PUBLIC = public_objects()


def sections(doc):
    """{section title: its lines} of a numpydoc docstring ("" is the text
    before the first section), and the titles whose underline is wrong."""
    lines = doc.splitlines()
    out, title, bad = {"": []}, "", []
    i = 0
    while i < len(lines):
        line = lines[i]
        under = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if line.strip() and not line.startswith(" ") and re.fullmatch(r"-{3,}", under):
            title = line.strip()
            if len(under) != len(title):
                bad.append(title)
            out[title] = []
            i += 2
            continue
        out[title].append(line)
        i += 1
    return out, bad


def documented_names(lines):
    """The names a Parameters or Attributes section documents: its
    unindented lines, "name : type", "a, b : type" or "**options"."""
    names = set()
    for line in lines:
        if not line.strip() or line.startswith(" "):
            continue
        head = line.split(" : ")[0]
        names.update(n.strip().lstrip("*") for n in head.split(","))
    return names


def signature_names(obj, kind):
    """The parameters a docstring must document."""
    if kind == "class":
        init = vars(obj).get("__init__")
        if init is None:
            return []          # the inherited constructor documents them
        obj = init
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [p.name for p in sig.parameters.values() if p.name not in ("self", "cls")]


def returns_value(func):
    """(returns a value, yields) from func's source: a `return X` with X
    not None, or a yield."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return False, False
    body = tree.body[0]
    returns = yields = False
    stack = list(ast.iter_child_nodes(body))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue          # a nested function's returns are its own
        if isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            returns = True
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            yields = True
        stack.extend(ast.iter_child_nodes(node))
    return returns, yields


def problems(name, obj, kind):
    """What the docstring of one public name lacks, as (rule, text) pairs."""
    doc = inspect.getdoc(obj) if kind != "class" else obj.__doc__ and inspect.cleandoc(obj.__doc__)
    if not doc:
        return [("summary", "no docstring")]
    found = []
    secs, bad = sections(doc)
    summary = "\n".join(secs[""]).strip().split("\n\n")[0]
    if not summary or "\n" in summary:
        found.append(("summary", "the summary is not one line: %r" % summary[:120]))
    for title in bad:
        found.append(("sections", "the underline of %r is not as long as the title" % title))
    params = signature_names(obj, kind)
    if params and kind != "property":
        if "Parameters" not in secs:
            found.append(("Parameters", "no Parameters section (signature: %s)" % ", ".join(params)))
        else:
            have = documented_names(secs["Parameters"])
            missing = [p for p in params if p not in have]
            extra = sorted(have - set(params))
            if missing:
                found.append(("Parameters", "Parameters does not document %s" % ", ".join(missing)))
            if extra:
                found.append(("Parameters", "Parameters documents %s, not in the signature"
                              % ", ".join(extra)))
    if kind in ("function", "method"):
        returns, yields = returns_value(obj)
        if returns and "Returns" not in secs:
            found.append(("Returns", "it returns a value but has no Returns section"))
        if yields and "Yields" not in secs:
            found.append(("Yields", "it yields but has no Yields section"))
    if kind == "class":
        if "Attributes" not in secs:
            found.append(("Attributes", "no Attributes section"))
        else:
            have = documented_names(secs["Attributes"])
            props = [a for a in dir(obj) if not a.startswith("_")
                     and isinstance(inspect.getattr_static(obj, a), property)
                     and inspect.getattr_static(obj, a).fget.__module__.startswith("embedviz")]
            missing = [p for p in props if p not in have]
            if missing:
                found.append(("Attributes", "Attributes does not list the properties %s"
                              % ", ".join(missing)))
    if ">>>" not in "\n".join(secs.get("Examples", [])):
        found.append(("Examples", "no Examples section with an example"))
    return [(rule, text) for rule, text in found if (name, rule) not in ALLOWED]


@pytest.mark.parametrize("name,obj,kind", PUBLIC, ids=[p[0] for p in PUBLIC])
def test_numpydoc_sections(name, obj, kind):
    found = problems(name, obj, kind)
    assert not found, "%s (%s): %s" % (name, kind, "; ".join(text for _, text in found))


def test_the_walk_covers_every_public_name():
    names = {p[0] for p in PUBLIC}
    assert set(embedviz.__all__) <= names
    # Methods and properties of the estimators and result classes, and
    # Estimator's get_params/set_params; not scikit-learn's set_output.
    for name in ("PCA.fit", "PCA.get_params", "TSNE.fit_transform",
                 "NearestNeighbors.kneighbors_graph", "FeatureExtractor.layers",
                 "Features.class_to_idx", "Report.url", "ProgressBar.start",
                 "distributed.fit_pca", "distributed.ShardedNeighbors.kneighbors",
                 "distributed.DistributedFeatures.skipped"):
        assert name in names, name
    assert "PCA.set_output" not in names


def test_allow_lists_name_public_objects():
    names = {p[0] for p in PUBLIC}
    for name, rule in ALLOWED:
        assert name in names and rule in _RULES, (name, rule)
    assert set(SKIP_ONLY) <= names, set(SKIP_ONLY) - names


def test_the_checker_finds_what_is_missing():
    # The rules themselves, on docstrings written to break each one.
    def f(a, b=1):
        """Two lines
        of summary.

        Parameters
        ----------
        a : int
        c : int

        Examples
        -------
        >>> f(1)
        """
        return a

    rules = [rule for rule, _ in problems("f", f, "function")]
    assert rules == ["summary", "sections", "Parameters", "Parameters", "Returns"]

    class C:
        """A class.

        Examples
        --------
        >>> C()
        """

        @property
        def size(self):
            return 1

    C.size.fget.__module__ = "embedviz.test"
    assert [rule for rule, _ in problems("C", C, "class")] == ["Attributes"]
    C.__doc__ = "A class.\n\nAttributes\n----------\nwidth : int\n\nExamples\n--------\n>>> C()\n"
    assert problems("C", C, "class") == [
        ("Attributes", "Attributes does not list the properties size")]


# ---- estimators: every fitted attribute is documented ----

ESTIMATORS = [(name, obj) for name, obj, kind in PUBLIC
              if kind == "class" and issubclass(obj, Estimator)]


@pytest.mark.parametrize("name,cls", ESTIMATORS, ids=[e[0] for e in ESTIMATORS])
def test_fitted_attributes_are_documented(name, cls):
    x = np.random.RandomState(0).rand(120, 6).astype(np.float32)
    y = inspect.signature(cls.fit).parameters.get("y")
    # regressors (Ridge, RidgeCV) need targets; the others take y=None
    est = cls().fit(x, x[:, :2]) if y is not None and y.default is y.empty else cls().fit(x)
    fitted = sorted(a for a in vars(est) if a.endswith("_") and not a.startswith("_"))
    assert fitted, "%s.fit set no fitted attribute" % name
    secs, _ = sections(inspect.cleandoc(cls.__doc__))
    have = documented_names(secs.get("Attributes", []))
    assert not [a for a in fitted if a not in have], (
        "%s's Attributes does not document %s" % (name, [a for a in fitted if a not in have]))


# ---- the examples run ----

def _modules():
    """embedviz and every module in it."""
    mods = [embedviz]
    for info in pkgutil.iter_modules(embedviz.__path__):
        mods.append(importlib.import_module("embedviz." + info.name))
    return mods


def collect_doctests():
    """Every docstring example of the package, once: the public names'
    first (named as embedviz.<name>), then the rest of each module's."""
    finder = doctest.DocTestFinder(recurse=False, exclude_empty=True)
    tests, seen = [], set()

    def add(found):
        for t in found:
            key = t.docstring
            if t.examples and key not in seen:
                seen.add(key)
                tests.append(t)

    for name, obj, kind in PUBLIC:
        add(finder.find(obj, "embedviz." + name, module=False, globs={}))
    deep = doctest.DocTestFinder(exclude_empty=True)
    for mod in _modules():
        add(deep.find(mod))
    return tests


DOCTESTS = collect_doctests()
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_doctest(test):
    runner = doctest.DocTestRunner(optionflags=_FLAGS)
    out = []
    result = runner.run(test, out=out.append)
    assert result.failed == 0, "".join(out)


def test_every_public_name_has_an_example_that_runs():
    # By docstring: PCA, TSNE and NearestNeighbors share get_params' test.
    by_doc = {t.docstring: t for t in DOCTESTS}
    lacking = []
    for name, obj, kind in PUBLIC:
        t = by_doc.get(obj.__doc__)
        runs = t is not None and any(not e.options.get(doctest.SKIP)
                                     and not e.source.startswith(("import ", "from "))
                                     for e in t.examples)
        if name in SKIP_ONLY:
            assert not runs, "%s's examples run now: take it off SKIP_ONLY" % name
        elif not runs and (name, "Examples") not in ALLOWED:
            lacking.append(name)
    assert not lacking, "no example that runs (only +SKIP, or none): %s" % ", ".join(lacking)

