"""A run's settings, declared once.

Each training setting is one row of SETTINGS: its name (the RunSettings field, the
config key and, with dashes, the `regstudy train` option), the JSON schema of a value,
its default and its help. From this table come the workflow config's keys under
`training:` and under each experiment (pipeline.plan.config_check adds them to the
config schema), the command line's options (pipeline.train.command), the sweeps'
settable keys (pipeline.plan.sweeps) and the check of a value: the JSON schema, applied
where the value enters (the config's validation, or the option's converter).
`build` is the one place a RunSettings is made for a run, by `regstudy train` and by the
workflow's training job alike.

Settings of the run itself that no config key sets (the data file, protocol, seed, ...)
are the other fields of RunSettings; `shards` and `threads` are rows without a config
level (the workflow takes them from the job's threads).
"""
from __future__ import annotations

from dataclasses import dataclass, field, make_dataclass

from .chapter import MODEL_NAMES

DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class Setting:
    name: str
    schema: dict            # JSON schema of one value: the check
    default: object
    help: str
    levels: tuple = ("training", "experiment")   # where a workflow config may set it
    config_default: object = None    # the config's default where it differs from the CLI's

    @property
    def flag(self):
        return "--" + self.name.replace("_", "-")


POSINT = {"type": "integer", "minimum": 1}

SETTINGS = (
    Setting("epochs", POSINT, 10, "epochs (the study: 10)"),
    Setting("batch_size", POSINT, 10, "minibatch size (the study: 10)"),
    Setting("learning_rate", {"type": "number", "exclusiveMinimum": 0}, 0.001,
            "Adam learning rate (the study: 0.001)"),
    Setting("l1", {"type": "number", "minimum": 0}, 0.0,
            "L1 strength on weights and kernels", levels=("experiment",)),
    Setting("l2", {"type": "number", "minimum": 0}, 0.0,
            "L2 strength on weights and kernels", levels=("experiment",)),
    Setting("label_smoothing", {"type": "number", "minimum": 0, "exclusiveMaximum": 1}, 0.0,
            "label smoothing eps: each head's training target puts 1 - eps on the label "
            "and eps / K on each of its K classes (0: the plain cross-entropy)"),
    Setting("test_epochs", {"type": ["array", "null"], "uniqueItems": True,
                            "items": {"type": "integer", "minimum": 1}}, None,
            "also measure the test accuracy after these epochs (e.g. 5,10,20 in a 40-epoch "
            "run: one run gives a whole epoch budget path); metrics.json test_accuracy_at. "
            "Evaluation draws nothing, so training is as without it"),
    Setting("dtype", {"enum": list(DTYPES)}, "float32",
            "precision of parameters, activations and optimizer state (the study computed "
            "in float64); recorded in metrics.json"),
    Setting("train_size", {"type": ["integer", "null"], "minimum": 1}, None,
            "train on this many images of the training split: the first N of a seeded "
            "permutation, so subsets are nested as N grows (default: all; validation and "
            "test splits unchanged); recorded in metrics.json"),
    Setting("eval_train_size", POSINT, 500,
            "training images evaluated every epoch in evaluation mode, beside the whole "
            "validation split (history columns eval_*: the clean train-validation gap); a "
            "fixed subset drawn from the seed (all of the training split if it is smaller)",
            levels=("training",)),
    Setting("report", {"type": "integer", "minimum": 0}, 1,
            "a console report every N epochs (0: none)", levels=("training",),
            config_default=2),
    Setting("replay_model", {"enum": [*MODEL_NAMES, None]}, None,
            "with quirk rng=replay: the model of the study's chapter this run replays (its "
            "split, initial weights, batch order, masks and noise are the chapter's draws, "
            "the models before it fast-forwarded; seed 1234 is the study's)",
            levels=("experiment",)),
    Setting("shards", {"type": ["integer", "null"], "minimum": 1}, None,
            "cut each minibatch into this many parts, trained on that many threads and "
            "their gradients added (default: 2 for networks with convolutions, 1 for MLPs); "
            "changes the last bits of the results and the dropout/noise draws, so it is "
            "recorded with the run", levels=()),
    Setting("threads", {"type": ["integer", "null"], "minimum": 1}, None,
            "threads this run may use in all (default: as many as its shards, at least 2); "
            "shards and slices beyond it run one after another, with the same results; "
            "BLAS runs one thread under each. A network with batch normalization needs "
            "threads >= shards", levels=()),
)
BY_NAME = {s.name: s for s in SETTINGS}

# A run's settings: the run-level fields, then one field per row of SETTINGS.
RunSettings = make_dataclass("RunSettings", [
    ("data", str),
    ("net", list),
    ("protocol", str, field(default="corrected")),
    ("quirks", dict, field(default_factory=dict)),   # overrides of the protocol's options
    ("seed", int, field(default=0)),
    ("experiment", str, field(default="run")),
    ("on_divergence", str, field(default="fail")),   # fail | record
    *((s.name, object, field(default=s.default)) for s in SETTINGS),
])
RunSettings.__doc__ = "One run's settings (pipeline.train.settings: where each comes from)."


def config_schema(level):
    """{key: JSON schema} of the settings a config may give at `level` ("training" or
    "experiment"), with their defaults and help."""
    out = {}
    for s in SETTINGS:
        if level in s.levels:
            default = s.default if s.config_default is None else s.config_default
            out[s.name] = {**s.schema, "description": s.help,
                           **({"default": default} if level == "training" and
                              default is not None else {})}
    return out


def check(name, value):
    """None if `value` is valid for setting `name`, else what is wrong (in the words of
    the config's validation, which applies the same schema)."""
    import jsonschema

    errors = list(jsonschema.Draft202012Validator(BY_NAME[name].schema).iter_errors(value))
    return errors[0].message if errors else None


def option_type(setting):
    """The command line's converter of one setting: text -> value, checked where it
    enters (argparse reports the message with the option's name)."""
    import argparse

    kinds = setting.schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])

    def convert(text):
        value = text
        if "array" in kinds:            # a comma-separated list of whole numbers
            try:
                value = [int(v) for v in text.split(",")]
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"{text!r} is not a comma-separated list of whole numbers") from None
        elif "integer" in kinds:
            try:
                value = int(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        elif "number" in kinds:
            try:
                value = float(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        problem = check(setting.name, value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value
    convert.__name__ = setting.name        # argparse names it in its messages
    return convert


def add_options(parser, defaults=None):
    """One `--name` option per setting, each checked as it enters."""
    for s in SETTINGS:
        default = (defaults or {}).get(s.name, s.default)
        choices = [str(c) for c in s.schema.get("enum", []) if c is not None]
        text = s.help + (f"; one of {', '.join(choices)}" if choices else "")
        if default is not None:
            text += f" (default {default})"
        parser.add_argument(s.flag, type=option_type(s), default=default,
                            metavar=s.name.upper(), help=text)


def config_values(config, name):
    """{setting: value} of experiment `name` of a workflow config (already validated):
    the experiment's own value, else the config's `training:` value, else the default;
    only those that differ from the default, so that a new setting leaves the existing
    runs' rerun trigger as it was."""
    exp, training = config["experiments"][name], config.get("training") or {}
    out = {}
    for s in SETTINGS:
        value = s.default
        if "training" in s.levels and training.get(s.name) is not None:
            value = training[s.name]
        if "experiment" in s.levels and exp.get(s.name) is not None:
            value = exp[s.name]
        if value != s.default:
            out[s.name] = value
    return out


def build(values):
    """The RunSettings of a run from {field: value} (a missing or None value takes its
    default): the one place a run's settings are made, for `regstudy train` and the
    workflow's training job. The values were checked where they entered."""
    return RunSettings(**{k: v for k, v in values.items() if v is not None})
