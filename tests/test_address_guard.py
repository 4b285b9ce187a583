"""The crawler reaches only globally routable addresses unless a source allows private ones: carrier-grade
NAT (the cloud metadata address 100.100.100.200), IETF and documentation blocks, IPv4 inside IPv6."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app as cli
from collector.middlewares import private_kind
from evidence.database import session_scope
from evidence.record import Fetch


@pytest.mark.parametrize("address, kind", [
    ("100.100.100.200", "shared (carrier-grade NAT)"), ("100.64.0.1", "shared (carrier-grade NAT)"),
    ("192.0.0.8", "IETF protocol assignments"), ("192.0.0.170", "IETF protocol assignments"),
    ("198.18.0.1", "benchmarking"), ("203.0.113.7", "documentation"), ("240.0.0.1", "reserved"),
    ("127.0.0.2", "loopback"), ("10.1.2.3", "private"), ("169.254.169.254", "link-local"), ("0.0.0.0", "unspecified"),
    ("::1", "loopback"), ("fd00::1", "unique-local"), ("fe80::1", "link-local"), ("2001:db8::1", "documentation"),
    ("::ffff:100.100.100.200", "shared (carrier-grade NAT) (inside ::ffff:6464:64c8)"),
    ("64:ff9b::7f00:1", "loopback (inside 64:ff9b::7f00:1)"), ("2002:a00:1::1", "private (inside 2002:a00:1::1)"),
])
def test_addresses_that_are_not_globally_routable_are_named(address, kind):
    assert private_kind(address) == kind


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111", "64:ff9b::808:808"])
def test_globally_routable_addresses_pass(address):
    assert private_kind(address) is None


def test_a_crawl_refuses_the_metadata_address_and_the_ietf_block(data_dir, tmp_path):
    urls = ["http://100.100.100.200/latest/meta-data/", "http://192.0.0.8/", "http://[::ffff:100.100.100.200]/"]
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n" + "".join(f"  - {{city: cairo, url: '{u}', kind: seed, provenance: test}}\n"
                                              for u in urls), encoding="utf-8")
    database = f"sqlite:///{tmp_path / 'evidence.db'}"
    env = {"EVIDENCE_DATABASE_URL": database, "EVIDENCE_DATA_DIR": str(data_dir), "EVIDENCE_CRAWL_DELAY": "0"}
    crawled = CliRunner().invoke(cli, ["crawl", "--edition", "arab-2024", "--sources", str(sources), "--depth", "0",
                                       "--city", "cairo", "--timeout", "2", "--retries", "0", "--json"], env=env)
    assert crawled.exit_code == 0, crawled.output
    assert json.loads(crawled.stdout)["crawl"]
    with session_scope(database) as s:
        fetches = {f.url: (f.outcome, f.reason) for f in s.scalars(select(Fetch))}
    assert {u: o for u, (o, _) in fetches.items()} == dict.fromkeys(urls, "refused")
    assert "shared (carrier-grade NAT) address 100.100.100.200" in fetches[urls[0]][1]
    assert "IETF protocol assignments address 192.0.0.8" in fetches[urls[1]][1]
