from pathlib import Path

from stages.workflow import WORKFLOW_PARTS, RunPaths, workflow_root

REPO = Path(__file__).resolve().parents[1]


def test_a_source_checkout_runs_its_own_workflow():
    root = workflow_root()
    assert root == REPO and all((root / part).exists() for part in WORKFLOW_PARTS)


def test_run_paths_follow_biapy_layout():
    paths = RunPaths.of("out", "demo", 2)
    assert paths.name == "demo_2"
    assert paths.results == Path("out/demo/results/demo_2")
    assert paths.model_dir == Path("out/demo/checkpoints/demo_2")
    assert paths.metrics == Path("out/demo/results/demo_2/test_results_metrics.csv")
