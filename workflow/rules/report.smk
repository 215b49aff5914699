# Stage 6: the report. `snakemake --report results/report.html` builds one self-contained
# HTML file from every output flagged with report() (the tables, the conclusions, the
# summary page, the figures), each with its caption from workflow/report/*.rst.


report: "../report/workflow.rst"
