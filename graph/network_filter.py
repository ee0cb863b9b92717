"""The network filter and the exact definitions of the three yearly city networks.

A ``NetworkFilter`` selects the patents that make a network: patent kind (default invention), green
definition (``wipo``: WIPO IPC Green Inventory; ``y02``: CPC Y02/Y04S; ``all``: no green condition),
granted only or not, and the year basis (application year by default; ``grant`` uses the grant year
and so implies granted patents). Its ``key`` (e.g. ``invention.wipo.all``) is stored as the
``network`` property of the projection relationships, so several filters can live in one store.

Definitions, shared by the store projections (``cypher/``) and the pandas reference computation
(``graph.reference``); both must give identical numbers:

- A patent's cities are the distinct ``city_code`` values of its located applicants
  (``patent_applicants.city_code`` not null).
- **collab** (undirected, year = the patent's year): every unordered pair of distinct cities of a
  patent that passes the filter gets weight +1. A patent with one city only is local.
- **transfer** (directed, year = the transfer's year): every transfer record of a patent that passes
  the filter (kind/green/granted; the year basis does not apply) with both ``from_city`` and
  ``to_city`` known adds +1 from ``from_city`` to ``to_city``; ``from_city == to_city`` is local.
- **citation** (directed, year = the citing patent's year): for every citation whose citing patent
  passes the filter and whose cited patent is in the corpus, every (cited city, citing city) pair of
  distinct cities gets +1: knowledge flows from the cited patent's city to the citing patent's city.

City-year counts (the non-edge columns of the city-year panel):

- ``green_patents``: filtered patents with at least one applicant in the city;
- ``collab_patents``: filtered patents of the city that have at least one other city;
- ``collab_patents_intraprov``: filtered patents of the city with at least one other city of the same province;
- ``transfers_out`` / ``transfers_in``: filtered transfers from the city to another city / into the
  city from another; ``transfers_local``: within the city; ``transfers_other``: out + in;
  ``transfers_intraprov``: out + in with a city of the same province;
- ``citations_made``: references listed by the city's filtered patents (all references, in corpus or
  not); ``citations_received``: citations from any corpus patent to the city's filtered patents (by the
  citing patent's year); ``citations_foreign``: references of the city's filtered patents to foreign patents.
"""

from __future__ import annotations

from dataclasses import dataclass

GREEN_CHOICES = ("wipo", "y02", "all")
KIND_CHOICES = ("invention", "utility", "design", "all")
YEAR_BASIS_CHOICES = ("application", "grant")


@dataclass(frozen=True)
class NetworkFilter:
    green: str = "wipo"
    kind: str = "invention"
    granted_only: bool = False
    year_basis: str = "application"

    def __post_init__(self) -> None:
        if self.green not in GREEN_CHOICES:
            raise ValueError(f"green must be one of {GREEN_CHOICES}, not {self.green!r}")
        if self.kind not in KIND_CHOICES:
            raise ValueError(f"kind must be one of {KIND_CHOICES}, not {self.kind!r}")
        if self.year_basis not in YEAR_BASIS_CHOICES:
            raise ValueError(f"year_basis must be one of {YEAR_BASIS_CHOICES}, not {self.year_basis!r}")

    @property
    def requires_grant(self) -> bool:
        return self.granted_only or self.year_basis == "grant"

    @property
    def key(self) -> str:
        """Stable name stored on projection relationships, e.g. ``invention.wipo.all``."""
        granted = "granted" if self.requires_grant else "all"
        basis = "" if self.year_basis == "application" else ".grantyear"
        return f"{self.kind}.{self.green}.{granted}{basis}"

    def params(self) -> dict[str, object]:
        """Query parameters for the Cypher projections (no string formatting of user input)."""
        return {
            "network": self.key,
            "kind": self.kind,
            "any_kind": self.kind == "all",
            "green": self.green,
            "granted_only": self.requires_grant,
            "grant_year": self.year_basis == "grant",
        }

    @classmethod
    def from_settings(cls, network: dict) -> NetworkFilter:
        return cls(
            green=network.get("green", "wipo"),
            kind=network.get("kind", "invention"),
            granted_only=bool(network.get("granted_only", False)),
            year_basis=network.get("year_basis", "application"),
        )
