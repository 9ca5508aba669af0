"""The triage tools: what a person does with findings once a run has them.

- `minimize`: shrink a divergent input while keeping exactly its signature (`minimize`);
- `cmin`: the smallest corpus keeping every branch id and (verdict, signature) class
  (`cmin`);
- `triage`: group crash files, findings and killed runs' inboxes by signature and confirm
  each reproduces (`triage`);
- `report`: the findings by root cause, with status, fixes, configurations, counts and the
  shortest reproducer (`report`);
- `export`: a reproducer as a self-contained pytest regression test (`export --pytest`);
- `trace`: the side-by-side trace of both models (`replay`, the harness's crash message).
"""
