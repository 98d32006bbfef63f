"""Write the config reference page from the schema: python -m stages.readme_reference
docs/config-reference.md"""

from __future__ import annotations

import sys
from pathlib import Path

from .config import reference_markdown

PAGE = Path("docs") / "config-reference.md"


def reference_page() -> str:
    """The whole page: the table of every key, then the older BiaPy keys read on load."""
    from .config.migrate import MIGRATED_KEYS

    older = "\n".join(f"| `{old}` | {new} |" for old, new in MIGRATED_KEYS.items())
    return (
        "# Config reference\n\n"
        "Every key, its default and what it does (`segpipe config --reference` prints this "
        "table; `make reference` writes this page from `stages/config/schema.yaml`).\n\n"
        f"{reference_markdown()}\n\n"
        "## Keys of older BiaPy versions\n\n"
        "Read as BiaPy 3.7 reads them when a config is loaded, each named once in a warning "
        "(`read X as Y`).\n\n"
        "| older key | read as |\n|---|---|\n"
        f"{older}\n"
    )


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else PAGE)
    target.write_text(reference_page())
