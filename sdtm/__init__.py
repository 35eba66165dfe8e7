"""Raw EDC extract -> SDTM: the synthetic twin of the trial and one builder per domain."""
