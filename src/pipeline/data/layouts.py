"""Finding the files of an image folder and their labels, with layout errors that say
which path is wrong and which layout was expected.

Order is deterministic: names are sorted by code point (not locale), samples are
label-major then by file name, as in the reference. Office-31's object index comes from
one sorted list shared by all domains; the reference took each domain's own listing and
assumed they were equal (quirk Q14), here differing object folders are an error.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import LayoutError
from .images import IMAGE_SUFFIXES

FLOWERS_LAYOUT = "ROOT/<class>/*.jpg (one folder per class; the folder name is the label)"
OFFICE31_LAYOUT = "ROOT/<domain>/images/<object>/*.jpg (e.g. ROOT/amazon/images/back_pack/frame_0001.jpg)"
LAYOUTS = {"flowers": FLOWERS_LAYOUT, "office31": OFFICE31_LAYOUT}

# The TensorFlow flower_photos archive names three classes in the plural; Kaggle's
# "Flowers Recognition" (and the study) in the singular. Both are read as the study's.
FLOWER_FOLDER_ALIASES = {"roses": "rose", "sunflowers": "sunflower", "tulips": "tulip"}

# Folders that archives and desktops leave behind; never labels.
_JUNK_DIRS = {"__MACOSX"}


@dataclass
class Sources:
    """What a folder holds: candidate files (relative posix paths) and their labels."""
    dataset: str
    root: Path
    heads: list
    names: list                     # names[k] = sorted label names of head k
    files: list                     # relative paths, sample order
    labels: np.ndarray              # int64 (N, K)
    ignored: list = field(default_factory=list)   # [(relative path, reason)] outside the layout

    @property
    def folders(self):
        """Relative leaf folder of each file (the unit that must not end up empty)."""
        return [f.rsplit("/", 1)[0] for f in self.files]


def _scan(folder):
    """Sorted (dirs, files) of one folder as DirEntry lists; hidden/junk dirs apart."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except NotADirectoryError:
        raise LayoutError(f"{folder}: is a file, not a folder") from None
    except PermissionError:
        raise                    # not the layout's fault: pipeline.runtime.faults says what to do
    except OSError as exc:
        raise LayoutError(f"{folder}: cannot list folder ({exc.strerror or exc})") from None
    dirs, files, junk = [], [], []
    for e in entries:
        if e.is_dir():
            (junk if e.name.startswith(".") or e.name in _JUNK_DIRS else dirs).append(e)
        elif e.is_file():
            files.append(e)
    return dirs, files, junk


def _check_root(root, layout):
    root = Path(root)
    if not root.exists():
        raise LayoutError(f"{root}: data folder not found; expected {layout}")
    if not root.is_dir():
        raise LayoutError(f"{root}: is a file, not a folder; expected {layout}")
    return root


def _rel(path, root):
    return Path(path).relative_to(root).as_posix()


def _class_files(cdir, root, layout, ignored):
    """Every regular file of one label folder (all are tried); sub-folders are ignored."""
    subdirs, files, junk = _scan(cdir)
    for d in subdirs + junk:
        ignored.append((_rel(d.path, root) + "/", "folder inside a label folder (not searched)"))
    if not files:
        hint = ""
        if subdirs:
            inner = ", ".join(d.name for d in subdirs[:5])
            hint = f" It holds folders ({inner}): is ROOT one level too high?"
        raise LayoutError(f"{cdir}: empty label folder (no files); expected {layout}.{hint}")
    return [_rel(f.path, root) for f in files]


def _loose_files(files, root, where, ignored):
    for f in files:
        ignored.append((_rel(f.path, root), f"file directly in {where} (not in a label folder)"))


def discover_flowers(root):
    """ROOT/<class>/* -> Sources with one head, "class" (plural folder names of
    flower_photos map to the singular classes: FLOWER_FOLDER_ALIASES)."""
    root = _check_root(root, FLOWERS_LAYOUT)
    dirs, files, junk = _scan(root)
    images = [f.name for f in files if Path(f.name).suffix.lower() in IMAGE_SUFFIXES]
    if not dirs:
        what = f"images directly in it ({len(images)}) but no" if images else "no"
        raise LayoutError(f"{root}: {what} class folders; expected {FLOWERS_LAYOUT}")
    if len(dirs) < 2:
        only = dirs[0]
        sub, _, _ = _scan(only.path)
        hint = f" Is ROOT one level too high? Try {only.path}" if sub else ""
        raise LayoutError(f"{root}: only one class folder ({only.name}); expected at least "
                          f"two: {FLOWERS_LAYOUT}.{hint}")
    ignored = []
    _loose_files(files, root, "ROOT", ignored)
    for d in junk:
        ignored.append((d.name + "/", "hidden or archive folder (not a class)"))
    label = {d.name: FLOWER_FOLDER_ALIASES.get(d.name, d.name) for d in dirs}
    dirs = sorted(dirs, key=lambda d: label[d.name])
    names = [label[d.name] for d in dirs]
    for a, b in zip(dirs, dirs[1:]):
        if label[a.name] == label[b.name]:
            raise LayoutError(f"{root}: folders {a.name} and {b.name} are the same class "
                              f"({label[a.name]}); keep one")
    rel, lab = [], []
    for i, d in enumerate(dirs):
        fs = _class_files(d.path, root, FLOWERS_LAYOUT, ignored)
        rel += fs
        lab += [i] * len(fs)
    labels = np.asarray(lab, dtype=np.int64).reshape(-1, 1)
    return Sources("flowers", root, ["class"], [names], rel, labels, ignored)


def discover_office31(root):
    """ROOT/<domain>/images/<object>/* -> Sources with heads ("domain", "object")."""
    root = _check_root(root, OFFICE31_LAYOUT)
    dirs, files, junk = _scan(root)
    if not dirs:
        raise LayoutError(f"{root}: no domain folders; expected {OFFICE31_LAYOUT}")
    if [d.name for d in dirs] == ["images"]:
        raise LayoutError(f"{root}: holds a single 'images' folder, so it looks like one "
                          f"domain folder; expected {OFFICE31_LAYOUT}. Pass its parent as ROOT")
    ignored = []
    _loose_files(files, root, "ROOT", ignored)
    for d in junk:
        ignored.append((d.name + "/", "hidden or archive folder (not a domain)"))
    per_domain = {}
    for d in dirs:
        images = Path(d.path) / "images"
        if not images.is_dir():
            sub, _, _ = _scan(d.path)
            hint = ""
            if any((Path(s.path) / "images").is_dir() for s in sub):
                hint = f" Its sub-folders have one: is ROOT one level too high? Try {d.path}"
            raise LayoutError(f"{d.path}: no 'images' folder; expected {OFFICE31_LAYOUT}.{hint}")
        others_d, others_f, others_j = _scan(d.path)
        for o in others_d + others_j:
            if o.name != "images":
                ignored.append((_rel(o.path, root) + "/", "folder beside images/ (not searched)"))
        _loose_files(others_f, root, f"{d.name}/", ignored)
        objs, loose, ojunk = _scan(images)
        if not objs:
            raise LayoutError(f"{images}: no object folders; expected {OFFICE31_LAYOUT}")
        _loose_files(loose, root, f"{d.name}/images/", ignored)
        for j in ojunk:
            ignored.append((_rel(j.path, root) + "/", "hidden or archive folder (not an object)"))
        per_domain[d.name] = objs
    sets = {dom: {o.name for o in objs} for dom, objs in per_domain.items()}
    objects = sorted(set().union(*sets.values()))
    for dom, s in sets.items():
        if s != set(objects):
            missing = sorted(set(objects) - s)
            raise LayoutError(
                f"{root / dom / 'images'}: object folders differ between domains; missing here: "
                f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}; "
                f"every domain must hold the same object folders ({OFFICE31_LAYOUT})")
    domains = sorted(per_domain)
    rel, lab = [], []
    for i, dom in enumerate(domains):
        for j, o in enumerate(per_domain[dom]):
            fs = _class_files(o.path, root, OFFICE31_LAYOUT, ignored)
            rel += fs
            lab += [(i, j)] * len(fs)
    labels = np.asarray(lab, dtype=np.int64).reshape(-1, 2)
    return Sources("office31", root, ["domain", "object"], [domains, objects], rel, labels, ignored)


DISCOVER = {"flowers": discover_flowers, "office31": discover_office31}


def discover(dataset, root):
    """Dispatch on the data set name (`flowers` or `office31`)."""
    try:
        fn = DISCOVER[dataset]
    except KeyError:
        raise ValueError(f"unknown data set {dataset!r}: expected one of {', '.join(DISCOVER)}") from None
    return fn(root)
