"""The triage tools: what a person does with findings once a run has them.

- `minimize`: shrink a divergent input while keeping exactly its signature (`minimize`);
- `cmin`: the smallest corpus keeping every branch id and (verdict, signature) class
  (`cmin`);
- `triage`: group crash files and findings by signature and confirm each reproduces
  (`triage`);
- `export`: a reproducer as a self-contained pytest regression test (`export --pytest`);
- `trace`: the side-by-side trace of both models (`replay`, the harness's crash message).
"""
