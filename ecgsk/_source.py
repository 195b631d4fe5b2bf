"""A fingerprint of ecgsk's own code, so that nothing computed by other code is resumed.

``compare``'s request key and the networks' checkpoint fingerprints include
it: after an upgrade or an edit of the package, a rerun starts afresh
instead of mixing results of two versions. Docstrings, comments and
formatting do not count, only what the code does.
"""

import ast
import functools
import hashlib
from pathlib import Path

__all__ = ["code_hash"]

_PACKAGE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=None)
def code_hash(package=_PACKAGE):
    """SHA-256 (hex) of the Python modules under ``package``, docstrings and comments left out.

    Each ``*.py`` file counts by its path relative to ``package`` and the
    dump of its syntax tree, with every module, class and function docstring
    removed; a file that does not parse counts by its bytes. Computed once
    per process and folder.
    """
    package = Path(package)
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        source = path.read_bytes()
        try:
            text = ast.dump(_without_docstrings(ast.parse(source)))
        except SyntaxError:
            text = source.hex()
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(text.encode() + b"\0")
    return digest.hexdigest()


def _without_docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                node.body = body[1:] or [ast.Pass()]
    return tree
