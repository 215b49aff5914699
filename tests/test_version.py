"""The engine version follows the code, not its formatting."""
import json
import shutil

from pipeline import version


def _copy_result_code(tmp_path):
    root = tmp_path / "pipeline"
    for part in version._RESULT_CODE:
        src = version._ROOT / part
        dst = root / part
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dst)
    return root


def test_comments_docstrings_and_wrapping_keep_the_hash(tmp_path):
    root = _copy_result_code(tmp_path)
    before = version.source_hash(root=root)
    assert before == version.source_hash()            # the copy hashes as the package
    f = root / "engine" / "dropout.py"
    text = f.read_text()
    assert text.startswith('"""')
    edited = ('"""A rewritten module docstring."""\n# a new comment\n\n'
              + text.split('"""', 2)[2].replace("\n", "\n\n", 3) + "\n# trailing comment\n")
    f.write_text(edited)
    (root / "train" / "report.py").write_text(
        (root / "train" / "report.py").read_text().replace(
            '"""`estimate X : answer Y', '"""Another docstring. `estimate X : answer Y'))
    assert f.read_text() != text
    assert version.source_hash(root=root) == before


def test_a_changed_expression_changes_the_hash(tmp_path):
    root = _copy_result_code(tmp_path)
    before = version.source_hash(root=root)
    f = root / "train" / "report.py"
    text = f.read_text()
    assert "100 * v" in text
    f.write_text(text.replace("100 * v", "100.0 * v", 1))
    assert version.source_hash(root=root) != before


def test_code_digest_drops_docstrings_but_keeps_other_strings():
    a = version.code_digest('def f():\n    """doc"""\n    return "x"\n')
    b = version.code_digest('def f():  # c\n    return "x"\n')
    c = version.code_digest('def f():\n    return "y"\n')
    assert a == b != c
    assert version.code_digest('def f():\n    """only a docstring"""\n') == \
        version.code_digest("def f():\n    pass\n")


def test_the_digest_cache_gives_the_hash_of_a_fresh_parse(tmp_path, monkeypatch):
    monkeypatch.setattr(version, "_DIGEST_CACHE", tmp_path / "digests.json")
    cold = version.source_hash()
    cache = json.loads((tmp_path / "digests.json").read_text())
    assert len(cache) > 20 and all(len(k) == len(v) == 64 for k, v in cache.items())
    assert version.source_hash() == cold                # from the cache
    (tmp_path / "digests.json").write_text("not json")
    assert version.source_hash() == cold                # a broken cache is rebuilt
