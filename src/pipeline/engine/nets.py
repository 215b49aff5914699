"""The study's named networks (docs/quirks.md#networks)."""

_CONV = [["conv", {"ksize": 3, "chn": 6}], ["max", {"stride": 2}],
         ["conv", {"ksize": 3, "chn": 12}], ["max", {"stride": 2}],
         ["conv", {"ksize": 3, "chn": 24}], ["avg", {"stride": 3}]]


def _after_pools(layer):
    out = []
    for item in _CONV:
        out.append(item)
        if item[0] in ("max", "avg"):
            out.append(layer)
    return out


def _before_convs(layer):
    out = []
    for item in _CONV:
        if item[0] == "conv":
            out.append(layer)
        out.append(item)
    return out


NAMED_NETS = {
    "mlp": [30, 10],
    "cnn1": _CONV,
    "cnn2": _after_pools(["dropout", {"keep_prob": 0.6}]),
    "cnn3": _before_convs(["noise", {"type": "normal", "mean": 0, "std": 0.01}]),
    "cnn4": _before_convs(["batch_normal"]),
}
