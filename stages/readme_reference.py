"""Write the config reference page from the schema: python -m stages.readme_reference
docs/config-reference.md"""

from __future__ import annotations

import sys
from pathlib import Path

from .config import reference_markdown

PAGE = Path("docs") / "config-reference.md"


def reference_page() -> str:
    """The whole page: a title, one line of what it is, the table of every key."""
    return (
        "# Config reference\n\n"
        "Every key, its default and what it does (`segpipe config --reference` prints this "
        "table; `make reference` writes this page from `stages/config/schema.yaml`).\n\n"
        f"{reference_markdown()}\n"
    )


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else PAGE)
    target.write_text(reference_page())
