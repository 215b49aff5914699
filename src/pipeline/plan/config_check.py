"""Validation of the workflow configuration, before any job starts (what the workflow
then reads from it: pipeline.plan.experiments).

One path, each rule checked once, every problem named by its key path:

1. ``check_files``: duplicate keys in the config files (YAML would keep the last one);
2. ``schema_problems``: the JSON schema ``workflow/schemas/config.schema.yaml`` (keys,
   types, ranges; it fills the defaults it declares), each error at its deepest key path;
3. ``net_problems``: each experiment's network through the engine's own validator
   (``pipeline.engine.config.validate_net``: layer vocabulary, option ranges, shapes
   from the input image), prefixed with ``experiments.<name>.net``;
4. ``reference_problems``: what neither can know: named nets, ``select`` and
   ``experiments.*.table`` naming things that exist, protocol options (the engine's
   ``resolve``), real data folders that exist.

``check_config`` runs them in that order; a config built from others (e.g. sweeps
expanded into ordinary experiments) is expanded before it. No numerical library is
imported, so the Snakefile can use this cheaply.
"""
from __future__ import annotations

import os
import re

import yaml

from pipeline.engine.config import ConfigError, validate_net
from pipeline.engine.protocol import PROTOCOLS, ProtocolError, resolve
from pipeline.plan.experiments import DATASETS, OTHER_TABLE, resolve_net, selected_experiments

CHANNELS = 3            # images are RGB: a net's input is (image_size, image_size, 3)

# ---------------------------------------------------------------------------------------
# 1. the config files: duplicate keys


_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)     # libyaml's parser when built with it


class _StrictLoader(_SAFE):
    pass


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise ConfigError(
                f"{loader._where(node)}{key}: duplicate key (first at line "
                f"{seen[key] + 1}, again at line {key_node.start_mark.line + 1}); YAML would "
                f"silently keep only the last one"
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_strict(path):
    """Load a YAML file, refusing duplicate keys with the key path and line numbers."""
    path = str(path)
    with open(path) as fh:
        text = fh.read()
    loader = _StrictLoader(text)
    loader.name = path
    paths = {}      # mapping node -> its key path, for the messages

    def walk(node, prefix):
        if isinstance(node, yaml.MappingNode):
            paths[id(node)] = prefix
            for k, v in node.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else "?"
                walk(v, f"{prefix}{key}.")
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, f"{prefix.rstrip('.')}[{i}].")

    loader._where = lambda node: f"{path}: {paths.get(id(node), '')}"
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
# 2. the JSON schema


def _path(*parts):
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out = f"{out}.{p}" if out else str(p)
    return out


def load_schema(schema):
    """The config's JSON schema (a file or a dict) with the run settings' keys added
    under `training:` and each experiment, from their one declaration
    (pipeline.train.settings)."""
    import copy

    from pipeline.train.settings import config_schema

    if isinstance(schema, (str, os.PathLike)):
        with open(schema) as fh:
            schema = yaml.load(fh, Loader=_SAFE)
    schema = copy.deepcopy(schema)
    props = schema.get("properties", {})
    for level, where in (("training", props.get("training")),
                         ("experiment", (props.get("experiments") or {}).get("additionalProperties"))):
        if isinstance(where, dict) and "properties" in where:
            for key, sub_schema in config_schema(level).items():
                where["properties"].setdefault(key, sub_schema)
    return schema


_INT = re.compile(r"[+-]?\d+")


def schema_problems(config, schema, fill_defaults=False):
    """The JSON schema's verdict, each error at the key path it concerns. With
    `fill_defaults`, missing keys that the schema gives a default get it (as
    snakemake.utils.validate does), and whole-number strings in integer lists become
    integers (the command line's `--config` gives list items as strings)."""
    import jsonschema
    from jsonschema import validators

    base = jsonschema.Draft202012Validator
    if fill_defaults:
        check_properties = base.VALIDATORS["properties"]

        def properties(validator, props, instance, sch):
            if isinstance(instance, dict):
                for name, sub in props.items():
                    if "default" in sub:
                        instance.setdefault(name, sub["default"])
            yield from check_properties(validator, props, instance, sch)

        check_items = base.VALIDATORS["items"]

        def items(validator, item_schema, instance, sch):
            # `snakemake --config seeds=[1,2]` gives the list's items as strings.
            if isinstance(instance, list) and item_schema.get("type") == "integer":
                instance[:] = [int(v) if isinstance(v, str) and _INT.fullmatch(v) else v
                               for v in instance]
            yield from check_items(validator, item_schema, instance, sch)

        base = validators.extend(base, {"properties": properties, "items": items})
    out = []
    errors = base(load_schema(schema)).iter_errors(config)
    for err in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        out += _render(_deepest(err))
    return list(dict.fromkeys(out))


def _deepest(err):
    """For oneOf/anyOf failures, the alternative's error that reaches deepest into the
    instance (it names the key that is actually wrong)."""
    while err.context:
        err = max(err.context, key=lambda e: (len(e.absolute_path), e.validator != "type"))
    return err


def _render(err):
    """One schema error -> messages "key.path: what is wrong"; a missing or unknown key
    is named in the path itself."""
    where = list(err.absolute_path)
    if err.validator == "required":
        return [f"{_path(*where, name)}: missing key"
                for name in err.validator_value if name not in err.instance]
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = ", ".join(sorted(err.schema.get("properties", {})))
        return [f"{_path(*where, name)}: unknown key (allowed: {allowed})"
                for name in err.instance if name not in err.schema.get("properties", {})]
    return [f"{_path(*where) or 'config'}: {err.message}"]


# ---------------------------------------------------------------------------------------
# 3. networks: the engine's validator; 4. references between keys


def net_problems(config):
    """Each experiment's network, checked by the engine with its shapes (schema-valid
    config)."""
    problems = []
    shape = (config["image_size"], config["image_size"], CHANNELS)
    for name, exp in config["experiments"].items():
        where = _path("experiments", name, "net")
        try:
            validate_net(resolve_net(exp["net"]), input_shape=shape, where=where)
        except ConfigError as e:
            msg = str(e)
            problems.append(msg if msg.startswith(where) else f"{where}: {msg}")
    return problems


def reference_problems(config):
    """What neither the schema nor the engine can check (schema-valid config)."""
    problems = []
    exps, tables = config["experiments"], config["tables"]
    for name, exp in exps.items():
        w = _path("experiments", name)
        if exp.get("table", OTHER_TABLE) not in (*tables, OTHER_TABLE):
            problems.append(f"{w}.table: unknown table {exp['table']!r} (defined in `tables`: "
                            f"{', '.join(tables)})")
        if exp.get("quirks"):
            problems += _quirk_problems(exp["quirks"], f"{w}.quirks")
        problems += _replay_problems(config, exp, w)
    problems += _quirk_problems(config["training"].get("quirks"), "training.quirks")
    for i, n in enumerate(config.get("select") or ()):
        if n not in exps:
            problems.append(f"select[{i}]: unknown experiment name {n!r} "
                            f"(known: {', '.join(map(str, exps))})")
    used = {exps[n]["dataset"] for n in selected_experiments(config) if n in exps}
    for ds in DATASETS:
        folder = config[f"{ds}_dir"]
        if folder and ds in used and not os.path.isdir(folder):
            problems.append(f"{ds}_dir: no such directory: {folder!r}")
    return problems


def _replay_problems(config, exp, where):
    """rng: replay needs the chapter's model it replays, on that model's data set."""
    from pipeline.train.chapter import MODEL_NAMES, model_named

    quirks = {**(config["training"].get("quirks") or {}), **(exp.get("quirks") or {})}
    name = exp.get("replay_model")
    if quirks.get("rng") != "replay":
        return [f"{where}.replay_model: set, but the experiment's quirk rng is not "
                f"replay"] if name else []
    if not name:
        return [f"{where}.replay_model: required with quirk rng: replay (one of "
                f"{', '.join(MODEL_NAMES)})"]
    try:
        model = model_named(name, where=f"{where}.replay_model")
    except ConfigError as e:
        return [str(e)]
    if model.dataset != exp["dataset"]:
        return [f"{where}.replay_model: {name} trains on {model.dataset}, the experiment's "
                f"dataset is {exp['dataset']}"]
    return []


def _quirk_problems(quirks, where):
    try:
        resolve(PROTOCOLS[0], quirks or {})
    except ProtocolError as e:
        return [f"{where}: {e}"]
    return []


# ---------------------------------------------------------------------------------------
# the whole config


def config_problems(config, schema, files=()):
    """Every problem, each naming its key path, in the order of the module's docstring;
    a later step runs only when the earlier ones pass. Fills the schema's defaults."""
    problems = check_files(files)
    if problems:
        return problems
    problems = schema_problems(config, schema, fill_defaults=True)
    if problems:
        return problems
    return net_problems(config) + reference_problems(config)


def check_config(config, schema, files=()):
    """Raise ConfigError listing every problem of `config` (see config_problems)."""
    problems = config_problems(config, schema, files)
    if problems:
        raise ConfigError(
            "invalid workflow configuration (nothing was run):\n  " + "\n  ".join(problems)
        )
