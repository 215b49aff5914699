"""Regularization paths: the config's `sweeps:` expanded into ordinary experiments.

A sweep varies one setting of a base experiment over a list of values::

    sweeps:
      cnn_dropout:
        base: flowers_cnn1          # the unregularized baseline (an experiment, run as is)
        set: {net: cnn2}            # optional: experiment keys of every point (not the base)
        vary: dropout.keep_prob     # the setting varied (below)
        values: [0.3, 0.5, 0.7, 0.9]
        title: "..."                # optional: the sweep table's title

Each value becomes the experiment ``<sweep>-<value>`` (e.g. ``cnn_dropout-0.5``): the base
with `set` applied, then the setting, in the table ``<sweep>`` whose baseline is the base.
`vary` is a run setting an experiment may set (``l1``, ``l2``, ``train_size``, ``epochs``,
``learning_rate``, ``batch_size``, ...: pipeline.train.settings), ``net`` (values: named nets or layer lists, e.g. batch norm on/off), or a
layer option: ``net[I].OPTION`` (layer I of the net list, from 0), ``TYPE.OPTION`` (every
layer of that type) or ``TYPE[K].OPTION`` (the K-th layer of that type, from 0).

Expansion happens before validation (pipeline.plan.config_check, which sees the
expanded config): every point is checked like any other experiment and a problem of a
point is reported under its sweep key (``sweeps.S.values[I]: ...``, then the check's own
wording). The schema checks the sweeps' own keys (``sweeps.S.values: ...``); this module
only what it cannot (bases, settings and layers named, names taken). `select` may name a
sweep: its points and its base. This module imports no numerical library (the Snakefile
uses it).

Over 300 lines on purpose: expansion, the checks only it can make and the specs the rules
read all walk the same sweep entries and layer addresses; split, each part would re-parse
them.
"""
from __future__ import annotations

import copy
import re

from pipeline.engine.config import ALIASES, ConfigError
from pipeline.engine.config import LAYER_OPTIONS as ENGINE_LAYER_OPTIONS
from pipeline.train.settings import SETTINGS as RUN_SETTINGS

from . import config_check as cc
from . import experiments as ex

# what `vary` may name: every run setting an experiment may set (pipeline.train.settings)
SETTINGS = tuple(s.name for s in RUN_SETTINGS if "experiment" in s.levels)
SELECTION_TABLE = "sweeps"      # results/tables/sweeps.*: the values chosen on validation
NOT_SETTABLE = {"dataset", "table", "regularizer", "seed_study"}   # a point's identity
# a layer type's options, aliases included (the engine's vocabulary)
LAYER_OPTIONS = {kind: set(opts) | set(ALIASES.get(kind, {}))
                 for kind, opts in ENGINE_LAYER_OPTIONS.items()}
_LAYER = re.compile(r"^(?:net\[(\d+)\]|([a-z_]+)(?:\[(\d+)\])?)\.([a-z_]+)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")     # the schema's sweeps.propertyNames


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def set_keys(schema):
    """The experiment keys a sweep's `set` may give: the schema's, but a point's identity."""
    exp = cc.load_schema(schema)["properties"]["experiments"]["additionalProperties"]
    return set(exp["properties"]) - NOT_SETTABLE


def parse_vary(vary):
    """('setting', key), ('net',), or ('layer', index, type, occurrence, option); None if
    the text is none of these."""
    if vary in SETTINGS:
        return ("setting", vary)
    if vary == "net":
        return ("net",)
    m = _LAYER.match(vary) if isinstance(vary, str) else None
    if not m:
        return None
    index, kind, occ, opt = m.groups()
    return ("layer", None if index is None else int(index), kind,
            None if occ is None else int(occ), opt)


def layer_targets(net, address):
    """Indices into `net` of the layers an address ('layer', ...) names."""
    _, index, kind, occ, _ = address
    if index is not None:
        return [index] if index < len(net) else []
    hits = [i for i, layer in enumerate(net) if _kind(layer) == kind]
    if occ is None:
        return hits
    return hits[occ:occ + 1]


def _kind(layer):
    if _is_int(layer):
        return "full"
    return layer[0] if isinstance(layer, list) and layer else None


def value_name(value, i):
    """The value's part of a point's name: 0.5, 1e-05, cnn4; v<i> for a layer list."""
    if isinstance(value, bool):
        return str(value).lower()
    if _is_int(value):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    return f"v{i}"


def point_name(sweep, value, i):
    return f"{sweep}-{value_name(value, i)}"


def _set_layer_option(net, address, value):
    """Set the option in the addressed layers of a copy of `net`; returns (net, changed
    key paths inside the experiment) or (None, problem)."""
    net = copy.deepcopy(net)
    opt = address[4]
    targets = layer_targets(net, address)
    if not targets:
        return None, "names no layer of the net"
    changed = []
    for i in targets:
        layer = net[i]
        kind = _kind(layer)
        if kind not in LAYER_OPTIONS or opt not in LAYER_OPTIONS[kind]:
            return None, (f"layer {i} ({kind}) has no option {opt!r}"
                          + (f" (options: {', '.join(sorted(LAYER_OPTIONS[kind]))})"
                             if kind in LAYER_OPTIONS else ""))
        if _is_int(layer):            # a full layer given by its width
            if opt != "width":
                return None, f"layer {i} is a full layer given by its width only"
            net[i] = value
            changed.append(f"net[{i}]")
            continue
        opts = dict(layer[1]) if len(layer) == 2 and isinstance(layer[1], dict) else {}
        opts[opt] = value
        net[i] = [layer[0], opts]
        # the engine names an option net[I].OPTION (an alias by its option's name)
        changed += [f"net[{i}].{opt}", f"net[{i}].{ALIASES.get(kind, {}).get(opt, opt)}"]
    return net, changed


def _flat(d, prefix=""):
    """'quirks.decay=after_adam, net=cnn2' of a mapping."""
    out = []
    for k, v in d.items():
        out += _flat(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}={v}"]
    return out


def default_title(name, sw):
    """'Sweep cnn_dropout: dropout.keep_prob, base flowers_cnn1 (points: net=cnn2)'."""
    extra = ", ".join(_flat(sw.get("set") or {}))
    return f"Sweep {name}: {sw['vary']}, base {sw['base']}" + (f" (points: {extra})" if extra else "")


def _well_formed(name, sw):
    """What the schema asks of a sweep (a name, a mapping of known keys with base, vary and
    a non-empty list of values): a sweep without it is not expanded, the schema (which
    sees it in the expanded config) says what is wrong."""
    return (isinstance(name, str) and _NAME.match(name) is not None and isinstance(sw, dict)
            and {"base", "vary", "values"} <= set(sw)
            and set(sw) <= {"base", "vary", "values", "set", "title"}
            and isinstance(sw["base"], str) and isinstance(sw["vary"], str)
            and isinstance(sw["values"], list) and bool(sw["values"])
            and isinstance(sw.get("set", {}), dict) and isinstance(sw.get("title", ""), str))


def _sweep_problems(name, sw, experiments, tables):
    """Problems of one well-formed sweep's keys that the schema cannot see (not of its
    points' values)."""
    w = f"sweeps.{name}"
    if name == SELECTION_TABLE:
        return [f"{w}: {name!r} names the sweeps' selection table; choose another name"]
    out = []
    if name in tables:
        out.append(f"{w}: a table of this name exists already (a sweep makes its own table)")
    if sw["base"] not in experiments:
        out.append(f"{w}.base: unknown experiment {sw['base']!r} "
                   f"(known: {', '.join(map(str, experiments))})")
    if parse_vary(sw["vary"]) is None:
        out.append(f"{w}.vary: unknown setting {sw['vary']!r} (settings: "
                   f"{', '.join(SETTINGS)}, net, or a layer option: net[I].OPTION, "
                   f"TYPE.OPTION, TYPE[K].OPTION)")
    return out


def set_problems(config, schema):
    """`set` keys that are no experiment keys or would change a point's identity."""
    sweeps = config.get("sweeps") if isinstance(config, dict) else None
    if not isinstance(sweeps, dict):
        return []
    allowed = set_keys(schema)
    return [f"sweeps.{name}.set.{k}: not settable (allowed: {', '.join(sorted(allowed))})"
            for name, sw in sweeps.items() if _well_formed(name, sw)
            for k in sw.get("set") or {} if k not in allowed]


def expand(config, settable=None):
    """(expanded config, origins, problems). origins: {point: (sweep, value index, changed
    key paths)}; problems: those of the sweeps' own keys and of values that cannot be
    applied. With `settable`, only those keys of a sweep's `set` are applied (the others
    are reported by set_problems). The input is not modified; a config without sweeps
    comes back unchanged."""
    sweeps = config.get("sweeps") if isinstance(config, dict) else None
    if not sweeps:
        return config, {}, []
    out = copy.deepcopy(config)
    if not isinstance(sweeps, dict):
        return out, {}, []                # the schema reports it
    experiments = out.get("experiments") if isinstance(out.get("experiments"), dict) else {}
    tables = out.get("tables") if isinstance(out.get("tables"), dict) else {}
    origins, problems = {}, []
    for name, sw in sweeps.items():
        if not _well_formed(name, sw):
            continue                      # the schema reports it
        found = _sweep_problems(name, sw, config.get("experiments") or {}, tables)
        if found:
            problems += found
            continue
        base = config["experiments"][sw["base"]]
        if not isinstance(base, dict):
            continue                      # the experiment's own check reports it
        address = parse_vary(sw["vary"])
        tables[name] = sw.get("title") or default_title(name, sw)
        for i, value in enumerate(sw["values"]):
            w = f"sweeps.{name}.values[{i}]"
            point = point_name(name, value, i)
            if point in experiments:
                problems.append(f"{w}: the point's name {point!r} is taken (an experiment or "
                                f"an earlier value)")
                continue
            exp = {k: copy.deepcopy(v) for k, v in base.items() if k != "seed_study"}
            exp.update(copy.deepcopy({k: v for k, v in (sw.get("set") or {}).items()
                                      if settable is None or k in settable}))
            if address[0] == "layer":
                try:
                    net = ex.resolve_net(exp.get("net"))
                except ConfigError as e:
                    problems.append(f"sweeps.{name}: {e}")
                    break
                if not isinstance(net, list):
                    break                 # the base's own check reports it
                net, changed = _set_layer_option(net, address, value)
                if net is None:
                    problems.append(f"sweeps.{name}.vary: {sw['vary']} {changed}")
                    break
                exp["net"] = net
            else:
                key = address[1] if address[0] == "setting" else "net"
                exp[key] = copy.deepcopy(value)
                changed = [key]
            exp["table"] = name
            exp["regularizer"] = f"{sw['vary']} = {value_name(value, i)}"
            experiments[point] = exp
            origins[point] = (name, i, changed)
    if isinstance(out.get("experiments"), dict) and isinstance(out.get("tables"), dict):
        out["experiments"], out["tables"] = experiments, tables
    sel = out.get("select")
    if isinstance(sel, list) and any(s in sweeps for s in sel):
        wanted = []
        for s in sel:
            names = [sweeps[s]["base"], *(p for p, o in origins.items() if o[0] == s)] \
                if s in sweeps and isinstance(sweeps[s], dict) and "base" in sweeps[s] else [s]
            wanted += [n for n in names if n not in wanted]
        out["select"] = wanted
    return out, origins, problems


def translate(problem, origins, config):
    """A problem of an expanded point, reported under its sweep key."""
    for point in sorted(origins, key=len, reverse=True):
        prefix = f"experiments.{point}"
        if not problem.startswith(prefix) or problem[len(prefix)] not in ".:[":
            continue
        rest = problem[len(prefix):].lstrip(".")
        sweep, i, changed = origins[point]
        key = rest.split(":", 1)[0]
        if any(key == c or key.startswith((c + ".", c + "[")) for c in changed):
            return f"sweeps.{sweep}.values[{i}]: {rest}"
        base = config["sweeps"][sweep]["base"]
        return f"sweeps.{sweep} (every point: base {base} with `set`): {rest}"
    return problem


def config_problems(config, schema, files=()):
    """The problems of the sweeps themselves, then config_check's problems of the
    expanded config (its one path: a point is checked like any other experiment), those
    of sweep points under their sweep keys. Like config_check, fills the schema's
    defaults into `config`."""
    schema = cc.load_schema(schema)          # read once: `set` keys and the check
    expanded, origins, problems = expand(config, settable=set_keys(schema))
    problems = problems + set_problems(config, schema)
    found = cc.config_problems(expanded, schema, files=files)
    if expanded is not config:                # the defaults filled into the expanded copy
        for key, value in expanded.items():
            if key not in ("experiments", "tables", "select"):
                config[key] = value
    return list(dict.fromkeys(problems + [translate(p, origins, config) for p in found]))


def check_config(config, schema, files=()):
    """Raise ConfigError listing every problem of the config with its sweeps expanded
    (config_problems); expand_in_place then gives the workflow the expanded config."""
    problems = config_problems(config, schema, files=files)
    if problems:
        raise ConfigError(
            "invalid workflow configuration (nothing was run):\n  " + "\n  ".join(problems))


def expand_in_place(config):
    """Replace experiments, tables and select of a valid config by their expansion."""
    expanded, _, _ = expand(config)
    for key in ("experiments", "tables", "select"):
        if key in expanded:
            config[key] = expanded[key]
    return config


def family(vary):
    """The regularizer family of a sweep's `vary`, the key of its overview figure
    (results/figures/sweeps_<dataset>_<family>.png): the setting (`l1`, `l2`,
    `train_size`, ...), the layer type of a layer option (`dropout.keep_prob` and
    `dropout[1].keep_prob`: `dropout`), or `net` (whole nets, or a layer by index)."""
    parsed = parse_vary(vary)
    if parsed is None or parsed[0] == "net" or (parsed[0] == "layer" and parsed[2] is None):
        return "net"
    return parsed[1] if parsed[0] == "setting" else parsed[2]


def overview_groups(specs):
    """{(dataset, family): [sweep names in config order]}, in the order first seen."""
    groups = {}
    for name, spec in specs.items():
        groups.setdefault((spec["dataset"], family(spec["vary"])), []).append(name)
    return groups


def sweep_specs(config):
    """What the sweep jobs need of every sweep with a selected point, in config order:
    {name: {title, base, vary, dataset, points: [{experiment, value, label}]}}."""
    selected = set(ex.selected_experiments(config))
    out = {}
    for name, sw in (config.get("sweeps") or {}).items():
        points = [{"experiment": point_name(name, v, i), "value": v,
                   "label": value_name(v, i)} for i, v in enumerate(sw["values"])]
        points = [p for p in points if p["experiment"] in selected]
        if points:
            out[name] = {"title": ex.table_title(config, name), "base": sw["base"],
                         "vary": sw["vary"],
                         "dataset": config["experiments"][sw["base"]]["dataset"],
                         "points": points}
    return out
