"""A config BiaPy 3.7.1 writes out, every key at its default, loaded by segpipe; and the
config a BiaPy run writes into its job folder, with its derived paths, in 2D and 3D.

    PYTHONPATH=. benchmarks/.venv-biapy/bin/python benchmarks/check_biapy_config.py

Run in the benchmark environment, where BiaPy is installed without its dependencies: BiaPy's
own defaults (its ``Config``, read from its source file, so that none of BiaPy's heavy imports
run) are written as BiaPy writes a config, with PROBLEM.TYPE set to INSTANCE_SEG, and loaded
with segpipe's ``resolve_config``. Prints how many keys there are, whether the config loads,
and the notes and warnings segpipe gives; exits 1 if it does not load or any key is unknown.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from stages.config import ConfigError, resolve_config
from stages.config.keys import get, set_key


def biapy_config_module():
    """BiaPy's config.py, read from its source file (none of BiaPy's heavy imports run)."""
    spec = importlib.util.find_spec("biapy")
    if spec is None or spec.origin is None:
        sys.exit("BiaPy is not installed here: run in benchmarks/.venv-biapy")
    source = Path(spec.origin).parent / "config" / "config.py"
    module_spec = importlib.util.spec_from_file_location("biapy_config", source)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def written_by_a_run(ndim: str, channels: list[str]) -> dict:
    """The config file a BiaPy 3.7.1 run writes into its job folder (config_files/): the
    defaults merged with the user's keys and BiaPy's derived paths (update_dependencies),
    dumped before its configuration check."""
    import yaml

    module = biapy_config_module()
    config = module.Config("/home/user/jobs/nuclei", "nuclei_1")
    root = config._C
    root.PROBLEM.TYPE, root.PROBLEM.NDIM = "INSTANCE_SEG", ndim
    root.PROBLEM.INSTANCE_SEG.DATA_CHANNELS = channels
    root.DATA.PATCH_SIZE = (256, 256, 1) if ndim == "2D" else (20, 128, 128, 1)
    for split in ("TRAIN", "TEST"):
        getattr(root.DATA, split).PATH = f"/data/{split.lower()}/raw/"
        getattr(root.DATA, split).GT_PATH = f"/data/{split.lower()}/label/"
    module.update_dependencies(config)
    return yaml.safe_load(config.get_cfg_defaults().dump())


def biapy_defaults() -> dict[str, object]:
    """Every dotted key of BiaPy's configuration with its default."""
    root = biapy_config_module().Config("/job", "name")._C

    def walk(node, prefix=""):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else key
            if type(value).__name__ == "CfgNode":
                yield from walk(value, path)
            else:
                yield path, list(value) if isinstance(value, tuple) else value

    return dict(walk(root))


def main() -> None:
    defaults = biapy_defaults()
    config: dict = {}
    for path, value in defaults.items():
        set_key(config, path, value)
    config["PROBLEM"]["TYPE"] = "INSTANCE_SEG"
    print(f"{len(defaults)} keys in BiaPy's configuration")
    try:
        theirs_read, warnings = resolve_config(config)
    except ConfigError as error:
        print(f"does not load: {error}")
        sys.exit(1)
    print(f"loads, with {len(warnings)} note(s) and warning(s):")
    for warning in warnings:
        print(f"- {warning}")
    # segpipe's defaults against BiaPy's as segpipe reads them (the -1 placeholders and
    # one-item lists read), for the keys segpipe reads: the README's "Defaults" table
    for ndim, channels in (("2D", ["F", "C"]), ("3D", ["F", "C", "Db"]), ("2D", ["F", "P"])):
        try:
            resolve_config(written_by_a_run(ndim, channels))
        except ConfigError as error:
            print(f"a config written by a {ndim} {channels} run does not load: {error}")
            sys.exit(1)
        print(f"a config written by a {ndim} {channels} run (derived paths included) loads")
    ours, _ = resolve_config({})
    print("segpipe's defaults that differ from BiaPy's:")
    for path, theirs in defaults.items():
        try:
            mine, read = get(ours, path), get(theirs_read, path)
        except KeyError:
            continue
        if not isinstance(mine, dict) and mine is not None and mine != read:
            print(f"- {path}: segpipe {mine!r}, BiaPy {theirs!r}")


if __name__ == "__main__":
    main()
