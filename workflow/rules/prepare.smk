# Stage 1: image folders -> .npz caches. Without a configured folder the data set is a
# generated stand-in in the real folder layout.


rule standin:
    output:
        directory("results/standin/{dataset}"),
    log:
        "results/logs/standin/{dataset}.log",
    conda:
        "../envs/regstudy.yaml"
    threads: res("prepare", "threads")
    resources:
        **SITE_RESOURCES,
        mem_mb=res("prepare", "mem_mb"),
        runtime=res("prepare", "runtime"),
    params:
        per_class=lambda w: config["standin"][w.dataset]["per_class"],
        seed=lambda w: config["standin"][w.dataset]["seed"],
        size=config["image_size"],
    script:
        "../scripts/standin.py"


rule prepare:
    input:
        root=data_root,
    output:
        cache=CACHE,
        manifest=MANIFEST,
    log:
        "results/logs/prepare/{dataset}.log",
    conda:
        "../envs/regstudy.yaml"
    threads: res("prepare", "threads")
    resources:
        **SITE_RESOURCES,
        mem_mb=res("prepare", "mem_mb"),
        runtime=res("prepare", "runtime"),
    params:
        # the image size, or size + resize filter + JPEG quality when these are not the
        # defaults (ex.prepare_decoding: so caches from before are not rebuilt)
        decoding=ex.prepare_decoding(config),
    script:
        "../scripts/prepare.py"
