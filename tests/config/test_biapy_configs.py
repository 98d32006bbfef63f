"""Configs written for this test with the keys of ten of BiaPy's public instance segmentation
templates and paper configs (issue 14, item 6): each loads, and reads as BiaPy 3.7.1 reads it.
The values are this test's own; the keys, their nesting and their older spellings are those
the real files use."""

import pytest

from stages.config import ConfigError, resolve_config

SEG = {"TYPE": "INSTANCE_SEG"}

TEMPLATE_2D = {  # templates/instance_segmentation/2d_instance_segmentation.yaml
    "SYSTEM": {"NUM_CPUS": -1, "NUM_WORKERS": 4},
    "PROBLEM": {
        **SEG,
        "NDIM": "2D",
        "INSTANCE_SEG": {"DATA_CHANNELS": "BC", "DATA_MW_TH_TYPE": "auto"},
    },
    "DATA": {
        "PATCH_SIZE": "(128, 128, 1)",
        "TRAIN": {"PATH": "a", "GT_PATH": "b", "IN_MEMORY": True},
        "VAL": {"SPLIT_TRAIN": 0.2},
        "TEST": {
            "PATH": "c",
            "GT_PATH": "d",
            "IN_MEMORY": True,
            "LOAD_GT": True,
            "PADDING": "(16,16)",
        },
    },
    "AUGMENTOR": {"ENABLE": True, "RANDOM_ROT": True, "VFLIP": True, "HFLIP": True},
    "MODEL": {"ARCHITECTURE": "unet", "LOAD_CHECKPOINT": False},
    "TRAIN": {
        "ENABLE": True,
        "OPTIMIZER": "ADAMW",
        "LR": "1.E-3",
        "BATCH_SIZE": 4,
        "EPOCHS": 10,
        "PATIENCE": 5,
    },
    "TEST": {"ENABLE": True, "AUGMENTATION": True, "FULL_IMG": False},
}
TEMPLATE_3D = {  # templates/instance_segmentation/3d_instance_segmentation.yaml
    **TEMPLATE_2D,
    "PROBLEM": {
        **SEG,
        "NDIM": "3D",
        "INSTANCE_SEG": {"DATA_CHANNELS": "BC", "DATA_MW_TH_TYPE": "auto"},
    },
    "DATA": {
        "PATCH_SIZE": "(16, 64, 64, 1)",
        "TRAIN": {"PATH": "a", "GT_PATH": "b", "IN_MEMORY": True},
        "VAL": {"SPLIT_TRAIN": 0.2},
        "TEST": {"PATH": "c", "GT_PATH": "d", "LOAD_GT": True, "PADDING": "(2,8,8)"},
    },
    "AUGMENTOR": {"ENABLE": True, "RANDOM_ROT": True, "VFLIP": True, "HFLIP": True, "ZFLIP": True},
    "MODEL": {"ARCHITECTURE": "unet", "FEATURE_MAPS": [8, 16, 32], "Z_DOWN": [1, 1]},
}
CARTOCELL = {  # CartoCell_paper/cartocell_training_latest.yaml
    "SYSTEM": {"NUM_WORKERS": 2},
    "PROBLEM": {
        **SEG,
        "NDIM": "3D",
        "INSTANCE_SEG": {
            "DATA_CHANNELS": "BCM",
            "DATA_MW_TH_TYPE": "manual",
            "DATA_MW_TH_BINARY_MASK": 0.3,
            "DATA_MW_TH_CONTOUR": 0.1,
            "DATA_MW_TH_FOREGROUND": 0.4,
            "DATA_REMOVE_BEFORE_MW": True,
            "DATA_REMOVE_SMALL_OBJ_BEFORE": 8,
        },
    },
    "DATA": {
        "PATCH_SIZE": "(32, 32, 32, 1)",
        "TRAIN": {"PATH": "a", "GT_PATH": "b", "IN_MEMORY": True},
        "VAL": {"FROM_TRAIN": False, "PATH": "e", "GT_PATH": "f"},
        "TEST": {"PATH": "c", "GT_PATH": "d", "LOAD_GT": True, "PADDING": "(4,4,4)"},
    },
    "AUGMENTOR": {
        "ENABLE": True,
        "RANDOM_ROT": True,
        "ZFLIP": True,
        "ELASTIC": True,
        "BRIGHTNESS": True,
        "BRIGHTNESS_FACTOR": "(0.05, 0.1)",
    },
    "MODEL": {
        "ARCHITECTURE": "resunet",
        "FEATURE_MAPS": [16, 24, 32],
        "Z_DOWN": [1, 1],
        "DROPOUT_VALUES": [0.1, 0.1, 0.1],
    },
    "LOSS": {"CLASS_REBALANCE": True},
    "TEST": {"ENABLE": False, "POST_PROCESSING": {"VORONOI_ON_MASK": True}},
}
CARTOCELL_INFERENCE = {  # CartoCell_paper/cartocell_inference_latest.yaml
    **CARTOCELL,
    "MODEL": {**CARTOCELL["MODEL"], "LOAD_CHECKPOINT": True},
    "PATHS": {"CHECKPOINT_FILE": "models/cartocell.pt"},
    "TRAIN": {"ENABLE": False, "LR_SCHEDULER": {"NAME": "onecycle"}},
    "TEST": {"ENABLE": True, "POST_PROCESSING": {"VORONOI_ON_MASK": True, "CLEAR_BORDER": False}},
}
MITOEM = {  # MitoEM_paper/mitoem.yaml: GT_PATH's older name and TEST.STATS
    "SYSTEM": {"NUM_CPUS": 2},
    "PROBLEM": {
        **SEG,
        "NDIM": "2D",
        "INSTANCE_SEG": {
            "DATA_CHANNELS": "BC",
            "DATA_MW_TH_BINARY_MASK": 0.2,
            "DATA_MW_TH_CONTOUR": 0.05,
        },
    },
    "DATA": {
        "PATCH_SIZE": "(128, 128, 1)",
        "CHECK_GENERATORS": False,
        "TRAIN": {"PATH": "a", "MASK_PATH": "b"},
        "VAL": {"PATH": "e", "MASK_PATH": "f", "FROM_TRAIN": False},
        "TEST": {"PATH": "c", "MASK_PATH": "d", "LOAD_GT": False},
    },
    "AUGMENTOR": {"ENABLE": True, "ELASTIC": True, "CONTRAST": True},
    "MODEL": {
        "ARCHITECTURE": "unet",
        "DROPOUT_VALUES": [0.1, 0.1, 0.1, 0.2, 0.2],
        "ACTIVATION": "elu",
    },
    "TRAIN": {"OPTIMIZER": "ADAM"},
    "TEST": {
        "STATS": {"PER_PATCH": True, "MERGE_PATCHES": True, "FULL_IMG": False},
        "VERBOSE": True,
    },
}
SPINEDL = {  # SpineDL_paper/spinedl-neuron-training.yaml
    "PROBLEM": {
        **SEG,
        "NDIM": "2D",
        "INSTANCE_SEG": {
            "DATA_CHANNELS": ["F", "P"],
            "DATA_CHANNEL_WEIGHTS": [1, 3],
            "WATERSHED": {
                "SEED_CHANNELS": ["P"],
                "SEED_CHANNELS_THRESH": [0.4],
                "TOPOGRAPHIC_SURFACE_CHANNEL": "F",
                "GROWTH_MASK_CHANNELS": ["F"],
                "GROWTH_MASK_CHANNELS_THRESH": [0.6],
            },
            "DATA_CHECK_MW": False,
        },
    },
    "DATA": {
        "PATCH_SIZE": "(128, 128, 2)",
        "REFLECT_TO_COMPLETE_SHAPE": True,
        "NORMALIZATION": {
            "TYPE": "div",
            "PERC_CLIP": {"ENABLE": True, "LOWER_PERC": 0.5, "UPPER_PERC": 99.5},
        },
        "TRAIN": {
            "PATH": "a",
            "GT_PATH": "b",
            "FILTER_SAMPLES": {
                "ENABLE": True,
                "PROPS": [["mean"]],
                "VALUES": [[0.1]],
                "SIGNS": [["lt"]],
                "NORM_BEFORE": True,
            },
        },
        "VAL": {"FROM_TRAIN": False, "PATH": "e", "GT_PATH": "f"},
        "TEST": {"PATH": "c", "LOAD_GT": False, "PADDING": "(16,16)"},
    },
    "AUGMENTOR": {
        "ENABLE": True,
        "ZOOM": True,
        "ZOOM_RANGE": "(0.9, 1.1)",
        "AFFINE_MODE": "reflect",
    },
    "MODEL": {"ARCHITECTURE": "hrnet32", "HRNET": {"HEAD_TYPE": "FCN"}},
    "TRAIN": {
        "LR_SCHEDULER": {"NAME": "warmupcosine", "MIN_LR": "1.E-5", "WARMUP_COSINE_DECAY_EPOCHS": 3}
    },
    "LOSS": {"CLASS_REBALANCE": "auto"},
    "TEST": {
        "POST_PROCESSING": {
            "INSTANCE_REFINEMENT": {
                "ENABLE": True,
                "OPERATIONS": ["remove_small_objects", "fill_holes"],
                "VALUES": [15, "none"],
            }
        }
    },
}
OVARIAN = {  # Ovarian_Reserve_paper/ovarian_reserve_training.yaml
    "PROBLEM": {
        **SEG,
        "NDIM": "3D",
        "INSTANCE_SEG": {
            "DATA_CHANNELS": "BCD",
            "DATA_MW_TH_TYPE": "auto",
            "DATA_REMOVE_SMALL_OBJ_BEFORE": 20,
            "DATA_REMOVE_BEFORE_MW": True,
        },
    },
    "DATA": {
        "PATCH_SIZE": "(16, 64, 64, 1)",
        "CHECK_GENERATORS": False,
        "EXTRACT_RANDOM_PATCH": False,
        "TRAIN": {"PATH": "a", "GT_PATH": "b"},
        "VAL": {"FROM_TRAIN": False, "PATH": "e", "GT_PATH": "f"},
        "TEST": {
            "PATH": "c",
            "LOAD_GT": False,
            "RESOLUTION": "(2,0.5,0.5)",
            "CHECK_DATA": False,
            "PADDING": "(2,8,8)",
            "OVERLAP": "(0,0,0)",
            "FILTER_SAMPLES": {
                "ENABLE": True,
                "PROPS": [["mean"]],
                "VALUES": [[10.0]],
                "SIGNS": [["lt"]],
            },
        },
    },
    "AUGMENTOR": {"DA_PROB": 0.3, "ENABLE": True, "GRIDMASK": True, "GRID_RATIO": 0.5},
    "MODEL": {
        "ARCHITECTURE": "resunet",
        "FEATURE_MAPS": [16, 24, 32, 40],
        "Z_DOWN": [1, 1, 1],
        "DROPOUT_VALUES": [0, 0, 0, 0],
    },
    "LOSS": {"TYPE": "CE"},
    "TRAIN": {
        "LR_SCHEDULER": {
            "NAME": "reduceonplateau",
            "MIN_LR": "1.0e-6",
            "REDUCEONPLATEAU_PATIENCE": 20,
        }
    },
    "TEST": {
        "BY_CHUNKS": {
            "ENABLE": True,
            "FORMAT": "zarr",
            "SAVE_OUT_TIF": True,
            "INPUT_IMG_AXES_ORDER": "ZYX",
            "WORKFLOW_PROCESS": {"ENABLE": True, "TYPE": "entire_pred"},
        },
        "REUSE_PREDICTIONS": False,
        "REDUCE_MEMORY": True,
        "POST_PROCESSING": {
            "MEASURE_PROPERTIES": {
                "ENABLE": True,
                "REMOVE_BY_PROPERTIES": {
                    "ENABLE": True,
                    "PROPS": [["npixels"], ["sphericity", "npixels"]],
                    "VALUES": [[100], [0.05, 1000]],
                    "SIGNS": [["le"], ["lt", "lt"]],
                },
            }
        },
    },
}
STARDIST = {  # Representation_matters_paper/sanity_experiments/sanity_stardist.yaml
    "PROBLEM": {
        **SEG,
        "NDIM": "2D",
        "INSTANCE_SEG": {
            "DATA_CHANNELS": ["Db", "R"],
            "CHANNELS_PER_HEAD_INFO": [1, 16],
            "DATA_CHANNEL_WEIGHTS": [1, 0.5],
            "DATA_CHANNELS_EXTRA_OPTS": [{"Db": {"mask_values": False}}],
            "CLASS_REBALANCE_WITHIN_CHANNELS": True,
            "INSTANCE_CREATION_PROCESS": "stardist",
            "STARDIST": {"PROB_THRESH": 0.6, "NMS_IOU_THRESH": 0.3},
        },
    },
    "DATA": {
        "PATCH_SIZE": "(128, 128, 1)",
        "NORMALIZATION": {
            "TYPE": "scale_range",
            "PERC_CLIP": {"ENABLE": True, "LOWER_PERC": 2.0, "UPPER_PERC": 99.5},
        },
        "TRAIN": {"PATH": "a", "GT_PATH": "b", "CHECK_DATA": True},
        "VAL": {"FROM_TRAIN": True, "SPLIT_TRAIN": 0.2},
        "TEST": {"PATH": "c", "GT_PATH": "d", "LOAD_GT": True},
    },
    "AUGMENTOR": {"ENABLE": True, "ROT90": True},
    "MODEL": {"ARCHITECTURE": "unet", "FEATURE_MAPS": [16, 32, 64, 128]},
}
EMBEDSEG = {  # Representation_matters_paper/sanity_experiments/sanity_embedseg.yaml
    "PROBLEM": {**SEG, "NDIM": "2D", "INSTANCE_SEG": {
        "DATA_CHANNELS": ["E_offset", "E_sigma", "E_seediness"],
        "CHANNELS_PER_HEAD_INFO": [4, 1], "SEPARATED_DECODERS_PER_HEAD": True,
        "EMBEDSEG": {"GRID_SIZE": -1}}},
    "DATA": {"PATCH_SIZE": "(64, 64, 1)", "TRAIN": {"PATH": "a", "GT_PATH": "b"},
             "TEST": {"PATH": "c", "GT_PATH": "d"}},
    "AUGMENTOR": {"RANDOM_ROT_PROB": 0.8, "RANDOM_ROT": True},
    "TEST": {"AUGMENTATION": True},
}  # fmt: skip
CELLPOSE = {  # Representation_matters_paper/sanity_cellpose.yaml (its keys of BiaPy 3.7.1)
    "PROBLEM": {**SEG, "NDIM": "2D", "INSTANCE_SEG": {
        "DATA_CHANNELS": ["F", "Gh", "Gv"], "CHANNELS_PER_HEAD_INFO": [1, 1, 1],
        "DATA_CHANNEL_WEIGHTS": [1, 0.25, 0.25], "CLASS_REBALANCE_WITHIN_CHANNELS": False,
        "CELLPOSE": {"DIAMETER": 30.0, "DIAM_MEAN": 30.0, "FLOW_THRESHOLD": 0.4}}},
    "DATA": {"PATCH_SIZE": "(224, 224, 1)", "REFLECT_TO_COMPLETE_SHAPE": False,
             "TRAIN": {"PATH": "a", "GT_PATH": "b", "EXTRACT_RANDOM_PATCH": True},
             "TEST": {"PATH": "c", "GT_PATH": "d", "PADDING": "(32, 32)"}},
    "AUGMENTOR": {"ENABLE": True, "ZOOM": True, "ZOOM_RANGE": "(0.75, 1.25)", "ELASTIC": True,
                  "AFFINE_MODE": "constant"},
    "TRAIN": {"LR_SCHEDULER": {"NAME": "warmupcosine", "MIN_LR": 1.0e-5,
                               "WARMUP_COSINE_DECAY_EPOCHS": 10}},
    "TEST": {"POST_PROCESSING": {"INSTANCE_REFINEMENT": {
        "ENABLE": True, "OPERATIONS": ["fill_holes", "remove_small_objects"],
        "VALUES": ["none", 15]}}},
}  # fmt: skip
OMNIPOSE = {  # Representation_matters_paper/sanity_omnipose.yaml
    **CELLPOSE,
    "PROBLEM": {**SEG, "NDIM": "2D", "INSTANCE_SEG": {
        "DATA_CHANNELS": ["Db", "Gh", "Gv"], "CHANNELS_PER_HEAD_INFO": [1, 1, 1],
        "DATA_CHANNELS_LOSSES": ["mse", "mse", "mse"], "DATA_CHANNEL_WEIGHTS": [1, 1, 1],
        "DATA_CHANNELS_EXTRA_OPTS": [{"Db": {"val_type": "omnipose"},
                                      "Gh": {"gradient_type": "omnipose"}}],
        "OMNIPOSE": {"MASK_THRESHOLD": 0.0, "FLOW_THRESHOLD": 0.4, "NITER": 0}}},
}  # fmt: skip


def _read(config: dict) -> tuple[dict, str]:
    resolved, notes = resolve_config(config)
    return resolved, "\n".join(notes)


def test_the_templates_read_their_channels_and_thresholds_as_biapy_3_7_1():
    seg = lambda c: _read(c)[0]["PROBLEM"]["INSTANCE_SEG"]  # noqa: E731
    assert seg(TEMPLATE_2D)["DATA_CHANNELS"] == ["F", "C"]
    assert seg(TEMPLATE_3D)["DATA_CHANNELS"] == ["F", "C"]
    carto = seg(CARTOCELL)
    assert carto["DATA_CHANNELS"] == ["F", "C"]
    assert carto["WATERSHED"]["SEED_CHANNELS_THRESH"] == [0.3, 0.1]
    assert carto["WATERSHED"]["GROWTH_MASK_CHANNELS_THRESH"] == [0.4]
    assert carto["WATERSHED"]["DATA_REMOVE_SMALL_OBJ_BEFORE"] == 8
    assert seg(OVARIAN)["DATA_CHANNELS"] == ["F", "C", "Db"]
    assert seg(STARDIST)["STARDIST"]["PROB_THRESH"] == 0.6
    assert seg(EMBEDSEG)["DATA_CHANNELS"] == ["E"]
    assert seg(SPINEDL)["WATERSHED"]["SEED_CHANNELS_THRESH"] == [0.4]


@pytest.mark.parametrize(
    "config, checks",
    [
        (TEMPLATE_2D, {"TRAIN.LR": 1e-3, "DATA.TEST.PADDING": [16, 16]}),
        (TEMPLATE_3D, {"MODEL.Z_DOWN": [1, 1], "DATA.PATCH_SIZE": [16, 64, 64, 1]}),
        (CARTOCELL, {"MODEL.ARCHITECTURE": "resunet",
                     "TEST.POST_PROCESSING.VORONOI_ON_MASK": True}),
        (CARTOCELL_INFERENCE, {"MODEL.LOAD_CHECKPOINT": True,
                               "TRAIN.LR_SCHEDULER.NAME": "onecycle"}),
        (MITOEM, {"DATA.TRAIN.GT_PATH": "b", "DATA.TEST.GT_PATH": "d",
                  "TEST.FULL_IMG": False, "TRAIN.OPTIMIZER": "ADAM"}),
        (SPINEDL, {"MODEL.ARCHITECTURE": "hrnet", "MODEL.HRNET.VARIANT": "W32",
                   "DATA.NORMALIZATION.PERC_CLIP.LOWER_PERC": 0.5}),
        (OVARIAN, {"DATA.TEST.RESOLUTION": [2, 0.5, 0.5],
                   "TRAIN.LR_SCHEDULER.REDUCEONPLATEAU_PATIENCE": 20}),
        (STARDIST, {"DATA.NORMALIZATION.TYPE": "scale_range"}),
        (EMBEDSEG, {"TEST.AUGMENTATION": True}),
        (CELLPOSE, {"PROBLEM.INSTANCE_SEG.CELLPOSE.FLOW_THRESHOLD": 0.4,
                    "PROBLEM.INSTANCE_SEG.DATA_CHANNELS": ["F", "Gh", "Gv"]}),
        (OMNIPOSE, {"PROBLEM.INSTANCE_SEG.DATA_CHANNELS_EXTRA_OPTS.Gv.gradient_type": "omnipose",
                    "PROBLEM.INSTANCE_SEG.DATA_CHANNELS_EXTRA_OPTS.Db.background": -5.0,
                    "PROBLEM.INSTANCE_SEG.DATA_CHANNELS_LOSSES": ["mse", "mse", "mse"]}),
    ],
)  # fmt: skip
def test_each_template_loads(config, checks):
    from stages.config.keys import get

    resolved, _ = _read(config)
    for dotted, value in checks.items():
        assert get(resolved, dotted) == value, dotted


def test_what_segpipe_does_not_apply_is_said_once_each():
    _, notes = _read(OVARIAN)
    assert "DATA.TEST.FILTER_SAMPLES.ENABLE: no effect in segpipe" in notes
    assert "TEST.BY_CHUNKS.SAVE_OUT_TIF: not implemented in segpipe yet" in notes
    assert "read TEST.BY_CHUNKS.INPUT_IMG_AXES_ORDER as DATA.TEST.INPUT_IMG_AXES_ORDER" in notes
    assert "read TEST.BY_CHUNKS.FORMAT as nothing" in notes
    assert "read DATA.EXTRACT_RANDOM_PATCH as DATA.TRAIN.EXTRACT_RANDOM_PATCH" in notes
    _, notes = _read(SPINEDL)
    assert "read MODEL.ARCHITECTURE hrnet32 as hrnet, MODEL.HRNET.VARIANT W32" in notes
    assert "ZOOM" not in notes  # BiaPy's zoom is applied


def test_the_single_augmentation_probability_of_older_configs_becomes_each_one():
    resolved, notes = _read(OVARIAN)
    augmentor = resolved["AUGMENTOR"]
    assert "read AUGMENTOR.DA_PROB as each AUGMENTOR.*_PROB not given" in notes
    assert augmentor["GRIDMASK"] is True and augmentor["GRID_RATIO"] == 0.5
    assert augmentor["GRIDMASK_PROB"] == augmentor["ELASTIC_PROB"] == 0.3
    assert "DA_PROB" not in augmentor


def test_a_zoo_model_by_nickname_is_refused_saying_why():
    """SpineDL's inference config names its model by zoo nickname: segpipe downloads nothing."""
    inference = {**SPINEDL, "TRAIN": {"ENABLE": False},
                 "MODEL": {"ARCHITECTURE": "hrnet48", "SOURCE": "bmz",
                           "BMZ": {"SOURCE_MODEL_ID": "proactive-snail"}}}  # fmt: skip
    with pytest.raises(ConfigError, match="segpipe downloads nothing"):
        resolve_config(inference)


# BiaPy's CI check of a 3D SNEMI Zarr (run_checks.py, test 24): its modifications of the 3D
# template, written here with our own paths
SNEMI_CI = {
    **TEMPLATE_3D,
    "PROBLEM": {**SEG, "NDIM": "3D", "INSTANCE_SEG": {
        "DATA_CHANNELS": "BC", "DATA_MW_TH_TYPE": "manual", "DATA_MW_TH_BINARY_MASK": 0.9,
        "DATA_MW_TH_CONTOUR": 0.1, "DATA_REMOVE_SMALL_OBJ_BEFORE": 20,
        "DATA_REMOVE_BEFORE_MW": True, "DATA_CHANNEL_WEIGHTS": "(0.3, 1)"}},
    "DATA": {"PATCH_SIZE": "(20, 256, 256, 1)",
             "TRAIN": {"PATH": "snemi/train", "IN_MEMORY": False, "INPUT_IMG_AXES_ORDER": "ZYX",
                       "INPUT_MASK_AXES_ORDER": "ZYX", "INPUT_ZARR_MULTIPLE_DATA": True,
                       "INPUT_ZARR_MULTIPLE_DATA_RAW_PATH": "volumes.raw",
                       "INPUT_ZARR_MULTIPLE_DATA_GT_PATH": "volumes.labels.neuron_ids"},
             "VAL": {"FROM_TRAIN": True, "IN_MEMORY": False, "SPLIT_TRAIN": 0.1},
             "TEST": {"PATH": "snemi/train", "IN_MEMORY": False, "LOAD_GT": True}},
    "MODEL": {"ARCHITECTURE": "hrnet32", "HRNET": {"Z_DOWN": False}},
    "AUGMENTOR": {"BRIGHTNESS": True, "CONTRAST": True, "MISALIGNMENT": True,
                  "MISSING_SECTIONS": True, "ELASTIC": True},
    "TEST": {"ENABLE": True, "BY_CHUNKS": {
        "ENABLE": True, "FORMAT": "Zarr", "SAVE_OUT_TIF": False, "INPUT_IMG_AXES_ORDER": "ZYX",
        "INPUT_ZARR_MULTIPLE_DATA": True, "INPUT_ZARR_MULTIPLE_DATA_RAW_PATH": "volumes.raw",
        "INPUT_ZARR_MULTIPLE_DATA_GT_PATH": "volumes.labels.neuron_ids",
        "WORKFLOW_PROCESS": {"ENABLE": True, "TYPE": "entire_pred"}}},
}  # fmt: skip


def test_biapys_snemi_ci_config_reads_raw_and_labels_from_inside_its_zarr_containers():
    resolved, notes = _read(SNEMI_CI)
    for split in ("TRAIN", "TEST"):
        data = resolved["DATA"][split]
        assert data["INPUT_ZARR_MULTIPLE_DATA"] is True
        assert data["INPUT_ZARR_MULTIPLE_DATA_RAW_PATH"] == "volumes.raw"
        assert data["INPUT_ZARR_MULTIPLE_DATA_GT_PATH"] == "volumes.labels.neuron_ids"
    assert "read TEST.BY_CHUNKS.INPUT_ZARR_MULTIPLE_DATA as DATA.TEST." in notes
    # older BiaPy's HRNet Z_DOWN: whether to pool Z at all
    assert resolved["MODEL"]["HRNET"]["Z_DOWN"] == [1, 1, 1]
    assert "read MODEL.HRNET.Z_DOWN False as [1, 1, 1]" in notes
    assert resolved["PROBLEM"]["INSTANCE_SEG"]["DATA_CHANNEL_WEIGHTS"] == [0.3, 1]
    missing = {**SNEMI_CI, "DATA": {**SNEMI_CI["DATA"], "TRAIN": {
        **SNEMI_CI["DATA"]["TRAIN"], "INPUT_ZARR_MULTIPLE_DATA_GT_PATH": ""}}}  # fmt: skip
    with pytest.raises(ConfigError, match=r"DATA\.TRAIN\.INPUT_ZARR_MULTIPLE_DATA_GT_PATH: set"):
        resolve_config(missing)


def test_the_probability_map_of_a_gui_config_is_read_and_needs_images_in_memory():
    """BiaPy's GUI writes the older DATA.PROBABILITY_MAP with W_FOREGROUND/W_BACKGROUND when
    random patches are asked for: read into DATA.TRAIN and applied (tests/nn/test_data.py)."""
    gui = {**TEMPLATE_2D, "DATA": {**TEMPLATE_2D["DATA"], "EXTRACT_RANDOM_PATCH": True,
                                   "PROBABILITY_MAP": True, "W_FOREGROUND": 0.8,
                                   "W_BACKGROUND": 0.2}}  # fmt: skip
    resolved, notes = _read(gui)
    train = resolved["DATA"]["TRAIN"]
    assert (train["PROBABILITY_MAP"], train["W_FOREGROUND"], train["W_BACKGROUND"]) == (
        True, 0.8, 0.2)  # fmt: skip
    assert "read DATA.PROBABILITY_MAP as DATA.TRAIN.PROBABILITY_MAP" in notes
    from stages.commands.train import settings_from_config

    assert settings_from_config(resolved).loop.center_weights == (0.8, 0.2)
    lazy = {**gui, "DATA": {**gui["DATA"], "TRAIN": {**gui["DATA"]["TRAIN"], "IN_MEMORY": False}}}
    with pytest.raises(ConfigError, match=r"DATA\.TRAIN\.PROBABILITY_MAP: .*IN_MEMORY true"):
        resolve_config(lazy)
