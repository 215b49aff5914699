"""Engine identity for the workflow: Snakemake cannot see imported code, so the training
rule puts this hash in its params and a change of engine reruns the study deliberately.

The hash is of the code, not of its formatting: each file is parsed, docstrings are
dropped and the syntax tree is dumped without positions, so comments, docstrings, blank
lines and line wrapping do not rerun the study; any change of an expression does. The
digest of each file's content is kept in __pycache__ (every `snakemake` computes the
version), so only changed files are parsed again."""
from __future__ import annotations

import ast
import hashlib
import json
import os
from pathlib import Path

from pipeline import __version__

_ROOT = Path(__file__).parent
# Everything that can change a training result.
_RESULT_CODE = ("engine", "train", "data/split.py")
# content sha256 -> sha256 of code_digest; best effort (a read-only install just parses)
_DIGEST_CACHE = _ROOT / "__pycache__" / "code_digests.json"


def _strip_docstrings(tree):
    """Remove the docstring of the module and of every class and function (in place)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                # a body must not be empty: a docstring-only function keeps a `pass`
                node.body = body[1:] or [ast.Pass()]
    return tree


def code_digest(source):
    """The canonical form of Python source: its AST without docstrings or positions."""
    tree = _strip_docstrings(ast.parse(source))
    return ast.dump(tree, annotate_fields=True, include_attributes=False)


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def _read_cache():
    try:
        cache = json.loads(_DIGEST_CACHE.read_text())
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def _write_cache(cache):
    tmp = _DIGEST_CACHE.with_name(f".{_DIGEST_CACHE.name}.{os.getpid()}.tmp")
    try:
        _DIGEST_CACHE.parent.mkdir(exist_ok=True)
        tmp.write_text(json.dumps(cache))
        os.replace(tmp, _DIGEST_CACHE)
    except OSError:
        tmp.unlink(missing_ok=True)


def source_hash(length=12, root=None):
    root = _ROOT if root is None else Path(root)
    h = hashlib.sha256()
    files = []
    for part in _RESULT_CODE:
        p = root / part
        files += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    cache, used = _read_cache(), {}
    for f in files:
        data = f.read_bytes()
        key = _sha(data)
        used[key] = cache.get(key) or _sha(code_digest(data).encode())
        h.update(f.relative_to(root).as_posix().encode() + b"\0")
        h.update(used[key].encode() + b"\0")
    if any(k not in cache for k in used):
        _write_cache({**cache, **used} if len(cache) < 1000 else used)
    return h.hexdigest()[:length]


def engine_version():
    return f"{__version__}+{source_hash()}"
