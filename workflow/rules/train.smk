# Stage 2: one training job per experiment x protocol x seed.


rule train:
    input:
        data=lambda w: CACHE.format(dataset=dataset_of(w.experiment)),
    output:
        metrics=f"{RUN}/metrics.json",
        history=f"{RUN}/history.csv",
        params=f"{RUN}/params.npz",
        predictions=f"{RUN}/predictions.npz",
    log:
        TRAIN_LOG,
    benchmark:
        TRAIN_BENCHMARK
    conda:
        "../envs/regstudy.yaml"
    threads: res("train", "threads")
    resources:
        **SITE_RESOURCES,
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
    params:
        settings=train_settings,
        engine=ENGINE_VERSION,
    script:
        "../scripts/train.py"
