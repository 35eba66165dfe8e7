"""Study-agnostic ADaM derivation library (the role admiral plays in R).

Pure functions `DataFrame -> DataFrame` chained with `.pipe(...)`, in admiral's argument vocabulary
(`dataset` first, then keyword-only `dataset_add`, `by_vars`, `order` with `desc()`, `new_var`,
`filter_add`, `mode`; see `adam.derive._common`). Modules, each announcing its API in its docstring:
dates (ISO 8601, date/datetime imputation, study day, duration), exposure (TRTSDT/TRTEDT/TRTSDTM/TRTEDTM,
TRTDURD), visits (analysis windows, open-ended allowed), baseline (BASE, CHG, PCHG, ANRIND, BNRIND, SHIFT1),
flags (first/last/worst record selection, population flags, TRTEMFL, AOCC*, ONTRTFL), merge (SDTM domains,
derive_vars_merged), categories (derive_vars_cat, derive_vars_query), records (extreme and LOCF records),
params (derive_param_computed, derive_param_exist_flag, derive_param_tte), imputation (non-responder
records), traceability (SRCDOM/SRCVAR/SRCSEQ). Every public derivation has a runnable example (doctest,
executed by tests/adam/test_docstring_examples.py). Agreement with admiral on pharmaverse data:
adam/PHARMAVERSE_AGREEMENT.md; with the SAS-made CDISC Pilot 01 ADaM: adam/PILOT_AGREEMENT.md.
"""

MODULES = ["dates", "exposure", "visits", "baseline", "flags", "merge", "categories", "records", "params", "imputation", "traceability"]
