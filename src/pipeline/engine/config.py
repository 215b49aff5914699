"""The study's layer vocabulary: parse and validate hidden-layer configs.

A hidden config is a list. An int `w` is a full layer of width w; a list
`[type, {options}]` is any layer (the options dict may be omitted). Missing options take
the reference's defaults (docs/quirks.md#layers). Every error names the key path.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ACTFUNCS = ("none", "relu", "sigmoid", "tanh")

# type -> {option: default}; `REQUIRED` marks options without a default.
REQUIRED = object()
LAYER_OPTIONS = {
    "full": {"width": REQUIRED, "actfunc": "relu"},
    "conv": {"ksize": REQUIRED, "chn": REQUIRED, "actfunc": "relu"},
    "max": {"stride": REQUIRED},
    "avg": {"stride": REQUIRED},
    "dropout": {"keep_prob": 1.0},
    "noise": {"type": "normal", "mean": 0.0, "std": 1.0, "ratio": 1.0},
    "batch_normal": {"rescale": True, "epsilon": 1e-10, "exp_ratio": 0.001},
}
# Accepted spellings of the same option.
ALIASES = {"batch_normal": {"momentum": "exp_ratio"}}


class ConfigError(ValueError):
    """A config value is wrong; the message starts with the key path at fault."""


@dataclass(frozen=True)
class LayerSpec:
    type: str
    options: dict = field(default_factory=dict)

    def to_config(self):
        return [self.type, dict(self.options)]


def _pair(value, where, name):
    if isinstance(value, bool):
        raise ConfigError(f"{where}.{name}: expected a positive int or [int, int], got {value!r}")
    if isinstance(value, int):
        value = [value, value]
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise ConfigError(f"{where}.{name}: expected a positive int or [int, int], got {value!r}")
    if min(value) <= 0:
        raise ConfigError(f"{where}.{name}: must be positive, got {value!r}")
    return tuple(value)


def _number(value, where, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}.{name}: expected a number, got {value!r}")
    return float(value)


def _check_options(kind, opts, where):
    """Type and range checks for one layer's options (defaults already filled in)."""
    if kind == "full":
        w = opts["width"]
        if isinstance(w, bool) or not isinstance(w, int) or w <= 0:
            raise ConfigError(f"{where}.width: expected a positive int, got {w!r}")
    if kind == "conv":
        opts["ksize"] = _pair(opts["ksize"], where, "ksize")
        if any(k % 2 == 0 for k in opts["ksize"]):
            # 'same' padding is asymmetric for even kernels (the reference pads (k-1)//2
            # before); the study only uses odd kernels, so refuse rather than surprise.
            raise ConfigError(f"{where}.ksize: only odd kernel sizes are supported "
                              f"('same' padding), got {list(opts['ksize'])}")
        c = opts["chn"]
        if isinstance(c, bool) or not isinstance(c, int) or c <= 0:
            raise ConfigError(f"{where}.chn: expected a positive int, got {c!r}")
    if kind in ("full", "conv") and opts["actfunc"] not in ACTFUNCS:
        raise ConfigError(f"{where}.actfunc: expected one of {', '.join(ACTFUNCS)}, "
                          f"got {opts['actfunc']!r}")
    if kind in ("max", "avg"):
        opts["stride"] = _pair(opts["stride"], where, "stride")
    if kind == "dropout":
        p = _number(opts["keep_prob"], where, "keep_prob")
        if not 0.0 < p <= 1.0:
            raise ConfigError(f"{where}.keep_prob: must be in (0, 1], got {p}")
        opts["keep_prob"] = p
    if kind == "noise":
        if opts["type"] != "normal":
            raise ConfigError(f"{where}.type: only 'normal' noise is supported, got {opts['type']!r}")
        for name in ("mean", "std", "ratio"):
            opts[name] = _number(opts[name], where, name)
        if opts["std"] < 0:
            raise ConfigError(f"{where}.std: must be >= 0, got {opts['std']}")
        if not 0.0 <= opts["ratio"] <= 1.0:
            raise ConfigError(f"{where}.ratio: must be in [0, 1], got {opts['ratio']}")
    if kind == "batch_normal":
        if not isinstance(opts["rescale"], bool):
            raise ConfigError(f"{where}.rescale: expected true or false, got {opts['rescale']!r}")
        opts["epsilon"] = _number(opts["epsilon"], where, "epsilon")
        opts["exp_ratio"] = _number(opts["exp_ratio"], where, "exp_ratio")
        if opts["epsilon"] <= 0:
            raise ConfigError(f"{where}.epsilon: must be > 0, got {opts['epsilon']}")
        if not 0.0 < opts["exp_ratio"] <= 1.0:
            raise ConfigError(f"{where}.exp_ratio: must be in (0, 1], got {opts['exp_ratio']}")
    return opts


def parse_layer(item, where):
    """One hidden-config element -> LayerSpec, defaults filled in."""
    if isinstance(item, int) and not isinstance(item, bool):
        item = ["full", {"width": item}]
    if isinstance(item, str):
        item = [item]
    if not isinstance(item, (list, tuple)) or not item or not isinstance(item[0], str):
        raise ConfigError(f"{where}: expected an int (full layer width) or "
                          f"[type, {{options}}], got {item!r}")
    if len(item) > 2:
        raise ConfigError(f"{where}: expected [type, {{options}}], got {len(item)} elements")
    kind = item[0]
    if kind not in LAYER_OPTIONS:
        raise ConfigError(f"{where}: unknown layer type {kind!r} "
                          f"(known: {', '.join(LAYER_OPTIONS)})")
    given = item[1] if len(item) == 2 else {}
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise ConfigError(f"{where}: options of {kind!r} must be a mapping, got {given!r}")
    given = {ALIASES.get(kind, {}).get(k, k): v for k, v in given.items()}
    defaults = LAYER_OPTIONS[kind]
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown option for {kind!r} "
                          f"(known: {', '.join(defaults)})")
    opts = {}
    for name, default in defaults.items():
        if name in given:
            opts[name] = given[name]
        elif default is REQUIRED:
            raise ConfigError(f"{where}.{name}: missing required option of {kind!r}")
        else:
            opts[name] = default
    return LayerSpec(kind, _check_options(kind, opts, where))


def parse_hidden(hidden, where="net"):
    """A hidden config (list) -> list of LayerSpec."""
    if isinstance(hidden, (list, tuple)) and hidden and isinstance(hidden[0], str):
        hidden = [hidden]          # a single layer spec, as the reference accepts
    if not isinstance(hidden, (list, tuple)):
        raise ConfigError(f"{where}: expected a list of layers, got {hidden!r}")
    return [parse_layer(item, f"{where}[{i}]") for i, item in enumerate(hidden)]


def output_shapes(specs, input_shape, where="net"):
    """Per-sample shapes after each layer, from an (H, W, C) input; checks that conv and
    pooling get images and that strides divide the feature map."""
    shape = tuple(input_shape)
    shapes = []
    for i, spec in enumerate(specs):
        at = f"{where}[{i}]"
        if spec.type in ("conv", "max", "avg") and len(shape) != 3:
            raise ConfigError(f"{at}: {spec.type!r} needs an image (H, W, C) input, "
                              f"but gets a flat vector of {shape[0]} (after a full layer)")
        if spec.type == "full":
            shape = (spec.options["width"],)
        elif spec.type == "conv":
            shape = (shape[0], shape[1], spec.options["chn"])
        elif spec.type in ("max", "avg"):
            sh, sw = spec.options["stride"]
            if shape[0] % sh or shape[1] % sw:
                raise ConfigError(f"{at}.stride: {list(spec.options['stride'])} does not divide "
                                  f"the {shape[0]}x{shape[1]} feature map")
            shape = (shape[0] // sh, shape[1] // sw, shape[2])
        shapes.append(shape)
    return shapes


def validate_net(spec, input_shape=None, where="net"):
    """Parse a hidden config and, when the input shape (H, W, C) is known, check shapes.
    Returns the list of LayerSpec; raises ConfigError naming the key path."""
    specs = parse_hidden(spec, where)
    if input_shape is not None:
        output_shapes(specs, input_shape, where)
    return specs
