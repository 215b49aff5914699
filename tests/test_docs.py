"""The documentation a reader sees: every relative link and #anchor resolves, and no page
or file narrates how the work was organised (who ran what in which working period)
instead of what was measured, when and on what."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The pages a reader sees, and every page they link to is checked too (links_of follows
# nothing outside the repository).
PAGES = sorted([ROOT / "README.md", ROOT / "config" / "README.md",
                ROOT / "requirements" / "README.md", *(ROOT / "docs").glob("*.md")])

# Text files searched for narration: the pages above and every source, config, workflow,
# test and benchmark file.
TEXT_DIRS = ("docs", "config", "src", "workflow", "benchmarks", "tests", "requirements",
             ".ci", ".test")
TEXT_SUFFIXES = {".md", ".py", ".smk", ".yaml", ".yml", ".rst", ".txt", ".sh", ".toml", ""}

# Words about the organisation of the work, not about the project. Each was checked not
# to occur in a sentence about the project (no "Snakemake session", "tmux session" here).
NARRATION = re.compile(
    r"\bsessions?\b"                       # working periods
    r"|\bround \d+\b"                       # numbered rounds of work
    r"|\byesterday\b|\btoday'?s?\b|\bthis morning\b|\btonight\b|\blast night\b"
    r"|\bthat started it\b|\bthis (?:branch|change|pr)(?:'s)?\b",
    re.IGNORECASE)

FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"", re.IGNORECASE)
# "docs/engine.md#measured-timings" cited in code and comments
CITED = re.compile(r"\b((?:docs|config|requirements)/\w[\w/-]*\.md)#([\w-]+)")


def prose_lines(text):
    """(line number, line) outside fenced and indented code blocks."""
    fenced, prev_blank = False, True
    in_indented = False
    for i, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        if line.startswith(("    ", "\t")) and (prev_blank or in_indented) and line.strip():
            # an indented code block starts after a blank line (a list item's continuation
            # follows its item without one)
            in_indented = True
            prev_blank = False
            continue
        if line.strip():
            in_indented = False
        prev_blank = not line.strip()
        yield i, line


def slug(heading):
    """GitHub's anchor for a heading's text: inline markup dropped, lower case,
    punctuation except '-' and '_' removed, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)      # links -> their text
    text = CODE_SPAN.sub(lambda m: m.group(2), text)
    text = re.sub(r"<[^>]+>", "", text).replace("*", "")
    text = re.sub(r"(?<![\w])_+|_+(?![\w])", "", text)               # _emphasis_
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    seen, out = {}, set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        out.update(HTML_ANCHOR.findall(line))
        m = HEADING.match(line)
        if not m:
            continue
        s = slug(m.group(2))
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
    return out


def links(path):
    """(line number, target) of every inline link and image outside code."""
    for i, line in prose_lines(path.read_text(encoding="utf-8")):
        for target in LINK.findall(CODE_SPAN.sub("", line)):
            yield i, target


def resolve(page, target):
    """None if `target` resolves from `page`, else what is wrong."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):     # http:, mailto:, ...
        return None
    path, _, anchor = target.partition("#")
    dest = (page.parent / path).resolve() if path else page
    if not dest.exists():
        return f"{path}: no such file"
    if ROOT not in dest.parents and dest != ROOT:
        return f"{path}: outside the repository"
    if anchor:
        if dest.suffix != ".md":
            return f"#{anchor} on a file that is not Markdown"
        if anchor not in anchors(dest):
            return f"#{anchor}: no such heading in {dest.relative_to(ROOT)}"
    return None


def test_slugs_follow_github():
    assert slug("The two protocols") == "the-two-protocols"
    assert slug("Fifty paired seeds (2026-12-02)") == "fifty-paired-seeds-2026-12-02"
    assert slug("Q1. Raw pixels (`input_scale`)") == "q1-raw-pixels-input_scale"
    assert slug("The sweep study: config/sweeps.yaml") == "the-sweep-study-configsweepsyaml"
    assert slug("Precision on the real flowers: does float64 change the reference?") == \
        "precision-on-the-real-flowers-does-float64-change-the-reference"
    assert slug("Under `reference`: each quirk set to `corrected`'s value") == \
        "under-reference-each-quirk-set-to-correcteds-value"


def test_code_blocks_are_not_prose():
    text = "a [x](y.md)\n\n    [not](a-link.md)\n\n```\n[no](link.md)\n```\n- item\n  [z](w.md)\n"
    found = [t for _, line in prose_lines(text) for t in LINK.findall(line)]
    assert found == ["y.md", "w.md"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page):
    bad = [f"{page.relative_to(ROOT)}:{i}: {target}: {why}"
           for i, target in links(page) if (why := resolve(page, target))]
    assert not bad, "\n".join(bad)


def text_files():
    yield from (p for p in PAGES)
    for d in TEXT_DIRS:
        for p in sorted((ROOT / d).rglob("*")):
            if p.is_file() and p.suffix in TEXT_SUFFIXES and p.suffix != ".md" \
                    and "__pycache__" not in p.parts and p != Path(__file__).resolve():
                yield p
    yield ROOT / "pyproject.toml"


def test_anchors_cited_in_code_resolve():
    bad = []
    for p in text_files():
        for i, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            for doc, anchor in CITED.findall(line):
                dest = ROOT / doc
                if not dest.exists() or anchor not in anchors(dest):
                    bad.append(f"{p.relative_to(ROOT)}:{i}: {doc}#{anchor}")
    assert not bad, "\n".join(bad)


def test_narration_words_are_caught():
    for text in ("the session that started it ended", "Sessions 1-3", "measured yesterday",
                 "today's main", "this branch's code", "round 3 of the measurements"):
        assert NARRATION.search(text), text
    for text in ("5 rounds", "--rounds 3", "rounded to 0.1", "a tmux window",
                 "todays_date_column", "sessionless"):
        assert not NARRATION.search(text), text


def test_no_page_or_file_narrates_how_the_work_was_organised():
    bad = []
    for p in text_files():
        for i, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if m := NARRATION.search(line):
                bad.append(f"{p.relative_to(ROOT)}:{i}: {m.group(0)!r}: {line.strip()[:100]}")
    assert not bad, "say what was measured, when and on what:\n" + "\n".join(bad)


def test_troubleshooting_lists_the_exit_codes_the_code_uses():
    from pipeline.runtime import faults
    rows = dict(re.findall(r"^\| (\d+) \| ([^|]+) \|$",
                           (ROOT / "docs" / "troubleshooting.md").read_text(), re.MULTILINE))
    assert rows[str(faults.DISK_FULL)] == "disk full"
    assert rows[str(faults.OUT_OF_MEMORY)] == "out of memory"
    assert rows[str(faults.PERMISSION)].startswith("permission denied")
    assert rows[str(faults.DATA_CHANGED)].startswith("data cache")
    assert "troubleshooting.md" in (ROOT / "README.md").read_text()
