"""Importers and exporters of the Symile-M3 release formats: the Hub Parquet repo
`arsaporta/symile-m3` (`hf-m3`) and the release code's CSVs plus media trees (`m3-csv`).

An import is a first-class dataset directory scored with the release's task; an export writes
a dataset directory (imported or built here) in the release's layout for its consumers.
"""
