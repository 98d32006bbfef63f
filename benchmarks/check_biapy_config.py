"""A config BiaPy 3.7.1 writes out, every key at its default, loaded by segpipe; and the
config a BiaPy run writes into its job folder, with its derived paths, in 2D and 3D; and the
config a BiaPy checkpoint stores, which its configuration check completed (its check runs here
with stand-ins for the few modules it imports but the environment lacks).

    PYTHONPATH=. benchmarks/.venv-biapy/bin/python benchmarks/check_biapy_config.py

Run in the benchmark environment, where BiaPy is installed without its dependencies: BiaPy's
own defaults (its ``Config``, read from its source file, so that none of BiaPy's heavy imports
run) are written as BiaPy writes a config, with PROBLEM.TYPE set to INSTANCE_SEG, and loaded
with segpipe's ``resolve_config``. Prints how many keys there are, whether the config loads,
and the notes and warnings segpipe gives; exits 1 if it does not load or any key is unknown.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path

from stages.config import ConfigError, resolve_config
from stages.config.keys import get, set_key


@functools.cache
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


#: modules BiaPy's configuration check imports that the benchmark environment (BiaPy installed
#: without its dependencies) lacks; stand-ins are enough, none of their code runs in the check
_ABSENT = ("torchinfo", "torchmetrics", "pytorch_msssim", "torchvision")


class _StandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Empty modules for :data:`_ABSENT` and its submodules; any attribute is a stand-in."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in _ABSENT:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []
        module.__getattr__ = lambda attribute: _StandIn()
        return module

    def exec_module(self, module):
        pass


class _StandIn:
    def __getattr__(self, attribute):
        return _StandIn()

    def __call__(self, *args, **kwargs):
        return _StandIn()

    def __mro_entries__(self, bases):
        return (object,)


def checked_by_biapy(ndim: str, channels: list[str], classes: int) -> dict:
    """The config a BiaPy 3.7.1 checkpoint stores: the one its configuration check completed
    (every channel's loss and encoder option, auxiliary channels), as BiaPy saves it."""
    import contextlib
    import io

    module = biapy_config_module()  # before BiaPy's package is stood in for below
    if not any(isinstance(finder, _StandIns) for finder in sys.meta_path):
        sys.meta_path.append(_StandIns())
        root = str(Path(importlib.util.find_spec("biapy").origin).parent)
        for package in (
            "biapy",
            "biapy.engine",
            "biapy.utils",
            "biapy.data",
            "biapy.config",
            "biapy.data.post_processing",
            "biapy.models",
            "biapy.data.generators",
        ):
            stand_in = types.ModuleType(package)  # BiaPy's package __init__ imports everything
            stand_in.__path__ = [root + package[len("biapy") :].replace(".", "/")]
            sys.modules[package] = stand_in
        sys.modules["biapy.config"].Config = module.Config
    from biapy.engine.check_configuration import check_configuration
    from biapy.utils.misc import cfg_to_plain_dict

    config = module.Config("/tmp/job", "job")
    root = config._C
    root.PROBLEM.TYPE, root.PROBLEM.NDIM = "INSTANCE_SEG", ndim
    root.PROBLEM.INSTANCE_SEG.DATA_CHANNELS = channels
    root.DATA.N_CLASSES = classes
    root.TRAIN.ENABLE = root.TEST.ENABLE = True
    root.DATA.PATCH_SIZE = (256, 256, 1) if ndim == "2D" else (32, 128, 128, 1)
    for split in ("TRAIN", "TEST"):
        getattr(root.DATA, split).PATH = getattr(root.DATA, split).GT_PATH = "/tmp"
    module.update_dependencies(config)
    cfg = config.get_cfg_defaults()
    with contextlib.redirect_stdout(io.StringIO()):
        check_configuration(cfg, "job", check_data_paths=False)
    return cfg_to_plain_dict(cfg)


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
    embedseg = ["E_offset", "E_sigma", "E_seediness"]
    checked = [(["F", "C"], "2D", 2), (["F", "C", "Db"], "3D", 2), (["F", "P"], "2D", 2),
               (["F", "C"], "2D", 3), (["F", "Dc"], "2D", 2), (embedseg, "2D", 2),
               (["F", "H", "V"], "2D", 2), (["F", "Gh", "Gv"], "2D", 2),
               (["F", "Gv", "Gh", "Gz"], "3D", 2), (["F", "Db"], "2D", 2)]  # fmt: skip
    for channels, ndim, classes in checked:
        try:
            resolve_config(checked_by_biapy(ndim, channels, classes))
        except ConfigError as error:
            print(f"the config a {ndim} {channels} checkpoint stores does not load: {error}")
            sys.exit(1)
        print(f"the config a {ndim} {channels} (N_CLASSES {classes}) checkpoint stores loads")
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
