import os
import time

import pandas as pd

from stages.run_report import LogFollower, metrics_summary, outputs_summary
from stages.workflow import RunPaths


def _paths(tmp_path) -> RunPaths:
    return RunPaths.of(tmp_path, "x", 1)


def test_the_follower_echoes_check_warnings_new_epoch_lines_and_finished_predictions(tmp_path):
    paths = _paths(tmp_path)
    (paths.logs / "predict").mkdir(parents=True)
    train_log = paths.logs / "train.log"
    train_log.write_text("10:00:00 segpipe.train INFO epoch 1/9  train 1.0  (an older run)\n")
    check_log = paths.logs / "check.log"
    check_log.write_text("09:59:59 segpipe.check WARNING an older run's\n")
    os.utime(check_log, (time.time() - 60, time.time() - 60))
    seen: list[str] = []
    with LogFollower(paths, seen.append, interval=0.05):
        check_log.write_text(  # the check runs again: its log is written anew
            "10:00:00 segpipe WARNING DATA.TEST.IN_MEMORY: no effect (said by the run itself)\n"
            "10:00:00 segpipe.check WARNING raw: DATA.PATCH_SIZE (20, 128, 128) pads every image\n"
            "raw: 1 image(s) OK, paired with label\n"
        )
        with open(train_log, "a") as log:
            log.write("10:00:01 segpipe.train INFO epoch 1/2  train 0.9000  val 0.8000\n")
            log.write("10:00:01 segpipe.train INFO saving\n")  # not news
            log.write("10:00:02 segpipe.train WARNING an epoch will take about 20 min\n")
            log.write("10:00:03 segpipe.train INFO epoch 2/2  half a li")  # not finished yet
        time.sleep(0.1)
        (paths.logs / "predict" / "group0.shard1.log").write_text(
            "a.npz: 4 of 4 patch(es) of a.tif\nb.npz: 2 of 2 patch(es) of b.tif\n"
        )
    assert seen == [
        "check: raw: DATA.PATCH_SIZE (20, 128, 128) pads every image",
        "train: epoch 1/2  train 0.9000  val 0.8000",
        "train: an epoch will take about 20 min",
        "predict: 4 of 4 patch(es) of a.tif",
        "predict: 2 of 2 patch(es) of b.tif",
    ]


def test_the_summary_shows_every_threshold_and_the_post_processed_rows(tmp_path):
    row = {"file": "average"}
    for tag in ("", "(post)"):
        for threshold in ("0.3", "0.5"):
            for metric, value in (("f1", 0.9), ("precision", 0.8), ("recall", 1.0)):
                row[f"{threshold} TH {tag}{metric}"] = value
            row[f"{threshold} TH {tag}panoptic_quality"] = 0.7
    pd.DataFrame([{**row, "file": "a"}, row]).to_csv(tmp_path / "m.csv", index=False)
    text = metrics_summary(tmp_path / "m.csv")
    assert text.splitlines()[0] == "metrics, mean of 1 test image(s):"
    assert "     instances   0.30   0.900      0.800   1.000   0.700" in text
    assert "post-processed   0.50   0.900      0.800   1.000   0.700" in text


def test_the_outputs_named_are_those_the_run_made(tmp_path):
    """Without test ground truth there is no metrics file: it is not named."""
    paths = _paths(tmp_path)
    (paths.results / "per_image_instances").mkdir(parents=True)
    paths.logs.mkdir(parents=True)
    paths.model_dir.mkdir(parents=True)
    (paths.model_dir / "model.pt").write_bytes(b"")
    summary = outputs_summary(paths, "per_image_instances", paths.model_dir / "model.pt")
    assert summary.splitlines() == [
        "outputs:",
        f"  model        {paths.model_dir / 'model.pt'}",
        f"  instances    {paths.results / 'per_image_instances'}/",
        f"  logs         {paths.logs}/",
    ]
    paths.metrics.write_text("file\n")
    other = tmp_path / "elsewhere.pt"  # PATHS.CHECKPOINT_FILE of a run that did not train
    other.write_bytes(b"")
    summary = outputs_summary(paths, "per_image_instances", other)
    assert f"  metrics      {paths.metrics}" in summary and f"  model        {other}" in summary
