"""Validation of the workflow configuration, before any job starts.

Every problem is reported with the key path it concerns, e.g.
``experiments.flowers_cnn2.net[2][1].keep_prob: 0 is outside (0, 1]``. The checks are:

* the config files themselves: a duplicate key (YAML would silently keep the last one);
* the keys: missing, unknown, of the wrong type or range (the same rules as
  ``workflow/schemas/config.schema.yaml``, which is applied afterwards as well);
* each network, layer by layer, with its feature-map shape propagated from the input
  image: unknown layer types and options, keep_prob outside (0, 1], negative noise std,
  unsupported kernel sizes, strides that are not positive or do not divide the map;
* references between keys: ``select`` and ``experiments.*.table`` must name things that
  exist, and a real data folder must exist.

This module imports no numerical library, so the Snakefile can use it cheaply.
"""
from __future__ import annotations

import json
import math
import os
from numbers import Number

import yaml

from pipeline.engine.config import ACTFUNCS, ALIASES, REQUIRED
from pipeline.engine.config import LAYER_OPTIONS as ENGINE_LAYER_OPTIONS
from pipeline.engine.protocol import PROTOCOLS

DATASETS = ("flowers", "office31")
# The layer vocabulary is the engine's (pipeline.engine.config): one source of truth.
LAYER_TYPES = tuple(ENGINE_LAYER_OPTIONS)
LAYER_OPTIONS = {kind: set(opts) | set(ALIASES.get(kind, {}))
                 for kind, opts in ENGINE_LAYER_OPTIONS.items()}
REQUIRED_OPTIONS = {kind: tuple(o for o, default in opts.items() if default is REQUIRED)
                    for kind, opts in ENGINE_LAYER_OPTIONS.items()}
# Even kernels pad asymmetrically in the reference (docs/quirks.md#layers); the workflow
# only accepts odd kernels, whose "same" padding is symmetric.
ALLOW_EVEN_KERNELS = False


TOP_KEYS = {
    "flowers_dir", "office31_dir", "image_size", "standin", "protocols", "seeds", "select",
    "training", "resources", "tables", "experiments", "resample", "jpeg_quality", "statistics",
    "sweeps",   # expanded into experiments before these checks (pipeline.study.sweeps)
}
TOP_REQUIRED = TOP_KEYS - {"select", "resample", "jpeg_quality", "statistics", "sweeps"}
STATISTICS_KEYS = {"equivalence_margin"}
EQUIVALENCE_MARGIN = 2.0
TRAINING_KEYS = {"epochs", "batch_size", "learning_rate", "report", "quirks", "dtype",
                 "eval_train_size", "train_size"}
DTYPES = ("float32", "float64")
TRAINING_REQUIRED = ("epochs", "batch_size", "learning_rate")
RESOURCE_STAGES = ("train", "prepare", "default")
RESOURCE_KEYS = ("threads", "mem_mb", "runtime")
EXPERIMENT_KEYS = {
    "dataset", "net", "table", "regularizer", "l1", "l2", "epochs", "batch_size",
    "learning_rate", "quirks", "seed_study", "dtype", "train_size",
}
SEED_STUDY_KEYS = {
    "run", "accuracy", "accuracy_domain", "accuracy_object", "train_seconds", "near_zero",
    "near_zero_pct", "param_count", "mean", "variance",
}
OTHER_TABLE = "other"


class ConfigError(ValueError):
    """A configuration problem; the message names the key path."""


# ---------------------------------------------------------------------------------------
# YAML loading that refuses duplicate keys


class _StrictLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise ConfigError(
                f"{loader._where(node)}{_fmt_key(key)}: duplicate key (first at line "
                f"{seen[key] + 1}, again at line {key_node.start_mark.line + 1}); YAML would "
                f"silently keep only the last one"
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


def _fmt_key(key):
    return str(key)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_strict(path):
    """Load a YAML file, refusing duplicate keys with the key path and line numbers."""
    path = str(path)
    with open(path) as fh:
        text = fh.read()
    loader = _StrictLoader(text)
    loader.name = path
    # Key paths: walk the node tree once to know each mapping node's path.
    paths = {}

    def walk(node, prefix):
        if isinstance(node, yaml.MappingNode):
            paths[id(node)] = prefix
            for k, v in node.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else "?"
                walk(v, f"{prefix}{key}.")
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, f"{prefix.rstrip('.')}[{i}].")

    def where(node):
        return f"{path}: {paths.get(id(node), '')}"

    loader._where = where
    try:
        root = loader.get_single_node()
        if root is None:
            return {}
        walk(root, "")
        return loader.construct_document(root)
    finally:
        loader.dispose()


def check_files(files):
    """Problems in the config files themselves (duplicate keys, unreadable YAML)."""
    problems = []
    for f in files or ():
        try:
            load_yaml_strict(f)
        except ConfigError as e:
            problems.append(str(e))
        except (OSError, yaml.YAMLError) as e:
            problems.append(f"{f}: cannot read the config file: {e}")
    return problems


# ---------------------------------------------------------------------------------------
# helpers


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return isinstance(v, Number) and not isinstance(v, bool) and math.isfinite(v)


def _path(*parts):
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif out:
            out += f".{p}"
        else:
            out = str(p)
    return out


class _Collector:
    def __init__(self):
        self.problems = []

    def add(self, where, msg):
        self.problems.append(f"{where}: {msg}")

    def mapping(self, value, where, required=(), allowed=None):
        """Check a mapping's type, required and unknown keys. False if not a mapping."""
        if not isinstance(value, dict):
            self.add(where or "config", f"must be a mapping, got {type(value).__name__} {value!r}")
            return False
        for k in required:
            if k not in value:
                self.add(_path(where, k) if where else k, "missing key")
        if allowed is not None:
            for k in value:
                if k not in allowed:
                    self.add(_path(where, k) if where else str(k),
                             f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return True

    def posint(self, value, where, minimum=1):
        if not _is_int(value) or value < minimum:
            self.add(where, f"must be an integer >= {minimum}, got {value!r}")
            return False
        return True

    def number(self, value, where, lo=None, hi=None, lo_open=False, hi_open=False):
        if not _is_num(value):
            self.add(where, f"must be a number, got {value!r}")
            return False
        bad = (lo is not None and (value <= lo if lo_open else value < lo)) or (
            hi is not None and (value >= hi if hi_open else value > hi))
        if bad:
            lo_s = "-inf" if lo is None else f"{lo:g}"
            hi_s = "inf" if hi is None else f"{hi:g}"
            self.add(where, f"{value!r} is outside {'(' if lo_open or lo is None else '['}"
                            f"{lo_s}, {hi_s}{')' if hi_open or hi is None else ']'}")
            return False
        return True


# ---------------------------------------------------------------------------------------
# networks


def named_nets():
    """The engine's named networks (name -> layer list)."""
    from pipeline.engine.nets import NAMED_NETS

    return dict(NAMED_NETS)


def resolve_net(net):
    """A layer list: a named net is looked up in the engine's NAMED_NETS."""
    if isinstance(net, str):
        nets = named_nets()
        if net not in nets:
            raise ConfigError(f"unknown named net {net!r} (known: {', '.join(sorted(nets)) or 'none'})")
        return json.loads(json.dumps(nets[net]))
    return net


def _pair(v):
    if _is_int(v):
        return (v, v)
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(_is_int(x) for x in v):
        return tuple(v)
    return None


def check_net(net, where, input_shape, col=None):
    """Problems of one hidden-layer list; shapes are propagated from `input_shape`."""
    col = col or _Collector()
    if isinstance(net, str):
        try:
            net = resolve_net(net)
        except ConfigError as e:
            col.add(where, str(e))
            return col.problems
    if not isinstance(net, list):
        col.add(where, f"must be a list of layers or a named net, got {net!r}")
        return col.problems
    shape = tuple(input_shape) if input_shape else None
    for i, layer in enumerate(net):
        lw = _path(where, i)
        if _is_int(layer):
            if layer < 1:
                col.add(lw, f"a full layer's width must be >= 1, got {layer}")
            shape = (layer,)
            continue
        if not isinstance(layer, list) or not layer or len(layer) > 2:
            col.add(lw, f"a layer is an int (full width) or [type, {{options}}], got {layer!r}")
            shape = None
            continue
        kind = layer[0]
        if kind not in LAYER_TYPES:
            col.add(_path(lw, 0), f"unknown layer type {kind!r} (known: {', '.join(LAYER_TYPES)})")
            shape = None
            continue
        opts = layer[1] if len(layer) == 2 else {}
        ow = _path(lw, 1)
        if not isinstance(opts, dict):
            col.add(ow, f"the options of a {kind} layer must be a mapping, got {opts!r}")
            shape = None
            continue
        for k in opts:
            if k not in LAYER_OPTIONS[kind]:
                col.add(_path(ow, k), f"unknown option of a {kind} layer "
                                      f"(allowed: {', '.join(sorted(LAYER_OPTIONS[kind]))})")
        for k in REQUIRED_OPTIONS.get(kind, ()):
            if k not in opts:
                col.add(_path(ow, k), f"missing key (a {kind} layer needs it)")
        if "actfunc" in opts and opts["actfunc"] not in ACTFUNCS:
            col.add(_path(ow, "actfunc"), f"unknown activation {opts['actfunc']!r} "
                                          f"(known: {', '.join(ACTFUNCS)})")
        spatial = shape is not None and len(shape) == 3
        if kind == "full":
            if "width" in opts and col.posint(opts["width"], _path(ow, "width")):
                shape = (opts["width"],)
            else:
                shape = None
        elif kind == "conv":
            ok = True
            if "ksize" in opts:
                k = _pair(opts["ksize"])
                if k is None or min(k) < 1:
                    col.add(_path(ow, "ksize"), f"must be a positive int or [kh, kw], got {opts['ksize']!r}")
                    ok = False
                elif not ALLOW_EVEN_KERNELS and (k[0] % 2 == 0 or k[1] % 2 == 0):
                    col.add(_path(ow, "ksize"), f"even kernel sizes are not supported, got {opts['ksize']!r}")
                    ok = False
            if "chn" in opts:
                ok = col.posint(opts["chn"], _path(ow, "chn")) and ok
            if shape is not None and not spatial:
                col.add(lw, f"a conv layer needs an (H, W, C) input, got shape {shape}")
                ok = False
            shape = (shape[0], shape[1], opts["chn"]) if ok and spatial and "chn" in opts else None
        elif kind in ("max", "avg"):
            s = _pair(opts.get("stride")) if "stride" in opts else None
            if "stride" in opts and (s is None or min(s) < 1):
                col.add(_path(ow, "stride"), f"must be a positive int or [sh, sw], got {opts['stride']!r}")
                shape = None
            elif s is not None and shape is not None:
                if not spatial:
                    col.add(lw, f"a {kind} layer needs an (H, W, C) input, got shape {shape}")
                    shape = None
                elif shape[0] % s[0] or shape[1] % s[1]:
                    col.add(_path(ow, "stride"),
                            f"stride {opts['stride']!r} does not divide the {shape[0]}x{shape[1]} "
                            f"feature map")
                    shape = None
                else:
                    shape = (shape[0] // s[0], shape[1] // s[1], shape[2])
            else:
                shape = None
        elif kind == "dropout":
            if "keep_prob" in opts:
                col.number(opts["keep_prob"], _path(ow, "keep_prob"), 0, 1, lo_open=True)
        elif kind == "noise":
            if "type" in opts and opts["type"] != "normal":
                col.add(_path(ow, "type"), f"only 'normal' noise exists, got {opts['type']!r}")
            if "mean" in opts:
                col.number(opts["mean"], _path(ow, "mean"))
            if "std" in opts:
                if _is_num(opts["std"]) and opts["std"] < 0:
                    col.add(_path(ow, "std"), f"must be >= 0 (a standard deviation), got {opts['std']!r}")
                else:
                    col.number(opts["std"], _path(ow, "std"), 0)
            if "ratio" in opts:
                col.number(opts["ratio"], _path(ow, "ratio"), 0, 1)
        elif kind == "batch_normal":
            if "epsilon" in opts:
                col.number(opts["epsilon"], _path(ow, "epsilon"), 0, lo_open=True)
            for k in ("exp_ratio", "momentum"):
                if k in opts:
                    col.number(opts[k], _path(ow, k), 0, 1, lo_open=True)
            if "rescale" in opts and not isinstance(opts["rescale"], bool):
                col.add(_path(ow, "rescale"), f"must be true or false, got {opts['rescale']!r}")
    return col.problems


def _engine_net_problems(net, where, input_shape):
    """Second opinion from the engine's own validator (shapes, option types)."""
    from pipeline.engine.config import ConfigError as EngineConfigError
    from pipeline.engine.config import validate_net

    try:
        validate_net(net, input_shape=input_shape, where=where)
    except EngineConfigError as e:
        msg = str(e)
        return [msg if msg.startswith(where) else f"{where}: {msg}"]
    except Exception as e:  # pragma: no cover - an engine bug should not hide the config
        return [f"{where}: the engine refused this net: {type(e).__name__}: {e}"]
    return []


# ---------------------------------------------------------------------------------------
# the whole config


def check_config(config, files=(), schema=None):
    """Raise ConfigError listing every problem (each names its key path)."""
    problems = config_problems(config, files=files, schema=schema)
    if problems:
        raise ConfigError(
            "invalid workflow configuration (nothing was run):\n  " + "\n  ".join(problems)
        )


def config_problems(config, files=(), schema=None):
    problems = check_files(files)
    if problems:
        return problems
    col = _Collector()
    if not col.mapping(config, "", TOP_REQUIRED, TOP_KEYS):
        return col.problems
    c = config

    for ds in DATASETS:
        key = f"{ds}_dir"
        if key in c:
            if not isinstance(c[key], str):
                col.add(key, f"must be a path (a string; empty = generated stand-in), got {c[key]!r}")
            elif c[key] and not os.path.isdir(c[key]) and _dataset_used(c, ds):
                col.add(key, f"no such directory: {c[key]!r}")
    if "image_size" in c:
        col.posint(c["image_size"], "image_size", 4)
    if "resample" in c:
        from pipeline.data.images import RESAMPLE
        if c["resample"] not in RESAMPLE:
            col.add("resample", f"expected one of {', '.join(RESAMPLE)}, got {c['resample']!r}")
    if "jpeg_quality" in c:
        from pipeline.data.images import check_jpeg_quality
        try:
            check_jpeg_quality(c["jpeg_quality"])
        except ValueError:
            col.add("jpeg_quality", f"expected an integer from 1 to 100 or null (no "
                                    f"re-encode), got {c['jpeg_quality']!r}")
    if "standin" in c and col.mapping(c["standin"], "standin", DATASETS, set(DATASETS)):
        for ds in DATASETS:
            s = c["standin"].get(ds)
            w = _path("standin", ds)
            if s is not None and col.mapping(s, w, ("per_class", "seed"), {"per_class", "seed"}):
                if "per_class" in s:
                    col.posint(s["per_class"], _path(w, "per_class"))
                if "seed" in s:
                    col.posint(s["seed"], _path(w, "seed"), 0)
    if "protocols" in c:
        p = c["protocols"]
        if not isinstance(p, list) or not p:
            col.add("protocols", f"must be a non-empty list of {', '.join(PROTOCOLS)}, got {p!r}")
        else:
            for i, x in enumerate(p):
                if x not in PROTOCOLS:
                    col.add(_path("protocols", i), f"unknown protocol {x!r} (known: {', '.join(PROTOCOLS)})")
            if len(set(map(str, p))) != len(p):
                col.add("protocols", f"duplicate protocol in {p!r}")
    if "seeds" in c:
        s = c["seeds"]
        if not isinstance(s, list) or not s:
            col.add("seeds", f"must be a non-empty list of integers >= 0, got {s!r}")
        else:
            for i, x in enumerate(s):
                col.posint(x, _path("seeds", i), 0)
            if len(set(map(repr, s))) != len(s):
                col.add("seeds", f"duplicate seed in {s!r}")
    if "training" in c and col.mapping(c["training"], "training", TRAINING_REQUIRED, TRAINING_KEYS):
        _check_run_settings(col, c["training"], "training")
        if "report" in c["training"]:
            col.posint(c["training"]["report"], "training.report", 0)
        if "eval_train_size" in c["training"]:
            col.posint(c["training"]["eval_train_size"], "training.eval_train_size")
    if "statistics" in c and col.mapping(c["statistics"], "statistics", (), STATISTICS_KEYS):
        if "equivalence_margin" in c["statistics"]:
            col.number(c["statistics"]["equivalence_margin"], "statistics.equivalence_margin",
                       0, lo_open=True)
    if "resources" in c and col.mapping(c["resources"], "resources", RESOURCE_STAGES, set(RESOURCE_STAGES)):
        for st in RESOURCE_STAGES:
            r = c["resources"].get(st)
            w = _path("resources", st)
            if r is not None and col.mapping(r, w, RESOURCE_KEYS, set(RESOURCE_KEYS)):
                for k in RESOURCE_KEYS:
                    if k in r:
                        col.posint(r[k], _path(w, k))
    tables = {}
    if "tables" in c and col.mapping(c["tables"], "tables"):
        tables = c["tables"]
        if not tables:
            col.add("tables", "must define at least one table")
        for name, title in tables.items():
            if not isinstance(title, str):
                col.add(_path("tables", name), f"must be a title (a string), got {title!r}")
            if not _valid_name(name):
                col.add(_path("tables", name), "a table name may hold letters, digits, _ and -")
    experiments = {}
    if "experiments" in c and col.mapping(c["experiments"], "experiments"):
        experiments = c["experiments"]
        if not experiments:
            col.add("experiments", "must define at least one experiment")
        size = c.get("image_size") if _is_int(c.get("image_size")) else None
        for name, exp in experiments.items():
            _check_experiment(col, str(name), exp, tables, size)
    if "select" in c:
        sel = c["select"]
        if sel is None:
            pass
        elif not isinstance(sel, list):
            col.add("select", f"must be a list of experiment names, got {sel!r}")
        else:
            for i, n in enumerate(sel):
                if n not in experiments:
                    col.add(_path("select", i), f"unknown experiment name {n!r} "
                                                f"(known: {', '.join(map(str, experiments))})")
    if col.problems:
        return col.problems
    if schema is not None:
        col.problems += schema_problems(config, schema)
    return col.problems


def _valid_name(name, dots=False):
    import re

    pat = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$" if dots else r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
    return isinstance(name, str) and re.match(pat, name) is not None


def _dataset_used(c, ds):
    exps = c.get("experiments")
    if not isinstance(exps, dict):
        return True
    sel = c.get("select") or list(exps)
    return any(isinstance(exps.get(n), dict) and exps[n].get("dataset") == ds for n in sel)


def _check_run_settings(col, d, where):
    if "epochs" in d:
        col.posint(d["epochs"], _path(where, "epochs"))
    if "batch_size" in d:
        col.posint(d["batch_size"], _path(where, "batch_size"))
    if "learning_rate" in d:
        col.number(d["learning_rate"], _path(where, "learning_rate"), 0, lo_open=True)
    if d.get("train_size") is not None:
        col.posint(d["train_size"], _path(where, "train_size"))
    if "dtype" in d and d["dtype"] not in DTYPES:
        col.add(_path(where, "dtype"), f"expected one of {', '.join(DTYPES)}, got {d['dtype']!r}")
    if "quirks" in d and d["quirks"] is not None and col.mapping(d["quirks"], _path(where, "quirks")):
        from pipeline.engine.protocol import QUIRKS

        for k, v in d["quirks"].items():
            if k not in QUIRKS:
                col.add(_path(where, "quirks", k),
                        f"unknown protocol option (known: {', '.join(QUIRKS)})")
            elif v not in QUIRKS[k][2]:
                col.add(_path(where, "quirks", k),
                        f"expected one of {', '.join(QUIRKS[k][2])}, got {v!r}")


def _check_experiment(col, name, exp, tables, size):
    w = _path("experiments", name)
    if not _valid_name(name, dots=True):
        col.add(w, "an experiment name may hold letters, digits, _, . and - (it names folders)")
    if not col.mapping(exp, w, ("dataset", "net"), EXPERIMENT_KEYS):
        return
    ds = exp.get("dataset")
    if "dataset" in exp and ds not in DATASETS:
        col.add(_path(w, "dataset"), f"unknown data set {ds!r} (known: {', '.join(DATASETS)})")
    if "table" in exp and exp["table"] not in tables and exp["table"] != OTHER_TABLE:
        col.add(_path(w, "table"), f"unknown table {exp['table']!r} (defined in `tables`: "
                                   f"{', '.join(tables)})")
    if "regularizer" in exp and not isinstance(exp["regularizer"], str):
        col.add(_path(w, "regularizer"), f"must be a label (a string), got {exp['regularizer']!r}")
    for k in ("l1", "l2"):
        if k in exp:
            col.number(exp[k], _path(w, k), 0)
    _check_run_settings(col, exp, w)
    if "seed_study" in exp and col.mapping(exp["seed_study"], _path(w, "seed_study"), (), SEED_STUDY_KEYS):
        for k, v in exp["seed_study"].items():
            if k != "run" and not _is_num(v):
                col.add(_path(w, "seed_study", k), f"must be a number, got {v!r}")
    if "net" in exp:
        shape = (size, size, 3) if size else None
        before = len(col.problems)
        check_net(exp["net"], _path(w, "net"), shape, col)
        if len(col.problems) == before:
            try:
                net = resolve_net(exp["net"])
            except ConfigError:
                net = None
            if net is not None:
                col.problems += _engine_net_problems(net, _path(w, "net"), shape)


def schema_problems(config, schema):
    """The JSON schema's verdict, each error with its key path."""
    import jsonschema

    if isinstance(schema, (str, os.PathLike)):
        with open(schema) as fh:
            schema = yaml.safe_load(fh)
    validator = jsonschema.Draft202012Validator(schema)
    out = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        err = _deepest(err)
        where = _path(*err.absolute_path) or "config"
        out.append(f"{where}: {err.message}")
    return list(dict.fromkeys(out))


def _deepest(err):
    """For oneOf/anyOf failures, the alternative's error that reaches deepest into the
    instance (it names the key that is actually wrong)."""
    while err.context:
        err = max(err.context, key=lambda e: (len(e.absolute_path), e.validator != "type"))
    return err


# ---------------------------------------------------------------------------------------
# what the workflow reads from a valid config


def selected_experiments(config):
    """Experiment names to run, in config order."""
    sel = config.get("select") or []
    return [n for n in config["experiments"] if not sel or n in sel]


def table_of(config, name):
    return config["experiments"][name].get("table", OTHER_TABLE)


def table_names(config):
    """Tables that hold at least one selected experiment, in config order."""
    used = {table_of(config, n) for n in selected_experiments(config)}
    names = [t for t in config["tables"] if t in used]
    if OTHER_TABLE in used and OTHER_TABLE not in names:
        names.append(OTHER_TABLE)
    return names


def equivalence_margin(config):
    """Points within which a paired difference counts as no effect (conclusions)."""
    return float((config.get("statistics") or {}).get("equivalence_margin", EQUIVALENCE_MARGIN))


def table_title(config, table):
    return config["tables"].get(table, "Other experiments")


def experiments_in_table(config, table):
    from .sweeps import with_baseline      # a sweep's table starts with its base

    return with_baseline(config, table,
                         [n for n in selected_experiments(config) if table_of(config, n) == table])


def datasets_used(config):
    return sorted({config["experiments"][n]["dataset"] for n in selected_experiments(config)})


def prepare_decoding(config):
    """The prepare jobs' rerun trigger: the bare image size while the decoding is the
    default (bicubic, no JPEG re-encode), so caches built before these options were
    added are not rebuilt; else {"size", "resample", "jpeg_quality"}."""
    resample = config.get("resample") or "bicubic"
    quality = config.get("jpeg_quality")
    if resample == "bicubic" and quality is None:
        return config["image_size"]
    return {"size": config["image_size"], "resample": resample, "jpeg_quality": quality}


def run_settings(config, name):
    """Everything that determines one experiment's training runs (its rerun trigger)."""
    exp = config["experiments"][name]
    tr = config["training"]
    quirks = dict(tr.get("quirks") or {})
    quirks.update(exp.get("quirks") or {})
    settings = {
        "experiment": name,
        "dataset": exp["dataset"],
        "net": resolve_net(exp["net"]),
        "l1": float(exp.get("l1", 0) or 0),
        "l2": float(exp.get("l2", 0) or 0),
        "epochs": int(exp.get("epochs", tr["epochs"])),
        "batch_size": int(exp.get("batch_size", tr["batch_size"])),
        "learning_rate": float(exp.get("learning_rate", tr["learning_rate"])),
        "report": int(tr.get("report", 2)),
        "eval_train_size": int(tr.get("eval_train_size", 500)),
        "quirks": {k: quirks[k] for k in sorted(quirks)},
    }
    dtype = exp.get("dtype", tr.get("dtype", "float32"))
    if dtype != "float32":      # only then: float32 runs keep their rerun trigger of before
        settings["dtype"] = dtype
    train_size = exp.get("train_size", tr.get("train_size"))
    if train_size is not None:  # likewise: runs on the whole training split keep theirs
        settings["train_size"] = int(train_size)
    return settings


def describe(config, name):
    """What the tables print about an experiment (label, seed-study numbers)."""
    exp = config["experiments"][name]
    return {
        "experiment": name,
        "dataset": exp["dataset"],
        "table": table_of(config, name),
        "regularizer": exp.get("regularizer") or _default_label(exp),
        "seed_study": dict(exp.get("seed_study") or {}),
    }


def _default_label(exp):
    parts = []
    if exp.get("l2"):
        parts.append(f"L2 {exp['l2']:g}")
    if exp.get("l1"):
        parts.append(f"L1 {exp['l1']:g}")
    net = exp.get("net")
    if isinstance(net, list):
        kinds = []
        for layer in net:
            if isinstance(layer, list) and layer and layer[0] in ("dropout", "noise", "batch_normal"):
                if layer[0] not in kinds:
                    kinds.append(layer[0])
        parts += kinds
    return ", ".join(parts) or "none"
