"""Number formatting and the Markdown/HTML forms shared by the tables and the conclusions."""
from __future__ import annotations

import html
import math

HTML_STYLE = (
    "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;font-size:90%}"
    "th,td{border:1px solid #bbb;padding:3px 6px;text-align:right}th{background:#eee}"
    "td:first-child,td:nth-child(2){text-align:left}"
)


def finite(x):
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def fmt_ms(mean, std, digits=1, scale=1.0):
    """'31.1 ± 2.0'; one value if there is no spread; '-' if there is nothing."""
    if not finite(mean):
        return "-"
    s = f"{mean * scale:.{digits}f}"
    if finite(std):
        s += f" ± {std * scale:.{digits}f}"
    return s


def fmt_num(value, digits=1, sign=False):
    """A number with thousands separators ('-' for none); sign: '+1.0'."""
    if isinstance(value, bool) or not (isinstance(value, int) or finite(value)):
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:{'+' if sign else ''},.{digits}f}"


def to_markdown(df):
    cols = list(df.columns)
    esc = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(esc(c) for c in cols) + " |",
             "|" + "|".join("---" for _ in cols) + "|"]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(esc(r[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def html_page(title, body):
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{HTML_STYLE}</style></head><body><h2>{html.escape(title)}</h2>\n"
            f"{body}</body></html>\n")


def html_table(df):
    return df.to_html(index=False, escape=True, border=0, na_rep="-")


def html_notes(notes):
    return "".join(f"<p>{html.escape(n)}</p>" for n in notes)
