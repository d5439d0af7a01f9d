"""A publication as SDMX-ML 2.1 (generic data), with the ``sdmx1`` package, for international
bodies. One observation per published cell: dimensions INDICATOR, TIME_PERIOD and each
breakdown used (REF_AREA for the region; ``_T`` the total, ``_Z`` not applicable to that
indicator), OBS_VALUE, and OBS_STATUS ``C`` (confidential) on withheld cells, which carry no
value. Every observation carries the attribute COVERAGE: the region code the publication covers
(with its sub-regions) or ``_T`` for the whole country; in a region's publication REF_AREA's
total is that region's code."""

from __future__ import annotations

from typing import Any

from opschub.stats import catalogue as cat

SDMX_DIMENSION = {"region": "REF_AREA"}


def _dim_id(name: str) -> str:
    return SDMX_DIMENSION.get(name, name.upper())


def to_sdmx(pub: Any) -> bytes:
    import sdmx
    from sdmx.message import DataMessage
    from sdmx.model import common
    from sdmx.model import v21 as m

    names: list[str] = []
    for table in pub.tables:
        names += [d for d in table["dimensions"] if d not in names]
    dsd = m.DataStructureDefinition(
        id="OPSCHUB_STATS", maintainer=common.Agency(id="OPSCHUB"), version=str(pub.version)
    )
    order = ["INDICATOR", "TIME_PERIOD", *(_dim_id(n) for n in names)]
    for i, ident in enumerate(order):
        dsd.dimensions.getdefault(ident, order=i)
    measure = dsd.measures.getdefault("OBS_VALUE")
    status = dsd.attributes.getdefault("OBS_STATUS")
    coverage = dsd.attributes.getdefault("COVERAGE")
    region = getattr(pub, "region", None)
    covered = common.AttributeValue(value=region or "_T", value_for=coverage)
    data = m.DataSet(structured_by=dsd)
    for table in pub.tables:
        for cell in table["cells"]:
            values = {"INDICATOR": table["indicator"], "TIME_PERIOD": pub.period}
            for name in names:
                value = cell["key"].get(name)
                total = region if name == "region" and region else "_T"
                values[_dim_id(name)] = (
                    "_Z" if value is None else total if value == cat.TOTAL else value
                )
            key = dsd.make_key(m.Key, values)
            withheld = cell["value"] is None
            attributes = {"COVERAGE": covered}
            if withheld:
                attributes["OBS_STATUS"] = common.AttributeValue(value="C", value_for=status)
            data.obs.append(
                m.Observation(
                    dimension=key,
                    value=float("nan") if withheld else cell["value"],
                    value_for=measure,
                    attached_attribute=attributes,
                )
            )
    return sdmx.to_xml(DataMessage(data=[data]), pretty_print=True)
