"""The engine version follows the code, not its formatting."""
import json
import shutil

from pipeline import version


def _copy_result_code(tmp_path):
    """A copy of the whole package (without caches), to edit."""
    root = tmp_path / "pipeline"
    shutil.copytree(version._ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
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


def test_what_training_imports_counts_and_nothing_else(tmp_path):
    root = _copy_result_code(tmp_path)
    files = {f.relative_to(root).as_posix() for f in version.result_files(root)}
    # found by following the imports: the training subset, the split, the engine
    assert {"data/subset.py", "data/split.py", "engine/dropout.py", "train/run.py"} <= files
    assert not any(f.startswith(("report/", "analysis/", "plan/")) for f in files)
    before = version.source_hash(root=root)
    figures = root / "report" / "figures.py"
    figures.write_text(figures.read_text() + "\nEXTRA = 1\n")
    assert version.source_hash(root=root) == before               # a figure: no rerun
    subset = root / "data" / "subset.py"
    subset.write_text(subset.read_text() + "\nEXTRA = 1\n")
    after = version.source_hash(root=root)
    assert after != before                                        # the training subset: rerun
    # a module that training starts to import counts from then on
    run = root / "train" / "run.py"
    run.write_text(run.read_text() + "\nfrom pipeline.report import figures  # noqa\n")
    assert "report/figures.py" in {f.relative_to(root).as_posix()
                                  for f in version.result_files(root)}
    assert version.source_hash(root=root) != after
