import json

runs = [json.load(open(p)) for p in snakemake.input]
with open(snakemake.output[0], "w") as fh:
    json.dump({"n": len(runs), "acc": [r["test_accuracy"] for r in runs]}, fh, indent=1)
