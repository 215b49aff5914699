"""Engine identity for the workflow: Snakemake cannot see imported code, so the training
rule puts this hash in its params and a change of engine reruns the study deliberately.

What counts is what training runs: the files of the `pipeline` modules that the training
entry points import, directly or through each other (imports inside functions too), found
by reading their import statements, so a module that training starts to import counts
from then on and one it does not import (a figure, a table) never reruns the study.

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
# The training entry points: the workflow's training job runs pipeline.train.run,
# `regstudy train` pipeline.train.command.
ENTRY_POINTS = ("pipeline.train.run", "pipeline.train.command")
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


def _module_file(name, root):
    """The file of module `name` ("pipeline.a.b") under `root` (the package folder), or
    None when it is not a module of the package."""
    parts = name.split(".")
    if parts[0] != "pipeline":
        return None
    base = root.joinpath(*parts[1:])
    for f in (base.with_suffix(".py"), base / "__init__.py"):
        if f.is_file():
            return f
    return None


def _imported(tree, name, is_package):
    """Every absolute module name an import statement of module `name` may load: for
    `from a import b`, both `a` and `a.b` (b may be a module or a name in a)."""
    pkg = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = pkg.split(".")[:len(pkg.split(".")) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)


def result_files(root=None):
    """The package's files that training imports (with every package's __init__ on the
    way), sorted."""
    root = _ROOT if root is None else Path(root)
    todo, seen = list(ENTRY_POINTS), set()
    files = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        f = _module_file(name, root)
        if f is None:
            continue
        files.add(f)
        parents = name.split(".")
        todo += [".".join(parents[:i]) for i in range(1, len(parents))]
        todo += _imported(ast.parse(f.read_bytes()), name, f.name == "__init__.py")
    return sorted(files)


def source_hash(length=12, root=None):
    root = _ROOT if root is None else Path(root)
    h = hashlib.sha256()
    files = result_files(root)
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
