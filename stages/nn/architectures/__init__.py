"""Every network segpipe builds, one module each, registered under BiaPy's MODEL.ARCHITECTURE
names. Importing the package registers them all."""

from . import (  # noqa: F401  (each module registers its architectures)
    attention_unet,
    hrnet,
    multiresunet,
    resunet,
    resunet_plus_plus,
    seunet,
    stunet,
    unet,
    unetr,
    unext,
)
from .registry import ARCHITECTURES, register_architecture

__all__ = ["ARCHITECTURES", "register_architecture"]
