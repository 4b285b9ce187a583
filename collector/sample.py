"""The bundled sample: government sites under `sources/sample/sites/<city>/`, each described by its site.yaml.

A site's files are its document root; `sources/sample/v2/sites/<city>/` holds the files that replace or add
to it in the sample's second version (used to test change detection).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from evidence.datafile import read_yaml, validate
from evidence.errors import DataError
from evidence.vocabulary import Slug

SAMPLE = Path(__file__).resolve().parents[1] / "sources" / "sample"
Version = Literal["v1", "v2"]


class Routes(BaseModel):
    """Server behaviours a real government site shows now and then."""

    model_config = ConfigDict(extra="forbid")
    redirects: dict[str, str] = {}  # path -> path, served as 301
    charsets: dict[str, str] = {}  # path -> the legacy encoding the file is stored in
    oversized: list[str] = []  # streamed far past any sane size cap
    slow: list[str] = []  # answered only after the slow delay (longer than a crawl's timeout)
    errors: dict[str, int] = {}  # path -> HTTP status
    truncated: list[str] = []  # Content-Length promises more than is sent before the connection closes


class SiteSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    city: Slug
    edition: Slug
    name: str
    language: str
    start: str = Field("/index.html", pattern=r"^/")
    notes: str = ""
    routes: Routes = Routes()


@dataclass(frozen=True)
class SampleSite:
    """One site of the sample in one version: its description and where its files are."""

    spec: SiteSpec
    roots: tuple[Path, ...]  # searched in order: the v2 overlay first, then v1

    @property
    def city(self) -> str:
        return self.spec.city

    def file(self, path: str) -> Path | None:
        """The file serving a URL path (a directory serves its index.html), or None."""
        relative = path.lstrip("/")
        for root in self.roots:
            candidate = (root / relative).resolve()
            if candidate.is_dir():
                candidate = candidate / "index.html"
            if candidate.is_file() and candidate.is_relative_to(root.resolve()):
                return candidate
        return None


def read_site(directory: Path, overlay: Path | None = None) -> SampleSite:
    """A site from its directory; an overlay's site.yaml (if any) replaces the original's."""
    spec_file = overlay / "site.yaml" if overlay and (overlay / "site.yaml").is_file() else directory / "site.yaml"
    spec = validate(SiteSpec, read_yaml(spec_file), spec_file)
    if spec.city != directory.name:
        raise DataError(spec_file, "city", f"{spec.city!r} does not match the folder name {directory.name!r}")
    roots = (overlay, directory) if overlay and overlay.is_dir() else (directory,)
    return SampleSite(spec, roots)


def load_sites(root: Path = SAMPLE, version: Version = "v1") -> list[SampleSite]:
    """Every site of a sample tree (`<root>/sites/<city>/site.yaml`), sorted by city."""
    sites_dir = root / "sites"
    if not sites_dir.is_dir():
        raise DataError(sites_dir, "", "no sample sites here")
    overlay_dir = root / "v2" / "sites"
    return [read_site(d, overlay_dir / d.name if version == "v2" else None)
            for d in sorted(sites_dir.iterdir()) if (d / "site.yaml").is_file()]


def loopback_host(index: int) -> str:
    """The address of the index-th site: each site has a loopback address of its own (all of 127/8 is local
    on Linux), so a crawler's per-host politeness treats the sites as the separate hosts they stand for."""
    if not 0 <= index < 240:
        raise ValueError("the sample has room for 240 sites")
    return f"127.0.0.{10 + index}"


def sample_url(city: str, path: str = "/index.html", port: int = 8800, root: Path = SAMPLE) -> str:
    """Where `evidence sample serve` (or `crawl --sample`) serves a sample page on a fixed port."""
    cities = [site.city for site in load_sites(root)]
    if city not in cities:
        raise DataError(root / "sites", city, f"no sample site; the sample has {', '.join(cities)}")
    return f"http://{loopback_host(cities.index(city))}:{port}{path}"
