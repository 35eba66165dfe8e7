"""Study-agnostic ADaM derivation library (the role admiral plays in R).

Pure functions `DataFrame -> DataFrame` with admiral-like argument names (dataset, by, order, new_var,
filter, source), chained with `.pipe(...)`. Modules, each announcing its API in its docstring:
dates (ISO 8601, imputation, study day, duration), exposure (TRTSDT/TRTEDT/TRTDURD), visits (analysis
windows), baseline (ABLFL, BASE, CHG, PCHG, ANRIND, BNRIND, SHIFT1), flags (population, TRTEMFL, AOCC*,
ONTRTFL, ANL01FL), imputation (non-responder records), traceability (SRCDOM/SRCVAR/SRCSEQ).
Agreement with admiral on pharmaverse data: adam/PHARMAVERSE_AGREEMENT.md.
"""
