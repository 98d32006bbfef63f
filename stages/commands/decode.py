"""segpipe decode: predicted channels -> instance labels (watershed, StarDist NMS, EmbedSeg
clustering or gradient-flow following)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from .common import chunk_block, chunk_halo, clear_errors, config_option, ndim_of


@dataclass(frozen=True)
class DecodeSettings:
    """What decode takes from a config: each decoder's settings and what surrounds them."""

    requested: str
    decoders: dict
    save_watershed_maps: bool
    channel_options: dict
    ndim: int
    #: VORONOI_TH when TEST.POST_PROCESSING.VORONOI_ON_MASK is set, else None
    voronoi_threshold: float | None = None
    #: TEST.BY_CHUNKS: (block size, halo) per spatial axis, else None
    blocks: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    #: DATA.TEST.ROI_MASK: the mask (file or folder) and its axes order, else None
    roi: tuple[str, str] | None = None
    #: TEST.BY_CHUNKS.DECODE_BLOCKS_PER_JOB: the blocks one `segpipe decode-blocks` job decodes
    blocks_per_job: int = 32


def settings_from_config(config) -> DecodeSettings:
    from ..config import whole
    from ..decode import EmbedSegSettings, StarDistSettings, WatershedSettings

    seg = config["PROBLEM"]["INSTANCE_SEG"]
    shed, star, embed = seg["WATERSHED"], seg["STARDIST"], seg["EMBEDSEG"]
    post = config["TEST"]["POST_PROCESSING"]
    block = chunk_block(config)
    roi = config["DATA"]["TEST"]["ROI_MASK"]
    watershed = WatershedSettings(
        seed_channels=tuple(shed["SEED_CHANNELS"]),
        seed_thresholds=tuple(shed["SEED_CHANNELS_THRESH"]),
        surface_channel=shed["TOPOGRAPHIC_SURFACE_CHANNEL"],
        growth_channels=tuple(shed["GROWTH_MASK_CHANNELS"]),
        growth_thresholds=tuple(shed["GROWTH_MASK_CHANNELS_THRESH"]),
        seed_morph_sequence=tuple(shed["SEED_MORPH_SEQUENCE"]),
        seed_morph_radius=tuple(shed["SEED_MORPH_RADIUS"]),
        erode_and_dilate_growth_mask=shed["ERODE_AND_DILATE_GROWTH_MASK"],
        fore_erosion_radius=shed["FORE_EROSION_RADIUS"],
        fore_dilation_radius=shed["FORE_DILATION_RADIUS"],
        remove_small_before=shed["DATA_REMOVE_SMALL_OBJ_BEFORE"],
        remove_before=shed["DATA_REMOVE_BEFORE_MW"],
        by_2d_slices=shed["BY_2D_SLICES"],
        fragment_fraction=shed["MERGE_FRAGMENTS_BELOW"],
        label_unseeded=shed["LABEL_UNSEEDED_FOREGROUND"],
    )
    stardist = StarDistSettings(
        prob_thresh=star["PROB_THRESH"],
        nms_thresh=star["NMS_IOU_THRESH"],
        overlap=star["NMS_OVERLAP"],
    )
    embedseg = EmbedSegSettings(
        seed_thresh=embed["SEED_THRESH"],
        fg_thresh=embed["FG_THRESH"],
        min_mask_sum=embed["MIN_MASK_SUM"],
        min_unclustered_sum=embed["MIN_UNCLUSTERED_SUM"],
        min_object_size=embed["MIN_OBJECT_SIZE"],
    )
    decoders = {"watershed": watershed, "stardist": stardist, "embeddings": embedseg}
    if "Gv" in seg["DATA_CHANNELS"]:
        # read only for flows: the flow sections of another channel set are not its inputs
        decoders["gradient-flow"] = _gradient_flow_settings(seg)
    return DecodeSettings(
        requested=seg["INSTANCE_CREATION_PROCESS"],
        decoders=decoders,
        save_watershed_maps=shed["DATA_CHECK_MW"],
        channel_options=whole(seg["DATA_CHANNELS_EXTRA_OPTS"]),
        ndim=ndim_of(config),
        voronoi_threshold=float(post["VORONOI_TH"]) if post["VORONOI_ON_MASK"] else None,
        blocks=(block, chunk_halo(config)) if block else None,
        roi=(roi["PATH"], roi["AXES_ORDER"]) if roi["ENABLE"] else None,
        blocks_per_job=config["TEST"]["BY_CHUNKS"]["DECODE_BLOCKS_PER_JOB"] if block else 32,
    )


def _gradient_flow_settings(seg):
    from ..decode import GradientFlowSettings

    cellpose, mask_threshold = seg["CELLPOSE"], 0.0
    if (seg["DATA_CHANNELS_EXTRA_OPTS"].get("Gv") or {}).get("gradient_type") == "omnipose":
        # BiaPy reads the Omnipose section for Omnipose's flows (NITER 0: its own count)
        omnipose = seg["OMNIPOSE"]
        flow_threshold, steps = omnipose["FLOW_THRESHOLD"], omnipose["NITER"] or 200
        mask_threshold = omnipose["MASK_THRESHOLD"]
    else:
        flow_threshold, steps = cellpose["FLOW_THRESHOLD"], cellpose["N_STEPS"]
    return GradientFlowSettings(
        fg_thresh=cellpose["FG_THRESH"],
        flow_threshold=flow_threshold,
        n_steps=steps,
        mask_threshold=mask_threshold,
    )


def with_tuned_thresholds(decoders: dict, tuned_path: str) -> dict:
    """``decoders`` with the thresholds `segpipe tune` wrote into ``tuned_path`` for its one."""
    import json
    from dataclasses import replace

    from ..decode import DECODERS
    from ..io import InputError

    try:
        tuned = json.loads(Path(tuned_path).read_text())
        name, thresholds = tuned["decoder"], tuned["thresholds"]
        base = decoders.get(name) or DECODERS[name].settings()
        chosen = replace(
            base, **{k: tuple(v) if isinstance(v, list) else v for k, v in thresholds.items()}
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(
            f"{tuned_path}: not a thresholds file of `segpipe tune` ({error})"
        ) from None
    return {**decoders, name: chosen}


@dataclass
class DecodeInput:
    """Channels as decode reads them, and what travels with them."""

    channels: object  # an array, or a lazy one that slices (a Zarr read block by block)
    planes: list[str]
    info: object  # the file's ImageInfo
    channel_options: dict  # the encoder options the channels were made with
    roi_mask: Path | None  # the region-of-interest mask the channels were zeroed outside of


def open_decode_input(
    channels_path: str,
    settings: DecodeSettings,
    roi_path: str | None,
    config_path: str | None,
    lazy: bool,
) -> DecodeInput:
    """Open CHANNELS_PATH for decoding (``lazy``: a Zarr is left on disk), check its rank
    against the config's, and zero it outside the region of interest (``--roi``, else the
    config's DATA.TEST.ROI_MASK)."""
    import numpy as np

    from ..io import open_channels, read_channels
    from .common import data_rank, log

    channels, planes, info = (open_channels if lazy else read_channels)(channels_path)
    expected = data_rank(None, settings.ndim, config_path)
    if expected is not None and channels.ndim - 1 != expected:
        raise click.ClickException(
            f"{channels_path}: {channels.ndim - 1}D channels, but PROBLEM.NDIM of {config_path} "
            f"is {expected}D"
        )
    roi = (roi_path, "") if roi_path else settings.roi
    mask_path = None
    if roi is not None:
        from ..roi import ChannelsInRegion, read_roi_mask, roi_mask_file, roi_region

        try:
            mask_path = roi_mask_file(roi[0], Path(channels_path).stem)
            mask = read_roi_mask(mask_path, channels.ndim - 1, roi[1])
            if isinstance(channels, np.ndarray):
                channels = channels * roi_region(mask, channels.shape[1:])[np.newaxis]
            else:  # on disk: zeroed block by block as they are read
                channels = ChannelsInRegion(channels, mask)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        log.info("%s: channels zeroed outside the region of interest %s", channels_path,
                 mask_path)  # fmt: skip
    # the options the channels were made with travel in the file; the config's are the fallback
    channel_options = info.metadata.get("channel_options") or settings.channel_options
    return DecodeInput(channels, planes, info, channel_options, mask_path)


#: the options decode and plan-decode share
tuned_option = click.option(
    "--tuned",
    "tuned_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Thresholds from `segpipe tune` (JSON), used instead of the config's for its decoder.",
)
roi_option = click.option(
    "--roi",
    "roi_path",
    type=click.Path(),
    default=None,
    help="Region of interest: a mask (non-zero inside; any shape, scaled to the image) or a "
    "folder of masks named as the images; the channels are zeroed outside it "
    "[default: DATA.TEST.ROI_MASK.PATH with ROI_MASK.ENABLE].",
)


@click.command(name="decode")
@click.argument("channels_path", type=click.Path())
@click.argument("out_path", type=click.Path())
@click.option(
    "--debug-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where WATERSHED.DATA_CHECK_MW writes seed_map.tif, semantic.tif and foreground.tif "
    "[default: beside OUT_PATH in watershed/<name>/].",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="CPU threads for the compiled kernels (StarDist's NMS) [default: all cores].",
)
@tuned_option
@roi_option
@config_option
@clear_errors
def command(
    channels_path: str,
    out_path: str,
    debug_dir: str | None,
    threads: int | None,
    tuned_path: str | None,
    roi_path: str | None,
    config_path: str | None,
) -> None:
    """Decode CHANNELS_PATH (written by `segpipe reconstruct` or `segpipe encode`, or the Zarr of
    `segpipe predict-blocks`) into the label image OUT_PATH.

    The channel planes come from the file's metadata and pick the decoder (R: StarDist
    NMS, E: EmbedSeg clustering, else the watershed) unless
    PROBLEM.INSTANCE_SEG.INSTANCE_CREATION_PROCESS names one; its WATERSHED, STARDIST
    and EMBEDSEG sections set the decoder (empty watershed lists are inferred).
    """
    from ..threads import limit_threads

    limit_threads(threads)
    from contextlib import ExitStack

    import numpy as np

    from ..containers import create_label_store, is_container
    from ..decode import decode_channels
    from ..decode.blocks import decode_channels_by_blocks
    from ..io import (
        atomic_directory,
        json_ready,
        provenance,
        write_json,
        write_labels,
        write_tiff,
    )
    from .common import log, settings_for

    settings = settings_for("decode", config_path)
    # a Zarr of labels is filled block by block: no whole label volume is ever held
    to_store = is_container(out_path)
    if to_store and (settings.blocks is None or settings.voronoi_threshold is not None):
        raise click.ClickException(
            f"{out_path}: labels are written into a Zarr block by block: set "
            "TEST.BY_CHUNKS.ENABLE (with TEST.POST_PROCESSING.VORONOI_ON_MASK off), or write "
            "a TIFF"
        )
    # by blocks, a Zarr of channels stays on disk and is read block by block
    found = open_decode_input(
        channels_path, settings, roi_path, config_path, lazy=settings.blocks is not None
    )
    channels, planes, info = found.channels, found.planes, found.info
    channel_options = found.channel_options
    decoders = (
        with_tuned_thresholds(settings.decoders, tuned_path) if tuned_path else settings.decoders
    )
    with ExitStack() as stack:
        store = None
        if to_store:
            folder = stack.enter_context(atomic_directory(out_path))
            store = create_label_store(folder, channels.shape[1:], settings.blocks[0])
        try:
            if settings.blocks is None:
                result = decode_channels(
                    channels, planes, decoders, channel_options, requested=settings.requested
                )
            else:
                block, halo = settings.blocks
                result = decode_channels_by_blocks(
                    channels, planes, block, halo, decoders, channel_options,
                    settings.requested, out=store,
                )  # fmt: skip
                cut = result.settings["by_blocks"]["cut"]
                if cut:
                    log.warning(
                        "%d instance(s) reached the edge of their block's halo %s and may be "
                        "cut: raise TEST.BY_CHUNKS.HALO above twice the largest instance",
                        cut,
                        list(halo),
                    )
        except ValueError as error:
            raise click.ClickException(f"{channels_path}: {error}") from None
        metadata = {
            "source": str(channels_path),
            "decoder": result.decoder,
            "settings": result.settings,
            "voronoi_threshold": settings.voronoi_threshold,
            "versions": provenance(),
        }
        if store is not None:
            objects = result.settings["by_blocks"]["objects"]
            spacing = list(info.spacing) if info.spacing else None
            store.attrs.update(json_ready({**metadata, "spacing": spacing, "objects": objects}))
            click.echo(f"{out_path}: {objects} instance(s) ({result.decoder}, by blocks)")
            return
    labels, classes = result.labels, result.classes
    if settings.voronoi_threshold is not None:
        from ..decode.voronoi import voronoi_mask, voronoi_on_mask
        from ..labels.classes import classes_by_majority

        try:
            mask = voronoi_mask(np.asarray(channels), planes, settings.voronoi_threshold)
        except ValueError as error:
            raise click.ClickException(f"{channels_path}: {error}") from None
        labels = voronoi_on_mask(labels, mask)
        if classes is not None:
            classes = classes_by_majority(labels, classes)
    if result.debug and settings.save_watershed_maps:
        folder = (
            Path(debug_dir)
            if debug_dir
            else Path(out_path).parent.parent / "watershed" / Path(out_path).stem
        )
        for name, array in result.debug().items():
            write_tiff(folder / f"{name}.tif", array, spacing=info.spacing)
        write_json(folder / "settings.json", result.settings)
    write_labels(
        out_path,
        labels,
        classes=classes,
        spacing=info.spacing,
        metadata=metadata,
    )
    click.echo(f"{out_path}: {int(labels.max())} instance(s) ({result.decoder})")
