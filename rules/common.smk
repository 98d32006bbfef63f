# Config validation, result paths and the image lists every rule shares.
import copy
import hashlib
import re
import shlex
import sys
from pathlib import Path

from stages.commands import STAGES, post_processing_steps, stage_slice
from stages.commands.common import (
    experiment_model_name,
    label_folder,
    split_images,
    starting_model,
)
from stages.commands.import_biapy import looks_like_biapy_checkpoint
from stages.config import ConfigError, dump_yaml, resolve_config
from stages.io import InputError, image_name, list_images, listing_folder
from stages.workflow import ImageFolders, RunPaths

try:
    CFG, _config_warnings = resolve_config(config)
except ConfigError as error:
    sys.exit(f"segpipe: invalid config: {error}")
for _warning in _config_warnings:
    logger.warning(f"segpipe: {_warning}")

RUN = CFG["RUN"]
RUN_PATHS = RunPaths.of(RUN["RESULT_DIR"], RUN["NAME"], RUN["ID"])
NAME = RUN_PATHS.name
EXPERIMENT = RUN_PATHS.experiment
RESULTS = RUN_PATHS.results
MODEL_DIR = RUN_PATHS.model_dir
STAGE_CONFIGS = RUN_PATHS.stage_configs
LOGS = RUN_PATHS.logs
BENCHMARKS = RESULTS / "benchmarks"  # Snakemake's per-job wall time and peak memory
CONDA_ENV = "../envs/segpipe.yaml"
NDIM = CFG["PROBLEM"]["NDIM"]
DEMO = RUN["DEMO_DATA"]
SHARDS = RUN["PREDICT_SHARDS"]
TRAIN_GPUS = RUN["TRAIN_GPUS"]
TRAIN_DATA, VAL_DATA, TEST_DATA = CFG["DATA"]["TRAIN"], CFG["DATA"]["VAL"], CFG["DATA"]["TEST"]
POST = CFG["TEST"]["POST_PROCESSING"]
#: per_image*/ folders, or full_image*/ when TEST.FULL_IMG predicts whole images
FOLDERS = ImageFolders.of(CFG["TEST"]["FULL_IMG"])
#: TEST.ANALIZE_2D_IMGS_AS_3D_STACK: the 2D test images are also decoded as one 3D stack
AS_3D_STACK = CFG["TEST"]["ANALIZE_2D_IMGS_AS_3D_STACK"]
# with a stack, the median filters (Z ones included) apply to the stack, not to each image
MEDIAN_FILTER = POST["MEDIAN_FILTER"] and not AS_3D_STACK
FILTER = POST["MEASURE_PROPERTIES"]["REMOVE_BY_PROPERTIES"]["ENABLE"]
MEASURE = POST["MEASURE_PROPERTIES"]["ENABLE"]
#: the label post-processing steps that are on, in order: each is a rule that reruns alone
#: when its keys change, and the last one writes per_image_post_processing/
POST_STEPS = post_processing_steps(CFG)
EVALUATE = CFG["TEST"]["ENABLE"] and TEST_DATA["LOAD_GT"] and CFG["TEST"]["MATCHING_STATS"]
OME_ZARR = RUN["OME_ZARR"]
#: TEST.BY_CHUNKS: each test image predicted block by block, in groups of blocks per job, into
#: a Zarr of channels that decode reads block by block
BY_CHUNKS = CFG["TEST"]["BY_CHUNKS"]["ENABLE"]
if BY_CHUNKS and (AS_3D_STACK or CFG["TEST"]["FULL_IMG"]):
    sys.exit(
        "segpipe: invalid config: TEST.BY_CHUNKS predicts each image block by block; it cannot "
        "be combined with TEST.ANALIZE_2D_IMGS_AS_3D_STACK or TEST.FULL_IMG"
    )
USE_VAL_FOLDER = not VAL_DATA["FROM_TRAIN"]
# MODEL.LOAD_CHECKPOINT with PATHS.CHECKPOINT_FILE, or MODEL.SOURCE bmz with a package:
# fine-tune that model, or predict with it
CHECKPOINT_FILE = starting_model(CFG)
# a checkpoint BiaPy saved: the import_biapy job turns it into a segpipe model first
BIAPY_CHECKPOINT = CHECKPOINT_FILE if looks_like_biapy_checkpoint(CHECKPOINT_FILE) else ""
if BIAPY_CHECKPOINT:
    CHECKPOINT_FILE = str(MODEL_DIR.parent / f"{Path(BIAPY_CHECKPOINT).stem}_imported.pt")
TRAINING = CFG["TRAIN"]["ENABLE"]
TUNE = RUN["TUNE_THRESHOLDS"]
if TUNE and not TRAINING:
    sys.exit(
        "segpipe: invalid config: RUN.TUNE_THRESHOLDS tunes on the validation data of a "
        "training run: set TRAIN.ENABLE true, or RUN.TUNE_THRESHOLDS false"
    )
TUNED_FILE = str(MODEL_DIR / "tuned_thresholds.json")
#: MODEL.BMZ.EXPORT.ENABLE: the model as a BioImage Model Zoo package
EXPORT_BMZ = CFG["MODEL"]["BMZ"]["EXPORT"]["ENABLE"]
BMZ_PACKAGE = str(MODEL_DIR / "bmz" / f"{RUN['NAME']}.zip")
MODEL_FILE = (
    CHECKPOINT_FILE
    if CHECKPOINT_FILE and not TRAINING
    else str(MODEL_DIR / ("model.pt" if TRAINING else experiment_model_name(CFG)))
)
if (
    CFG["TEST"]["ENABLE"]
    and not TRAINING
    and not BIAPY_CHECKPOINT
    and not Path(MODEL_FILE).exists()
):
    sys.exit(
        f"segpipe: invalid config: TRAIN.ENABLE is false but there is no model at {MODEL_FILE}; "
        "set MODEL.LOAD_CHECKPOINT: true and PATHS.CHECKPOINT_FILE to a segpipe model.pt (or "
        "MODEL.SOURCE: bmz and MODEL.BMZ.SOURCE_MODEL_ID to a package segpipe exported), or "
        "train (TRAIN.ENABLE: true)"
    )


# Nothing is written while the workflow is parsed: a run locked out by Snakemake (same
# folder) or by the experiment lock (another folder, same RESULT_DIR) must leave the running
# run's files alone. The stage configs are outputs of local rules instead, which rerun
# it when its text changes (rules/data.smk), so a stage config's mtime moves only with the
# keys its stage reads: a WATERSHED edit reruns decode, never training.
onstart:
    from stages.experiment_lock import ExperimentInUse, acquire

    try:
        acquire(EXPERIMENT, NAME)
    except ExperimentInUse as error:
        logger.error(f"segpipe: {error}")
        raise SystemExit(1)


onsuccess:
    from stages.experiment_lock import release

    release(EXPERIMENT, NAME)


onerror:
    from stages.experiment_lock import release

    release(EXPERIMENT, NAME)


def stage_config(stage):
    return str(STAGE_CONFIGS / f"{stage}.yaml")


def config_marker(path, text):
    """The empty file whose name records the digest of a config file's text."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return str(Path(path).parent / ".digests" / f"{Path(path).stem}-{digest}")


def stage_config_marker(stage):
    """A stage's config marker: an input beside its config, so that a changed text (a missing
    marker) reruns the config rule and with it the stage."""
    return config_marker(stage_config(stage), CONFIG_TEXTS[stage_config(stage)])


def config_rule_name(path):
    stem = re.sub(r"\W", "_", Path(path).stem)
    return f"config_{stem}"


RUN_CONFIG = str(EXPERIMENT / "config_files" / f"{NAME}.yaml")
CONFIG_TEXTS = {
    **{stage_config(stage): dump_yaml(stage_slice(CFG, stage)) for stage in STAGES},
    RUN_CONFIG: dump_yaml(CFG),
}
#: the stages that run on the stack of 2D test images, each with its slice of the config read
#: as 3D (stage configs <stage>_as_3d_stack.yaml), and the post-processing steps among them
STACK_STAGES = ()
STACK_POST_STEPS = []
if AS_3D_STACK:
    _stack_config = copy.deepcopy(CFG)
    _stack_config["PROBLEM"]["NDIM"] = "3D"
    _stack_config["TEST"]["ANALIZE_2D_IMGS_AS_3D_STACK"] = False
    # the test images' 2D regions of interest are not masks of their stack
    _stack_config["DATA"]["TEST"]["ROI_MASK"]["ENABLE"] = False
    for _step in POST_STEPS:
        try:  # a 2D-only property (circularity, elongation) has no meaning on the stack
            resolve_config(stage_slice(_stack_config, _step))
            STACK_POST_STEPS.append(_step)
        except ConfigError as error:
            logger.warning(f"segpipe: the 3D stack skips {_step}: {error}")
    STACK_STAGES = ("median_filter", "decode", *STACK_POST_STEPS, "evaluate")
    for _stage in STACK_STAGES:
        CONFIG_TEXTS[stage_config(f"{_stage}_as_3d_stack")] = dump_yaml(
            stage_slice(_stack_config, _stage)
        )


# ------------------------------------------------------------------ image lists
DEMO_TRAIN = [f"tile-{i}" for i in range(3)]
DEMO_TEST = ["tile-3"]

if DEMO:
    _root = Path(TRAIN_DATA["PATH"]).parent.parent
    _expected = {
        "DATA.TRAIN.PATH": _root / "train" / "raw",
        "DATA.TRAIN.GT_PATH": _root / "train" / "label",
        "DATA.TEST.PATH": _root / "test" / "raw",
        "DATA.TEST.GT_PATH": _root / "test" / "label",
    }
    _given = {
        "DATA.TRAIN.PATH": TRAIN_DATA["PATH"],
        "DATA.TRAIN.GT_PATH": TRAIN_DATA["GT_PATH"],
        "DATA.TEST.PATH": TEST_DATA["PATH"],
        "DATA.TEST.GT_PATH": TEST_DATA["GT_PATH"],
    }
    for _key, _path in _expected.items():
        if Path(_given[_key]) != _path:
            sys.exit(
                f"segpipe: invalid config: {_key} must be {_path} with RUN.DEMO_DATA {DEMO!r} "
                f"(the demo writes <root>/{{train,test}}/{{raw,label}})"
            )
    DEMO_ROOT = str(_root)


def _folder_files(folder, what):
    try:
        return [str(p) for p in list_images(folder, what)]
    except InputError as error:
        sys.exit(f"segpipe: {error}")


def _split_files(split, labels=False):
    """A split's raw (or label) images; with INPUT_ZARR_MULTIPLE_DATA the arrays inside the
    containers of its PATH."""
    try:
        return [str(p) for p in split_images(CFG, split, labels)]
    except InputError as error:
        sys.exit(f"segpipe: {error}")


def _demo_files(folder, names):
    return [str(Path(folder) / f"{n}.tif") for n in names]


if DEMO:
    TRAIN_RAW = _demo_files(TRAIN_DATA["PATH"], DEMO_TRAIN)
    TRAIN_LABEL = _demo_files(TRAIN_DATA["GT_PATH"], DEMO_TRAIN)
    TEST_RAW = _demo_files(TEST_DATA["PATH"], DEMO_TEST)
    TEST_LABEL = _demo_files(TEST_DATA["GT_PATH"], DEMO_TEST)
else:
    TRAIN_RAW = _split_files("TRAIN") if CFG["TRAIN"]["ENABLE"] else []
    TRAIN_LABEL = _split_files("TRAIN", labels=True) if CFG["TRAIN"]["ENABLE"] else []
    TEST_RAW = _split_files("TEST") if CFG["TEST"]["ENABLE"] else []
    TEST_LABEL = _split_files("TEST", labels=True) if EVALUATE else []
VAL_RAW = _split_files("VAL") if USE_VAL_FOLDER and CFG["TRAIN"]["ENABLE"] else []
VAL_LABEL = _split_files("VAL", labels=True) if USE_VAL_FOLDER and CFG["TRAIN"]["ENABLE"] else []

for _raws, _labels, _key in (
    (TRAIN_RAW, TRAIN_LABEL, "DATA.TRAIN"),
    (VAL_RAW, VAL_LABEL, "DATA.VAL"),
    (TEST_RAW, TEST_LABEL if EVALUATE else TEST_RAW, "DATA.TEST"),
):
    if len(_raws) != len(_labels):
        sys.exit(
            f"segpipe: {_key}.PATH holds {len(_raws)} image(s) but {_key}.GT_PATH holds "
            f"{len(_labels)}"
        )

#: the test images as given (overlays, measurements and the report read these)
IMAGES = {image_name(p): p for p in TEST_RAW}
if len(IMAGES) != len(TEST_RAW):
    sys.exit(f"segpipe: two test images in {TEST_DATA['PATH']} share a name apart from the suffix")

#: DATA.PREPROCESS: each raw image of the splits it names is preprocessed by its own job into
#: RESULTS/preprocessed/<subset>/raw/ (with RESIZE, training and validation labels are resized
#: alike into .../label/), and the stages after it read those; the channels predicted for a
#: resized test image are resized back to the image's shape before decoding
PREPROCESS_CFG = CFG["DATA"]["PREPROCESS"]
RESIZE_ON = PREPROCESS_CFG["RESIZE"]["ENABLE"]
#: subset -> image name -> (raw file, its label file when resized with it, else None)
PREPROCESS_SOURCES = {}
RAW_DIRS = {"train": TRAIN_DATA["PATH"], "val": VAL_DATA["PATH"]}
LABEL_DIRS = {"train": label_folder(TRAIN_DATA), "val": label_folder(VAL_DATA)}


def _preprocessed(subset, raws, labels):
    """The raw and label files a split's later stages read once it is preprocessed."""
    folder = RESULTS / "preprocessed" / subset
    with_labels = RESIZE_ON and subset != "test"
    PREPROCESS_SOURCES[subset] = {
        image_name(raw): (raw, label if with_labels else None)
        for raw, label in zip(raws, labels if with_labels else [None] * len(raws))
    }
    if with_labels:
        # named by the raw image's stem: the pairs keep their order in both folders
        labels = [str(folder / "label" / f"{image_name(raw)}.tif") for raw in raws]
        LABEL_DIRS[subset] = str(folder / "label")
    raws = [str(folder / "raw" / f"{image_name(raw)}.tif") for raw in raws]
    if subset in RAW_DIRS:
        RAW_DIRS[subset] = str(folder / "raw")
    return raws, labels


if PREPROCESS_CFG["TRAIN"] and TRAIN_RAW:
    TRAIN_RAW, TRAIN_LABEL = _preprocessed("train", TRAIN_RAW, TRAIN_LABEL)
if PREPROCESS_CFG["VAL"] and VAL_RAW:
    VAL_RAW, VAL_LABEL = _preprocessed("val", VAL_RAW, VAL_LABEL)
#: what prediction reads of each test image
PREDICT_INPUT = dict(IMAGES)
if PREPROCESS_CFG["TEST"] and TEST_RAW:
    PREDICT_INPUT = dict(zip(IMAGES, _preprocessed("test", list(IMAGES.values()), [])[0]))
#: the test images' channels are predicted at another shape and resized back
RESIZE_BACK = bool(PREPROCESS_CFG["TEST"] and RESIZE_ON and TEST_RAW)
#: MATCH_HISTOGRAM: its reference images are pooled once (rule reference_histogram) into the
#: histogram every preprocess job reads, instead of each job reading them all
HISTOGRAM_REFERENCE_FILES = []
REFERENCE_HISTOGRAM = []
if PREPROCESS_SOURCES and PREPROCESS_CFG["MATCH_HISTOGRAM"]["ENABLE"]:
    _reference = Path(PREPROCESS_CFG["MATCH_HISTOGRAM"]["REFERENCE_PATH"])
    if not _reference.exists():
        sys.exit(
            f"segpipe: DATA.PREPROCESS.MATCH_HISTOGRAM.REFERENCE_PATH {_reference} does not exist: "
            "set it to the image, or folder of images, whose histogram the others are matched to"
        )
    HISTOGRAM_REFERENCE_FILES = (
        _folder_files(_reference, "histogram reference folder")
        if _reference.is_dir()
        else [str(_reference)]
    )
    REFERENCE_HISTOGRAM = [str(RESULTS / "preprocessed" / "reference_histogram.npz")]

LABEL_FILES = {
    "train": {image_name(p): p for p in TRAIN_LABEL},
    "val": {image_name(p): p for p in VAL_LABEL},
}


#: the test images of each predict job (RUN.PREDICT_IMAGES_PER_JOB), in name order
PREDICT_GROUPS = [
    sorted(IMAGES)[start : start + RUN["PREDICT_IMAGES_PER_JOB"]]
    for start in range(0, len(IMAGES), RUN["PREDICT_IMAGES_PER_JOB"])
]
_PREDICT_GROUP_OF = {name: g for g, names in enumerate(PREDICT_GROUPS) for name in names}


def patch_folders(image):
    """The predict outputs (one folder per shard) that hold ``image``'s patch files."""
    return [
        str(RESULTS / "patches" / f"group{_PREDICT_GROUP_OF[image]}.shard{shard}of{SHARDS}")
        for shard in range(1, SHARDS + 1)
    ]


def _alternatives(names):
    return "|".join(re.escape(n) for n in sorted(names)) or "^$"


wildcard_constraints:
    image=_alternatives(IMAGES),
    split="train|val",
    shard=r"\d+",
    group=r"\d+",


def shell_words(words):
    """Command-line words quoted for the shell: paths with spaces, quotes or $() stay one word."""
    return " ".join(shlex.quote(str(word)) for word in words)


def option_per_file(option, files):
    """``[option, file, option, file, ...]``: a command's repeated option, one per file."""
    return [word for path in files for word in (option, path)]


#: DATA.<split>.IN_MEMORY false: training reads patches from disk and encodes each itself
IN_MEMORY = {"train": TRAIN_DATA["IN_MEMORY"], "val": VAL_DATA["IN_MEMORY"]}


def channel_files(split, labels):
    """Encoded channels of each label file (named by the label's stem); none for a split read
    patch by patch from disk."""
    if not IN_MEMORY[split]:
        return []
    return [str(RESULTS / "channels" / split / f"{image_name(p)}.tif") for p in labels]


def folder_of(files):
    """The folder of a declared file (or of the first of a list): commands take folders, rules
    declare files."""

    def folder(wildcards, input, output):
        found = files(input, output)
        return str(listing_folder(found if isinstance(found, str) else found[0]))

    return folder


# ------------------------------------------------------------------ final labels per image
#: decoded instances: a TIFF, or with BY_CHUNKS a Zarr written block by block
INSTANCES_SUFFIX = ".zarr" if BY_CHUNKS else ".tif"


def instances(image):
    return str(RESULTS / FOLDERS.instances / f"{image}{INSTANCES_SUFFIX}")


def channels_file(image):
    """The predicted channels of ``image``: a TIFF, or with BY_CHUNKS a Zarr filled by blocks."""
    return str(RESULTS / FOLDERS.channels / f"{image}{'.zarr' if BY_CHUNKS else '.tif'}")


def block_plan(image):
    return str(RESULTS / "blocks" / f"{image}.plan.json")


def predicted_block_groups(wildcards):
    """With BY_CHUNKS, the markers of every predict_blocks job of an image (their number comes
    from its plan, a checkpoint); else nothing."""
    if not BY_CHUNKS:
        return []
    import json

    plan = checkpoints.plan_blocks.get(image=wildcards.image).output.plan
    groups = len(json.loads(Path(plan).read_text())["groups"])
    return [
        str(RESULTS / "blocks" / wildcards.image / f"group{g}.json") for g in range(1, groups + 1)
    ]


def decoded_block_groups(wildcards):
    """The parts of every decode_blocks job of an image (their number comes from its decoding
    plan, a checkpoint)."""
    import json

    plan = checkpoints.plan_decode.get(image=wildcards.image).output[0]
    groups = len(json.loads(Path(plan).read_text())["groups"])
    return [
        str(RESULTS / "blocks" / wildcards.image / f"labels{g}.zarr") for g in range(1, groups + 1)
    ]


def median_filtered_file(image):
    """The median-filtered channels of ``image``: a TIFF, or with BY_CHUNKS a Zarr."""
    return str(RESULTS / FOLDERS.median_filtered / f"{image}{'.zarr' if BY_CHUNKS else '.tif'}")


def decode_input(image):
    """The channels decode reads: median-filtered when MEDIAN_FILTER is on."""
    if MEDIAN_FILTER:
        return median_filtered_file(image)
    return channels_file(image)


#: with BY_CHUNKS, every step writes a Zarr block by block (never reading a volume whole)
BLOCKWISE_STEPS = ("refine", "repair_large_blobs", "filter_by_properties") if BY_CHUNKS else ()


def post_step_output(step):
    """Where a post-processing step writes: per_image_post_processing/ for the last step on,
    post_processing_steps/<step>/ for the others."""
    name = "{image}" + (".zarr" if step in BLOCKWISE_STEPS else ".tif")
    if POST_STEPS and step == POST_STEPS[-1]:
        return str(RESULTS / FOLDERS.post_processing / name)
    return str(RESULTS / "post_processing_steps" / step / name)


def post_step_input(step):
    """What a post-processing step reads: the output of the step on before it, else the
    decoded instances."""
    before = POST_STEPS[: POST_STEPS.index(step)] if step in POST_STEPS else []
    if before:
        return post_step_output(before[-1])
    return str(RESULTS / FOLDERS.instances / f"{{image}}{INSTANCES_SUFFIX}")


def final_labels(image):
    if POST_STEPS:
        return post_step_output(POST_STEPS[-1]).format(image=image)
    return instances(image)


#: ground truth of each test image (paired in order, as evaluate pairs them)
TRUTH = {image_name(raw): label for raw, label in zip(TEST_RAW, TEST_LABEL)} if EVALUATE else {}
#: the matching threshold whose association image the overlays show (None: no image)
ASSOCIATION_THRESHOLD = (
    CFG["TEST"]["MATCHING_STATS_THS_COLORED_IMG"][0]
    if EVALUATE and CFG["TEST"]["MATCHING_STATS_THS_COLORED_IMG"]
    else None
)
#: the test images drawn for the report
REPORT_IMAGES = sorted(IMAGES)[: RUN["REPORT_IMAGES"]]


def association_image(image):
    """The RGB association image evaluate writes for the final labels of ``image``."""
    stem = image + ("_post" if POST_STEPS else "")
    # by blocks, evaluate writes the picture into a Zarr block by block
    name = f"{stem}_th_{ASSOCIATION_THRESHOLD:g}_associations{'.zarr' if BY_CHUNKS else '.tif'}"
    return str(RESULTS / "point_associations" / name)


# ------------------------------------------------------------------ the 2D stack
STACK = RESULTS / "as_3d_stack"
STACK_IMAGES = sorted(IMAGES)


#: the command of each post-processing step
STEP_COMMANDS = {
    "refine": "refine",
    "repair_large_blobs": "repair-large-blobs",
    "filter_by_properties": "filter-by-properties",
}


def stack_step_output(step):
    """Where a post-processing step of the stack writes: post_processing.tif for the last."""
    if step == STACK_POST_STEPS[-1]:
        return str(STACK / "post_processing.tif")
    return str(STACK / "post_processing_steps" / f"{step}.tif")


def stack_step_input(step):
    """What a post-processing step of the stack reads: the step before it, else instances."""
    before = STACK_POST_STEPS[: STACK_POST_STEPS.index(step)]
    return stack_step_output(before[-1]) if before else str(STACK / "instances.tif")


def stack_labels():
    """The stack's final labels: post-processed when a step is on."""
    name = "post_processing.tif" if STACK_POST_STEPS else "instances.tif"
    return str(STACK / name)


def final_outputs():
    outputs = [RUN_CONFIG, config_marker(RUN_CONFIG, CONFIG_TEXTS[RUN_CONFIG])]
    if CFG["TRAIN"]["ENABLE"]:
        outputs.append(str(MODEL_DIR / "model.pt"))
    if CFG["TEST"]["ENABLE"]:
        outputs += [final_labels(i) for i in IMAGES]
        if FILTER:  # its step measures: all instances, then those kept
            for i in IMAGES:
                outputs.append(str(RESULTS / FOLDERS.instances / f"{i}_full_stats.csv"))
                outputs.append(str(RESULTS / FOLDERS.post_processing / f"{i}_filtered_stats.csv"))
        elif MEASURE:
            outputs += [str(Path(final_labels(i)).with_name(f"{i}_full_stats.csv")) for i in IMAGES]
        if EVALUATE:
            outputs.append(str(RESULTS / "test_results_metrics.csv"))
        if AS_3D_STACK:
            outputs.append(stack_labels())
            if EVALUATE:
                outputs.append(str(STACK / "test_results_metrics.csv"))
        outputs += [str(RESULTS / "charts" / f"{i}_overlay.png") for i in REPORT_IMAGES]
        if OME_ZARR:
            outputs += [str(RESULTS / "ome_zarr" / f"{i}.zarr") for i in IMAGES]
    if EXPORT_BMZ:
        outputs.append(BMZ_PACKAGE)
    return outputs
