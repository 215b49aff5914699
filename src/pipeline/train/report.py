"""Console reports in the reference's form (docs/quirks.md#reports), with fractional seconds
(Q19). Office-31 accuracies print as `domain+object` (two numbers, not a sum)."""
from pipeline.engine.losses import head_slices


def fmt_acc(values):
    return "+".join(f"{v:5.3f}" for v in values)


def epoch_line(epoch, cost, train_acc, val_acc, since_last, total, epochs=None):
    """`Epoch k/N: ...` with the time left at the mean epoch time so far (`regstudy status`
    reads the same from the checkpoint)."""
    if epochs is None:
        return (f"    Epoch {epoch}: cost={cost:5.3f}, accuracy={fmt_acc(train_acc)}/"
                f"{fmt_acc(val_acc)} ({since_last:.1f}/{total:.1f} secs)")
    left = total / epoch * (epochs - epoch)
    return (f"    Epoch {epoch}/{epochs}: cost={cost:5.3f}, accuracy={fmt_acc(train_acc)}/"
            f"{fmt_acc(val_acc)} ({since_last:.1f}/{total:.1f} secs, {left:.1f} secs left)")


def test_line(name, acc, secs):
    return f"Model {name} test report: accuracy = {fmt_acc(acc)}, ({secs:.1f} secs)\n"


def sample_lines(prob_rows, y_rows, head_sizes, heads, names):
    """`estimate X : answer Y => O/X` for a few samples, one block per head."""
    lines = []
    for k, s in enumerate(head_slices(head_sizes)):
        if len(head_sizes) > 1:
            lines.append(f"[ {heads[k]} estimates ]")
        for p, y in zip(prob_rows, y_rows):
            probs = p[s]
            shown = ",".join(f"{100 * v:2.0f}" for v in probs[:8]) + (",..." if len(probs) > 8 else "")
            est = int(probs.argmax())
            mark = "O" if est == y[k] else "X"
            lines.append(f"estimated distribution [{shown}] => estimate {names[k][est]} : "
                         f"answer {names[k][y[k]]} => {mark}")
    return lines


def params_line(stats):
    return (f"Near 0 parameters = {100 * stats['near_zero_frac']:4.1f}%"
            f"({stats['near_zero']}/{stats['count']}), mu={stats['mean']:5.3f}, "
            f"sigma={stats['std']:5.3f}")
