"""The QC twin: independent double programming of the key ADaM results from SDTM and the plan, and the
compare that proves production and QC agree (`sap qc`).

Independence is the point: nothing here imports the production derivations (`adam.*`, `sdtm.*`). The QC
code is written from the SAP rules (docs domain.md sections 3, 5, 6) and the derivation texts of
`sap/specs/adam/*.yaml`, with plain merge/groupby logic deliberately different from the production library.
"""
