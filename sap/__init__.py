"""The plan of the IL-2 SLE trial: study model, dataset specs, dataset I/O, command line and pipeline."""

__version__ = "0.1.0"
