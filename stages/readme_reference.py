"""Rewrite the README's config reference from the schema: python -m stages.readme_reference
README.md"""

from __future__ import annotations

import sys
from pathlib import Path

from .config import reference_markdown

HEADING = "## Config reference"


def refresh(readme: Path) -> None:
    text = readme.read_text()
    head, found, _ = text.partition(HEADING)
    if not found:
        sys.exit(f"{readme} has no '{HEADING}' section")
    intro = (
        "Every key, its default and what it does (`segpipe config --reference` prints this table)."
    )
    readme.write_text(f"{head}{HEADING}\n\n{intro}\n\n{reference_markdown()}\n")


if __name__ == "__main__":
    refresh(Path(sys.argv[1] if len(sys.argv) > 1 else "README.md"))
