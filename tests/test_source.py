"""ecgsk._source.code_hash: what the code does counts; docstrings, comments and layout do not."""

from ecgsk._source import code_hash


def _hash(folder):
    code_hash.cache_clear()  # computed once per folder and process
    return code_hash(folder)


def test_the_hash_follows_the_code_not_its_text(tmp_path):
    (tmp_path / "sub").mkdir()
    module = tmp_path / "sub" / "mod.py"
    module.write_text('"""Module."""\n\ndef f(x):\n    """Double."""\n    return 2 * x\n')
    first = _hash(tmp_path)
    assert len(first) == 64 and first == _hash(tmp_path)

    module.write_text('"""Another docstring."""\n# a comment\n\n\n'
                      'def f(x):\n    return 2*x  # x2\n')
    assert _hash(tmp_path) == first  # docstrings, comments, layout

    module.write_text('def f(x):\n    return 3 * x\n')
    changed = _hash(tmp_path)
    assert changed != first  # what it computes

    (tmp_path / "extra.py").write_text("")
    assert _hash(tmp_path) not in (first, changed)  # another module
    (tmp_path / "extra.py").rename(tmp_path / "sub" / "extra.py")
    moved = _hash(tmp_path)
    assert moved not in (first, changed)  # where it lies

    (tmp_path / "broken.py").write_text("def (:\n")  # counts by its bytes
    broken = _hash(tmp_path)
    assert broken != moved
    (tmp_path / "broken.py").write_text("def (:\n\n")
    assert _hash(tmp_path) not in (moved, broken)


def test_the_package_hash_is_computed_once():
    code_hash.cache_clear()
    assert code_hash() == code_hash()
    assert code_hash.cache_info().hits == 1
