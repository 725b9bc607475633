"""Hospital data as hospitals hold it: FHIR R4 mCODE Bundles (`fhir`), oBDS 3.0 XML
(`obds`) and OMOP CDM 5.4 databases with the oncology extension (`omop`), read into the
canonical tables and written from them (so that round trips are tested exactly).

Each format module provides `read(source, table, progress=None) -> (DataFrame,
ImportReport)`, the frame canonical and validated, and `write(frame, table, destination)`.
"""
