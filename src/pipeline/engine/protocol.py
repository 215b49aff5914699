"""The two protocols as sets of named quirks (docs/quirks.md).

Each quirk of the reference that changes results is one option here, so a run's
metrics record exactly which semantics produced them. `reference` reproduces the
study's implementation; `corrected` fixes every quirk. Any option can be overridden
one by one (`regstudy train --quirk decay=loss_gradient`).
"""
from __future__ import annotations

# option -> (reference value, corrected value, all values, what it means)
QUIRKS = {
    "input_scale": ("raw", "standardize", ("raw", "unit", "standardize"),
                    "Q1: pixels fed as 0..255 (raw), divided by 255 (unit), or standardized "
                    "per channel with the training split's mean and std"),
    "init": ("normal0.03", "fan_in_uniform", ("normal0.03", "fan_in_uniform", "he", "lecun"),
             "weights and kernels drawn from N(0, 0.03) as the reference (its rand_std), or "
             "by the fan-in of each layer's weight (inputs per unit): weights and biases "
             "U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as PyTorch's default (fan_in_uniform), "
             "N(0, 2/fan_in) (he, the corrected default before issue #11: its MLP trained "
             "badly) or N(0, 1/fan_in) (lecun), biases zero"),
    "bn_backward": ("simplified", "exact", ("simplified", "exact"),
                    "Q2: batch-norm input gradient without (simplified) or with (exact) "
                    "the batch-statistics terms"),
    "bn_running_stats": ("plain", "debiased", ("plain", "debiased"),
                         "Q4: batch-norm evaluation statistics as the raw running averages "
                         "(which start at 0 and 1 and move slowly) or with that start divided "
                         "out"),
    "bn_affine_optimizer": ("sgd", "adam", ("sgd", "adam"),
                            "Q3: batch-norm scale/shift updated by plain SGD or by Adam"),
    "penalty_cost": ("unscaled", "scaled", ("unscaled", "scaled"),
                     "Q5: L1/L2 term in the reported cost without (unscaled) or with "
                     "(scaled) its lambda"),
    "decay": ("after_adam", "loss_gradient", ("after_adam", "loss_gradient"),
              "Q6: L1/L2 as a decoupled step after Adam (p -= lr*(l2 p + l1 sign p)) or "
              "as the gradient of the loss penalty, fed to Adam"),
    "validation": ("sample100", "full", ("sample100", "full"),
                   "Q11: each validation report on 100 random validation samples or on "
                   "the whole split"),
    "leftover": ("never_trained", "shuffled_in", ("never_trained", "shuffled_in"),
                 "Q12: training samples past the last full batch never used "
                 "(never_trained) or shuffled in with a final smaller batch"),
    "rng": ("single_stream", "separate_streams", ("single_stream", "separate_streams", "replay"),
            "Q13: one random stream for split, init, shuffles, masks and sampling, or "
            "one independent stream for each, or (replay) the study's own legacy stream "
            "walked through its chapter, draw for draw (a run names its model of the "
            "chapter: --replay-model, the experiment's replay_model)"),
}

PROTOCOLS = ("reference", "corrected")


class ProtocolError(ValueError):
    pass


def resolve(protocol, overrides=None):
    """Quirk values for a protocol with optional {option: value} overrides."""
    if protocol not in PROTOCOLS:
        raise ProtocolError(f"protocol: expected one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    col = PROTOCOLS.index(protocol)
    quirks = {name: spec[col] for name, spec in QUIRKS.items()}
    for name, value in (overrides or {}).items():
        if name not in QUIRKS:
            raise ProtocolError(f"quirk {name!r} is unknown (known: {', '.join(QUIRKS)})")
        if value not in QUIRKS[name][2]:
            raise ProtocolError(f"quirk {name}: expected one of "
                                f"{', '.join(QUIRKS[name][2])}, got {value!r}")
        quirks[name] = value
    return quirks
