# The phyper example: `snakemake all` trains the whole grid (see README.md).
#
# The instances come from a YAML sweep file: config/default.yaml unless another is given
# (`snakemake --configfile config/quick.yaml all`); the workflow profile in
# profiles/default sets the default and the options large grids need. Each step command is
# given the same file, so jobs build exactly the instances this Snakefile built. Each shared
# intermediate result is computed once: 3 transformations, 6 preprocessings, 90 trainings.
# The DAG: `snakemake --dag all | dot -Tpdf > dag.pdf`.
from phyper.snakemake import Space

from example import paths
from example.config import DEFAULT_SWEEP, load

# the sweep file this run was started with (the last --configfile), else the default
SWEEP = workflow.configfiles[-1] if workflow.configfiles else DEFAULT_SWEEP
parser, instances = load(SWEEP)
space = Space(instances)
# the search, with each sampler on the same budget, each run with several seeds so that the
# comparison of samplers holds up (`--config search_trials=N search_seeds=S` to change them)
SAMPLERS = ["tpe", "random", "grid"]
SEARCH_TRIALS = int(config.get("search_trials", 8))
SEARCH_SEEDS = int(config.get("search_seeds", 3))
# successive halving (`snakemake halving`): trials paused at rungs, the best resumed
HALVING_SAMPLERS = ["asha-tpe", "asha-random"]


wildcard_constraints:
    **space.wildcard_constraints(),


rule all:
    input:
        space.targets(paths.model_weights),
        space.targets(paths.training_metrics),
        paths.best_model_test_metrics(),
        [paths.search_trials(sampler) for sampler in SAMPLERS],


rule halving:
    input:
        [paths.search_trials(sampler) for sampler in HALVING_SAMPLERS],


# `{SWEEP}` is filled in when a job runs: the recorded command stays the same whichever
# sweep is used, so switching sweeps reruns nothing whose instance did not change.
rule transform_data:
    output:
        space.pattern(paths.transformed_data, "transformed_data"),
    shell:
        "python -m example transform-data --sweep {SWEEP} --hash {wildcards.transformed_data_hash}"


rule preprocess_data:
    input:
        space.upstream(paths.transformed_data, "preprocessed_data"),
    output:
        space.pattern(paths.preprocessed_data, "preprocessed_data"),
    shell:
        "python -m example preprocess-data --sweep {SWEEP} --hash {wildcards.preprocessed_data_hash}"


rule train_model:
    input:
        space.upstream(paths.preprocessed_data),
    output:
        space.pattern(paths.model_weights),
        space.pattern(paths.training_metrics),
    shell:
        "python -m example train-model --sweep {SWEEP} --hash {wildcards.hash}"


rule cross_validation_scores:
    input:
        space.targets(paths.training_metrics),
    output:
        paths.cross_validation_scores(),
        paths.recorded_sweep(),
    shell:
        "python -m example cross-validation-scores --sweep {SWEEP}"


rule train_best_model:
    input:
        paths.cross_validation_scores(),
    output:
        paths.best_model_test_metrics(),
        paths.best_model_learning_curve(),
    shell:
        "python -m example train-best-model --sweep {SWEEP}"


rule tune:
    input:
        # the grid first: its results are the search's prior knowledge
        space.targets(paths.training_metrics),
    output:
        paths.search_trials("{sampler}"),
        paths.search_best("{sampler}"),
        # the other seeds' tables and summaries (seed 0's keep the plain name)
        [paths.search_trials(f"{{sampler}}-seed{seed}") for seed in range(1, SEARCH_SEEDS)],
        [paths.search_best(f"{{sampler}}-seed{seed}") for seed in range(1, SEARCH_SEEDS)],
    threads: 2
    shell:
        "python -m example tune --sweep {SWEEP} --sampler {wildcards.sampler}"
        " --n-trials {SEARCH_TRIALS} --n-jobs {threads} --seeds {SEARCH_SEEDS}"
