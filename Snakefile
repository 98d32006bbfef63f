# segpipe: instance segmentation for microscopy as a Snakemake workflow.
# Every rule runs the same `segpipe <stage>` command a user runs by hand.
from snakemake.utils import min_version

min_version("9.0")


# The demo config is the default only: a config given with --configfile replaces it
# instead of being merged over it (a user's run must not inherit the demo's paths).
if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/preprocess.smk"
include: "rules/train.smk"
include: "rules/predict.smk"
include: "rules/decode.smk"
include: "rules/postprocess.smk"
include: "rules/measure.smk"
include: "rules/evaluate.smk"
include: "rules/stack.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
