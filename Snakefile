# The phyper example: `snakemake -j8 all` trains the whole grid (see README.md).
#
# Quick runs: --config epochs=2 transformations=identity,log small=1
# Each shared intermediate result is computed once: 3 transformations, 6 preprocessings,
# 90 trainings. The DAG: `snakemake --dag all | dot -Tpdf > dag.pdf`.
import os
import sys

for _knob in ("epochs", "transformations", "small"):
    # the job processes read the same knobs, so they build the same instances
    if _knob in config:
        os.environ[f"PHYPER_EXAMPLE_{_knob.upper()}"] = str(config[_knob])

from phyper.snakemake import pattern, targets, upstream, wildcard_constraints as hash_constraints

from example import paths
from example.config import instances, parser

# Jobs run `python` from the PATH, with this interpreter's environment first: the recorded
# command then stays the same whichever spelling of the interpreter started Snakemake.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
STEP = "python -m example"


wildcard_constraints:
    **hash_constraints(parser),


rule all:
    input:
        targets(paths.model_weights, instances),
        targets(paths.training_metrics, instances),
        paths.best_model_test_metrics(),


rule transform_data:
    output:
        pattern(paths.transformed_data, instances, "transformed_data"),
    shell:
        STEP + " transform-data --hash {wildcards.transformed_data_hash}"


rule preprocess_data:
    input:
        upstream(paths.transformed_data, instances, "preprocessed_data"),
    output:
        pattern(paths.preprocessed_data, instances, "preprocessed_data"),
    shell:
        STEP + " preprocess-data --hash {wildcards.preprocessed_data_hash}"


rule train_model:
    input:
        upstream(paths.preprocessed_data, instances),
    output:
        pattern(paths.model_weights, instances),
        pattern(paths.training_metrics, instances),
    shell:
        STEP + " train-model --hash {wildcards.hash}"


rule cross_validation_scores:
    input:
        targets(paths.training_metrics, instances),
    output:
        paths.cross_validation_scores(),
    shell:
        STEP + " cross-validation-scores"


rule train_best_model:
    input:
        paths.cross_validation_scores(),
    output:
        paths.best_model_test_metrics(),
        paths.best_model_learning_curve(),
    shell:
        STEP + " train-best-model"
