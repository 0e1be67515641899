"""Symile-MIMIC, build side: the cohort from MIMIC-IV / -ECG / -CXR-JPG, the builder and its
card, the synthetic source trees of `fake-mimic`, and the importer and exporter of the PhysioNet
release (`release/`)."""
