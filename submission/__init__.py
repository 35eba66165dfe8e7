"""The submission package (eCTD module 5 datasets): XPT per the FDA Technical Conformance Guide,
Dataset-JSON 1.1, define.xml 2.1, annotated CRF, reviewer guides, checksums. Built by `sap submit`."""
