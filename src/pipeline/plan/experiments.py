"""What the workflow reads from a valid configuration (pipeline.plan.config_check):
the experiments selected, the tables they fill, each experiment's resolved training
settings (its rerun trigger) and description. Imports no numerical library."""
from __future__ import annotations

from pipeline.engine.config import ConfigError
from pipeline.engine.protocol import PROTOCOLS  # noqa: F401  (the workflow's wildcards)

DATASETS = ("flowers", "office31")
EQUIVALENCE_MARGIN = 2.0
OTHER_TABLE = "other"

def named_nets():
    """The engine's named networks (name -> layer list)."""
    from pipeline.engine.nets import NAMED_NETS

    return NAMED_NETS


def resolve_net(net):
    """A layer list: a named net is looked up in the engine's NAMED_NETS (a copy)."""
    if isinstance(net, str):
        nets = named_nets()
        if net not in nets:
            raise ConfigError(f"unknown named net {net!r} (known: {', '.join(sorted(nets))})")
        return _copy(nets[net])
    return net


def _copy(value):
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value




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
    return with_baseline(config, table,
                         [n for n in selected_experiments(config) if table_of(config, n) == table])


def with_baseline(config, table, names):
    """A sweep table's experiments: its base first, then its points."""
    sw = (config.get("sweeps") or {}).get(table)
    if not sw or not names:
        return names
    return [sw["base"], *(n for n in names if n != sw["base"])]


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
    from pipeline.train.settings import config_values

    exp = config["experiments"][name]
    quirks = dict(config["training"].get("quirks") or {})
    quirks.update(exp.get("quirks") or {})
    return {"experiment": name, "dataset": exp["dataset"], "net": resolve_net(exp["net"]),
            "quirks": {k: quirks[k] for k in sorted(quirks)}, **config_values(config, name)}


def setting(config, name, key):
    """One run setting of experiment `name` (run_settings leaves out those at their
    default)."""
    from pipeline.train.settings import BY_NAME

    return run_settings(config, name).get(key, BY_NAME[key].default)


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
