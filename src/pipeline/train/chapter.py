"""The study's chapter as a program: its models, in the order it builds and trains them,
and what each one draws from the chapter's single random stream (pipeline.train.replay
walks it). Plain data: imports no numerical library, so the config check can name the
models (pipeline.plan.config_check)."""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.engine.config import ConfigError

# Images in the chapter's data sets (the flowers copy it used; Office-31's release).
CHAPTER_SIZES = {"flowers": 4317, "office31": 4110}
HEAD_SIZES = {"flowers": [5], "office31": [3, 31]}
CHAPTER_IMAGE = (96, 96, 3)
CHAPTER_SEED = 1234


@dataclass(frozen=True)
class Model:
    """One model of the chapter: what its draws depend on. `report`: validation every
    `report` epochs (0: never); `show_cnt`: validation samples shown after training."""
    name: str
    dataset: str
    net: str                  # a named net (engine.nets)
    report: int = 0
    show_cnt: int = 0
    epochs: int = 10
    batch_size: int = 10
    study: str = ""           # what the study ran under this name (its penalty)


# The chapter's models in program order, as its report prints and runs them
# (docs/reproduction.md#replaying-the-study-draw-for-draw). Six [30,10] runs precede cnn1
# in its stream: the report prints five; the sixth drew like its neighbours (no report,
# nothing shown), and its place among runs 2-6 is not printed (here: last).
MODELS = (
    Model("flowers_model_1", "flowers", "mlp", report=2, show_cnt=3, study="none"),
    Model("flowers_model_2", "flowers", "mlp", study="L2 0.1"),
    Model("flowers_model_l2_0.01", "flowers", "mlp", study="L2 0.01"),
    Model("flowers_model_l1_0.1", "flowers", "mlp", study="L1 0.1"),
    Model("flowers_model_3", "flowers", "mlp", study="L1 0.01"),
    Model("flowers_model_unprinted", "flowers", "mlp", study="a sixth [30,10] run"),
    Model("flowers_cnn_1", "flowers", "cnn1", report=2, show_cnt=3, study="none"),
    Model("flowers_cnn_2", "flowers", "cnn2", report=2, study="dropout 0.6"),
    Model("flowers_cnn_3", "flowers", "cnn3", report=2, study="noise 0.01"),
    Model("flowers_cnn_4", "flowers", "cnn4", report=2, study="batch norm"),
    Model("office31_cnn_1", "office31", "cnn1", study="none"),
    Model("office31_cnn_2", "office31", "cnn2", study="dropout 0.6"),
    Model("office31_cnn_3", "office31", "cnn3", study="noise 0.01"),
    Model("office31_cnn_4", "office31", "cnn4", study="batch norm"),
)
MODEL_NAMES = tuple(m.name for m in MODELS)


def program(models=MODELS, datasets=("flowers", "office31")):
    """The chapter's events in order: ("split", dataset), ("init", model),
    ("train", model), ("show", model). Models of a data set whose first model is
    built after another's training (Office-31) are all built before the first trains,
    as the chapter's notebook does."""
    events = [("split", d) for d in datasets]
    office = [m for m in models if m.dataset == "office31"]
    for m in models:
        if m.dataset == "office31":
            continue
        events += [("init", m), ("train", m)] + ([("show", m)] if m.show_cnt else [])
    events += [("init", m) for m in office]
    for m in office:
        events += [("train", m)] + ([("show", m)] if m.show_cnt else [])
    return events


def model_named(name, models=MODELS, where="replay_model"):
    for m in models:
        if m.name == name:
            return m
    raise ConfigError(f"{where}: {name!r} is not a model of the chapter "
                      f"(one of {', '.join(m.name for m in models)})")


def reports(m, epoch):
    """Whether the chapter validated model m after this epoch (a draw)."""
    return bool(m.report) and epoch % m.report == 0
