"""Every public function, class and method documents the parameters it takes.

scikit-learn's own ``test_docstring_parameters`` does this with numpydoc;
here a small reader of numpydoc's ``Parameters`` section does it, so the
tests need no Sphinx. Public means named in the ``__all__`` of a public
module (``ecgsk.metrics``, not ``ecgsk.metrics._scores``), and for a class,
its own public methods; and each named pipeline's ``make_pipeline``
and ``search_space``, which users call through ``compare --set`` and
``tune``. A class documents its constructor's parameters (a
dataclass may list its fields under ``Attributes`` instead), and a method
that overrides one of a base class (skorch's ``train_step``, torch's
``forward``) is left to the base class's documentation.
"""

import ast
import dataclasses
import importlib
import inspect
import pkgutil

import pytest

import ecgsk

PUBLIC_MODULES = sorted(
    f"ecgsk.{info.name}" for info in pkgutil.iter_modules(ecgsk.__path__)
    if not info.name.startswith("_"))


def section_entries(doc, title, with_types=False):
    """``(names, described)`` of each entry of the numpydoc section ``title`` of ``doc``.

    An entry starts at the section's indentation (``name : type``, ``name``, or
    ``a, b : type``; a long type goes on over lines ending in ``\\``); its
    description is indented below it. Text at the entries' indentation that
    is not an entry (a paragraph) shows up as names that are no parameters,
    as numpydoc reads it. None when there is no such section. With
    ``with_types``, ``(names, type, described)``, the type's lines joined.
    """
    lines = inspect.cleandoc(doc or "").splitlines() + [""]
    for i in range(len(lines) - 1):
        if lines[i].strip() == title and set(lines[i + 1].strip()) == {"-"}:
            break
    else:
        return None
    entries = []
    j = i + 2
    while j < len(lines) - 1:
        line, below = lines[j], lines[j + 1].strip()
        if line.strip() and below and set(below) == {"-"}:
            break  # the next section's title
        if line.strip() and not line[0].isspace():
            head, _, kind = line.partition(" : ")
            names = [n.strip() for n in head.split(",") if n.strip()]
            parts = [kind]
            while lines[j].rstrip().endswith("\\"):  # the type goes on
                j += 1
                parts.append(lines[j])
            kind = " ".join(p.rstrip().rstrip("\\").strip() for p in parts if p.strip())
            nxt = lines[j + 1]
            described = bool(nxt.strip()) and nxt[0].isspace()
            entries.append((names, kind, described) if with_types else (names, described))
        j += 1
    return entries


def section_names(doc, title):
    """The names that a numpydoc section ``title`` of ``doc`` describes, in order."""
    entries = section_entries(doc, title)
    return None if entries is None else [n for names, _ in entries for n in names]


def parameters(obj):
    """The names a caller passes to ``obj`` (``*args`` and ``**kwargs`` as written)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    names = []
    for p in sig.parameters.values():
        if p.name in ("self", "cls"):
            continue
        names.append({p.VAR_POSITIONAL: f"*{p.name}",
                      p.VAR_KEYWORD: f"**{p.name}"}.get(p.kind, p.name))
    return names


def _overrides(cls, name):
    return any(name in vars(base) for base in cls.__mro__[1:])


def public_callables():
    """``(qualified name, object)`` of every public callable."""
    seen = set()
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if id(obj) in seen or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            seen.add(id(obj))
            yield f"{module_name}.{name}", obj
            if not inspect.isclass(obj):
                continue
            for attr, value in vars(obj).items():
                if attr.startswith("_") or _overrides(obj, attr):
                    continue
                func = value.__func__ if isinstance(value, (staticmethod, classmethod)) \
                    else value
                if inspect.isfunction(func):
                    yield f"{module_name}.{name}.{attr}", func


def pipeline_callables():
    """``(name, object)`` of each public function that a named pipeline's module defines.

    ``make_pipeline`` and ``search_space``, and the helpers that recipes and
    ``bench/`` build on (``network``, ``benchmark_recipe``...).
    """
    from ecgsk.compare import list_pipelines, load_pipeline_module

    for name in sorted(list_pipelines()):
        module = load_pipeline_module(name)
        for attr, value in sorted(vars(module).items()):
            if (not attr.startswith("_") and inspect.isfunction(value)
                    and value.__module__ == module.__name__):
                yield f"pipelines/{name}.py:{attr}", value


CALLABLES = sorted(public_callables(), key=lambda item: item[0]) + list(pipeline_callables())


def _documented(obj):
    """``(parameters, documented names)`` of ``obj``."""
    params = parameters(obj)
    if not inspect.isclass(obj):
        return params, section_names(obj.__doc__, "Parameters")
    names = section_names(obj.__doc__, "Parameters")
    if names is None and dataclasses.is_dataclass(obj):
        # A result's fields, documented as attributes (beside properties, which are not
        # parameters).
        names = section_names(obj.__doc__, "Attributes")
        return params, (None if names is None else [n for n in names if n in params])
    return params, names


# Exceptions are raised by ecgsk, never built by its users: their parameters are not checked.
BUILT = [c for c in CALLABLES if not (inspect.isclass(c[1]) and issubclass(c[1], BaseException))]


@pytest.mark.parametrize("qualname, obj", BUILT, ids=[c[0] for c in BUILT])
def test_parameters_are_documented(qualname, obj):
    params, names = _documented(obj)
    if not params:
        assert not names, f"{qualname} takes no parameters but documents {names}"
        return
    assert names is not None, f"{qualname}({', '.join(params)}) has no Parameters section"
    assert names == params, (
        f"{qualname}: the Parameters section lists {names}; the signature is {params}")
    title = "Parameters"
    if section_entries(obj.__doc__, title) is None:  # a dataclass's fields as Attributes
        title = "Attributes"
    bare = [n for names, described in section_entries(obj.__doc__, title)
            for n in names if not described and n in params]
    assert not bare, f"{qualname}: no description of {bare}"


def documented_defaults(doc):
    """``{name: value}`` of the ``default=value`` that the Parameters entries of ``doc`` state.

    Only literal values are read (``default=0.5``, ``default="auto"``,
    ``default=None``; ``a, b : int, default=10, 30`` gives each its own); a
    value that is an expression (``default=signal.SIGINT``) is left out.
    """
    out = {}
    for names, kind, _ in section_entries(doc, "Parameters", with_types=True) or []:
        if "default=" not in kind:
            continue
        try:
            value = ast.literal_eval(f"({kind.split('default=', 1)[1]},)")
        except (ValueError, SyntaxError):
            continue
        if len(names) == 1:
            out[names[0]] = value[0] if len(value) == 1 else value
        elif len(value) == len(names):
            out.update(zip(names, value))
    return out


def _lists(value):
    """``value`` with its tuples as lists: ``default=[5, 25]`` may document ``(5, 25)``."""
    return [_lists(v) for v in value] if isinstance(value, (tuple, list)) else value


@pytest.mark.parametrize("qualname, obj", BUILT, ids=[c[0] for c in BUILT])
def test_documented_defaults_are_the_signatures(qualname, obj):
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return
    wrong = {}
    for name, value in documented_defaults(obj.__doc__).items():
        if name in signature.parameters:
            actual = signature.parameters[name].default
            same = (actual is not inspect.Parameter.empty and _lists(actual) == _lists(value)
                    and isinstance(actual, bool) == isinstance(value, bool))  # 120 is 120.0
            if not same:
                wrong[name] = (value, actual)
    assert not wrong, f"{qualname}: (documented default, signature's default): {wrong}"


def test_documented_defaults_reads_literals_and_pairs():
    doc = """Do it.

    Parameters
    ----------
    a, b : int, default=10, 30
        Two.
    kind : {"x", "y"}, default="x"
        One.
    sig : int, default=signal.SIGINT
        An expression: not read.
    long : {"a", "b"}, \\
            default="b"
        A type over two lines.
    none : str or None, default=None
        Nothing.

    Returns
    -------
    c : int, default=3
    """
    assert documented_defaults(doc) == {"a": 10, "b": 30, "kind": "x", "long": "b",
                                        "none": None}
    # The check above is not vacuous: the public API states hundreds of defaults.
    assert sum(len(documented_defaults(obj.__doc__)) for _, obj in BUILT) >= 500


def test_the_public_callables_are_found():
    """The parametrisation above is not vacuous."""
    names = [c[0] for c in CALLABLES]
    assert len(names) >= 150
    for expected in ("ecgsk.metrics.bootstrap_ci", "ecgsk.neural.ECGNetClassifier",
                     "ecgsk.preprocessing.WFDBLoader", "ecgsk.predict.Prediction.write",
                     "pipelines/ecgsk_ptbxl.py:make_pipeline",
                     "pipelines/features_hgb.py:search_space",
                     "pipelines/ecgsk_ptbxl.py:network", "pipelines/resnet1d.py:benchmark_recipe"):
        assert expected in names


def test_section_names_reads_numpydoc_entries():
    doc = """Do it.

    Parameters
    ----------
    x, y : array-like
        The data. A line of its description
        that goes on.
    weights : str, \\
            default="equal"
        How to weigh.
    **kwargs
        Passed on.
    bare : int

    Returns
    -------
    out : float
    """
    assert section_entries(doc, "Parameters") == [
        (["x", "y"], True), (["weights"], True), (["**kwargs"], True), (["bare"], False)]
    assert section_names(doc, "Parameters") == ["x", "y", "weights", "**kwargs", "bare"]
    assert section_names(doc, "Returns") == ["out"]
    assert section_names(doc, "Attributes") is None
    paragraph = doc.replace("    **kwargs\n", "    A paragraph, not an entry.\n    **kwargs\n")
    assert "A paragraph" in section_names(paragraph, "Parameters")
