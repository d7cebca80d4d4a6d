# A Snakefile written the way the original phyper README wrote them: wildcarded paths,
# expand() over get_instances_hashes, and get_instance_from_hash in input lambdas.
from example.config import instances, Instance
from example.paths import transformed_data, preprocessed_data, model_weights, training_metrics

rule _transform_data:
    output: Instance.snakemake_helper_get_wildcarded_path(transformed_data, instances[0], resource_name='transformed_data')
    shell: "echo {wildcards.transformed_data_hash} > {output}"

rule transform_data:
    input: expand(rules._transform_data.output, transformed_data_hash=Instance.get_instances_hashes(instances, resource_name='transformed_data'))

rule _preprocess_data:
    input: lambda wildcards: transformed_data(Instance.get_instance_from_hash(wildcards.preprocessed_data_hash, instances, resource_name='preprocessed_data'))
    output: Instance.snakemake_helper_get_wildcarded_path(preprocessed_data, instances[0], resource_name='preprocessed_data')
    shell: "cat {input} > {output}"

rule _train_nn:
    input: lambda wildcards: preprocessed_data(Instance.get_instance_from_hash(wildcards.hash, instances))
    output:
        Instance.snakemake_helper_get_wildcarded_path(model_weights, instances[0]),
        Instance.snakemake_helper_get_wildcarded_path(training_metrics, instances[0])
    shell: "touch {output}"

rule train_nn:
    input: expand(rules._train_nn.output, hash=Instance.get_instances_hashes(instances))

rule compute_cv_scores:
    input: [training_metrics(instance) for instance in instances]
    output: "results/original_style_scores.txt"
    run:
        names = instances[0].get_dependencies_for_resources('cross_validated_model')
        df = Instance.get_projections(instances, hyperparameter_names=names)
        with open(output[0], "w") as stream:
            stream.write(f"{len(df)}\n")

rule all:
    input: rules.compute_cv_scores.output
