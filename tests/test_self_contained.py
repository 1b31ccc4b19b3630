"""The checkout is self-contained: nothing in it reads a path outside it (`../shared/` is a
reference for the developers, not a dependency)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    p
    for pattern in ("*.py", "*.sh", "Makefile", "*.toml", "*.yml", "*.cfg", "*.ini")
    for p in ROOT.rglob(pattern)
    if not {".venv", ".git", "node_modules", "var", "artifacts"} & set(p.relative_to(ROOT).parts)
]


def test_no_source_file_names_a_folder_outside_the_checkout():
    # A sibling "shared" reference folder (relative or absolute) or the tool library, named by
    # what lies inside them rather than by this machine's absolute layout.
    outside = re.compile(r"(\.\./shared\b|/shared/(reference|datasets|STYLE\.md)\b|/\.library/)")
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in SOURCES
        if p.name != "test_self_contained.py"
        for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
        if outside.search(line)
    ]
    assert SOURCES and not offenders, offenders
