"""The ingest pages (``/import``, ``/quarantine``, ``/inputs``) through TestClient, on SQLite and PostgreSQL.

The world is ``governance_world``'s régie, plus an organisation of kind régie with its operator (``opr``), who
may upload but not see the quarantine or the inputs. The Enedis R63 samples of ``tests/data`` are for PRM
30001234567890, unknown to the world until a test declares it.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import re
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from governance_world import FAST, PASSWORD, World, build_world

from regie.governance import accounts
from regie.governance.accounts import Role
from regie.ingest.importer import prm_series_id
from regie.ingest.inputs import InputService
from regie.model import DeliveryPoint, Organisation, OrganisationKind, SeriesKind
from regie.store import Store, open_store

DATA = Path(__file__).parents[1] / "data"
R63 = DATA / "enedis_r63_duplicates.csv"  # 50 rows, 48 distinct half-hours of 2024-02-01
R63_BROKEN = DATA / "broken_r63_text_value.csv"  # 'n/a' in Valeur at line 10
R63_PRM = "30001234567890"
R63_SERIES = prm_series_id(R63_PRM, SeriesKind.CONSUMPTION, daily=False)
FEB_2024 = (1706742000, 1706828400)  # 2024-02-01 local day, UTC seconds


@dataclasses.dataclass
class Régie:
    world: World
    store: Store
    client: TestClient

    def login(self, who: str | None) -> TestClient:
        self.client.cookies.clear()
        if who is not None:
            self.client.cookies.set("regie_session", self.world.sessions[who])
        return self.client

    def csrf(self, who: str) -> str:
        return self.world.csrf(who)


def declare_r63_prm(store: Store) -> None:
    inv = store.load_inventory()
    store.save_inventory(
        dataclasses.replace(inv, delivery_points=[*inv.delivery_points, DeliveryPoint(R63_PRM, "house-a")])
    )


@pytest.fixture
def regie(store_url: str) -> Iterator[Régie]:
    store = open_store(store_url)
    world = build_world(store)
    inv = store.load_inventory()
    store.save_inventory(
        dataclasses.replace(
            inv, organisations=[*inv.organisations, Organisation("regie-org", "Régie", OrganisationKind.REGIE)]
        )
    )
    accounts.create_account(store, "opr", PASSWORD, Role.OPERATOR, operator_of="regie-org", hasher=FAST)
    world.sessions["opr"] = accounts.create_session(store, accounts.get_account(store, "opr"))
    app = world.app()
    with TestClient(app, follow_redirects=False) as client:
        yield Régie(world, store, client)
    service = getattr(app.state, "inputs", None)
    if service is not None:
        service.close()
    store.close()


def upload(r: Régie, who: str, fmt: str, *files: tuple[str, bytes], csrf: bool = True, lang: str = "fr", **fields: str):
    """POST the upload form as ``who`` (with the session's CSRF token unless told otherwise)."""
    client = r.login(who)
    data = {"format": fmt, **fields}
    if csrf:
        data["csrf_token"] = r.csrf(who)
    files_ = [("files", (name, body, "text/csv")) for name, body in files]
    return client.post(f"/import?lang={lang}", data=data, files=files_)


def points(store: Store, series_id: str) -> int:
    try:
        t, _ = store.read(series_id, *FEB_2024)
    except Exception:
        return 0
    return len(t)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# ---------------------------------------------------------------- rendering and who may see


@pytest.mark.parametrize(
    ("lang", "words"),
    [("fr", ("Importer des fichiers", "Quarantaine", "Entrées emoncms")), ("en", ("Import files", "Quarantine"))],
)
def test_pages_render_in_both_languages(regie: Régie, lang: str, words: tuple[str, ...]) -> None:
    client = regie.login("admin")
    page = client.get(f"/import?lang={lang}")
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    for fmt in ("enedis-r63", "enedis-portal", "enedis-dataconnect", "emoncms-archive", "csv"):
        assert f'value="{fmt}"' in page.text
    assert 'name="csrf_token"' in page.text and 'enctype="multipart/form-data"' in page.text
    assert 'name="csv_columns"' in page.text and 'name="csv_unit"' in page.text
    for url in ("/quarantine", "/inputs"):
        assert client.get(f"{url}?lang={lang}").status_code == 200
    joined = "".join(client.get(u).text for u in ("/import", "/quarantine", "/inputs"))
    for w in words:
        assert w in joined


def test_the_public_logs_in_members_and_other_operators_are_refused(regie: Régie) -> None:
    for url in ("/import", "/quarantine", "/inputs"):
        r = regie.login(None).get(url)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        for who in ("alice", "op", "op2"):
            refused = regie.login(who).get(url)
            assert refused.status_code == 403, (url, who)
            assert 'data-testid="refused"' in refused.text
    # the régie's operator uploads, but the quarantine and the inputs are the admin's
    assert regie.login("opr").get("/import").status_code == 200
    assert regie.login("opr").get("/quarantine").status_code == 403
    assert regie.login("opr").get("/inputs").status_code == 403
    refused = upload(regie, "alice", "enedis-r63", ("r63.csv", R63.read_bytes()))
    assert refused.status_code == 403
    assert regie.store.quarantine_summary() == []


# ---------------------------------------------------------------- uploads


def test_an_upload_writes_and_shows_the_counts(regie: Régie) -> None:
    declare_r63_prm(regie.store)
    r = upload(regie, "opr", "enedis-r63", ("r63.csv", R63.read_bytes()))
    assert r.status_code == 200, r.text
    assert 'data-testid="file-ok"' in r.text
    assert re.search(r'data-testid="points-written">48<', r.text)
    assert re.search(r'data-testid="quarantined">0<', r.text)
    assert R63_SERIES in r.text
    assert R63_PRM not in r.text  # the series id is a hash, the PRM never printed
    assert points(regie.store, R63_SERIES) == 48
    again = upload(regie, "opr", "enedis-r63", ("r63.csv", R63.read_bytes()))
    assert again.status_code == 200 and points(regie.store, R63_SERIES) == 48  # stored once


def test_a_broken_file_writes_nothing_and_says_line_and_field(regie: Régie) -> None:
    declare_r63_prm(regie.store)
    before = regie.store.count_points()
    r = upload(regie, "admin", "enedis-r63", ("broken.csv", R63_BROKEN.read_bytes()), lang="en")
    assert r.status_code == 400
    assert 'data-testid="file-error"' in r.text
    assert re.search(r'data-testid="error-line">10<', r.text)
    assert re.search(r'data-testid="error-field">Valeur<', r.text)
    assert "is not a number" in text(r.text)
    assert regie.store.count_points() == before
    assert points(regie.store, R63_SERIES) == 0


def test_several_files_each_all_or_nothing(regie: Régie) -> None:
    declare_r63_prm(regie.store)
    r = upload(regie, "admin", "enedis-r63", ("good.csv", R63.read_bytes()), ("bad.csv", R63_BROKEN.read_bytes()))
    assert r.status_code == 200  # one of two imported
    assert 'data-name="good.csv"' in r.text and 'data-testid="file-ok"' in r.text
    assert 'data-name="bad.csv"' in r.text and 'data-testid="file-error"' in r.text
    assert points(regie.store, R63_SERIES) == 48


def test_a_csv_with_its_mapping(regie: Régie) -> None:
    r = upload(
        regie, "admin", "csv", ("logger.csv", (DATA / "csv_plain_logger.csv").read_bytes()),
        csv_time_column="time", csv_columns="house_power=house-power:W,outdoor_temp=outdoor:degC", csv_unit="W",
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert "house-power" in r.text and "outdoor" in r.text
    assert regie.store.series("house-power").unit == "W"
    assert regie.store.series("outdoor").unit == "degC"


def test_a_csv_without_its_unit_says_so(regie: Régie) -> None:
    r = upload(regie, "admin", "csv", ("logger.csv", (DATA / "csv_plain_logger.csv").read_bytes()))
    assert r.status_code == 400
    assert re.search(r'data-testid="error-field">unit<', r.text)


def test_unknown_format_and_no_file(regie: Régie) -> None:
    assert upload(regie, "admin", "nope", ("a.csv", b"x")).status_code == 400
    client = regie.login("admin")
    r = client.post("/import", data={"format": "csv", "csrf_token": regie.csrf("admin")}, files={"x": ("", b"")})
    assert r.status_code == 400 and 'data-testid="problem"' in r.text


def test_the_size_limit(regie: Régie) -> None:
    regie.client.app.state.max_upload_bytes = 2000
    declare_r63_prm(regie.store)
    r = upload(regie, "admin", "enedis-r63", ("r63.csv", R63.read_bytes()), lang="en")
    assert r.status_code == 413
    assert 'data-testid="too-large"' in r.text and "larger than" in r.text
    assert points(regie.store, R63_SERIES) == 0


def test_the_size_limit_without_a_declared_length(regie: Régie) -> None:
    """A chunked body (no Content-Length) is counted as it streams and stopped at the limit."""
    regie.client.app.state.max_upload_bytes = 2000
    boundary = "regieboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{regie.csrf("admin")}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="format"\r\n\r\nenedis-r63\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="r63.csv"\r\n\r\n'
        ).encode()
        + R63.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 512):
            yield body[i : i + 512]

    client = regie.login("admin")
    before = regie.store.count_points()
    r = client.post("/import", content=chunks(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert regie.store.count_points() == before
    assert regie.store.quarantine_summary() == []


def _zip_bomb(size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("phpfina/1.meta", b"\0" * 8 + np.array([10, 1704067200], "<u4").tobytes())
        z.writestr("phpfina/1.dat", b"\0" * size)
    return buf.getvalue()


def _tar_bomb(size: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("phpfina/1.dat")
        info.size = size
        tar.addfile(info, io.BytesIO(b"\0" * size))
    return buf.getvalue()


@pytest.mark.parametrize("make", [_zip_bomb, _tar_bomb], ids=["zip", "tar.gz"])
def test_an_archive_that_would_unpack_too_big_is_refused(regie: Régie, make) -> None:
    regie.client.app.state.max_unpacked_bytes = 100_000
    bomb = make(4_000_000)
    assert len(bomb) < 20_000  # small on the wire, 4 MB unpacked
    before = regie.store.count_points()
    r = upload(regie, "admin", "emoncms-archive", ("backup.zip", bomb), lang="en")
    assert r.status_code == 400
    assert "would unpack to more than" in text(r.text)
    assert regie.store.count_points() == before


def test_a_small_archive_passes_the_guard(regie: Régie) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("phpfina/7.meta", b"\0" * 8 + np.array([10, 1704067200], "<u4").tobytes())
        z.writestr("phpfina/7.dat", np.array([100.0, 110.0, 120.0], "<f4").tobytes())
    r = upload(regie, "admin", "emoncms-archive", ("backup.zip", buf.getvalue()), emoncms_prefix="old")
    assert r.status_code == 200, r.text
    _, v = regie.store.read("old-7", 1704067200, 1704067230)
    assert v.tolist() == [100.0, 110.0, 120.0]


def test_an_upload_without_the_csrf_token_is_refused(regie: Régie) -> None:
    declare_r63_prm(regie.store)
    r = upload(regie, "admin", "enedis-r63", ("r63.csv", R63.read_bytes()), csrf=False)
    assert r.status_code == 403
    r = upload(regie, "admin", "enedis-r63", ("r63.csv", R63.read_bytes()), csrf=False, csrf_token=regie.csrf("opr"))
    assert r.status_code == 403
    assert points(regie.store, R63_SERIES) == 0


# ---------------------------------------------------------------- quarantine


def _quarantine_refs(html: str) -> list[str]:
    return re.findall(r'name="ref" value="([0-9a-f]+)"', html)


def test_quarantine_shows_masked_keys_and_releases_once_declared(regie: Régie) -> None:
    r = upload(regie, "admin", "enedis-r63", ("r63.csv", R63.read_bytes()))
    assert re.search(r'data-testid="quarantined">50<', r.text)  # 50 rows, 48 distinct instants kept
    client = regie.login("admin")
    page = client.get("/quarantine?lang=en")
    assert "**********7890" in page.text
    assert R63_PRM not in page.text  # never the whole PRM, not even in a hidden field
    assert re.search(r'data-testid="readings">48<', page.text)
    ref = _quarantine_refs(page.text)[0]
    # not declared yet: refused with the reason, nothing taken
    early = client.post("/quarantine/release", data={"ref": ref, "csrf_token": regie.csrf("admin")})
    assert early.status_code == 409 and "still unknown" in early.text
    assert regie.store.quarantine_summary()[0]["readings"] == 48
    declare_r63_prm(regie.store)
    done = client.post("/quarantine/release", data={"ref": ref, "csrf_token": regie.csrf("admin")})
    assert done.status_code == 303 and done.headers["location"] == "/quarantine?done=released"
    assert regie.store.quarantine_summary() == []
    assert points(regie.store, R63_SERIES) == 48
    assert 'data-testid="done"' in client.get("/quarantine?done=released").text


def test_uploads_and_releases_are_decided_and_logged_by_the_write_guard(regie: Régie) -> None:
    """The page is one door of regie.governance.writes: each file and each release leaves a write entry."""
    from regie.governance import audit

    upload(regie, "opr", "csv", ("logger.csv", (DATA / "csv_plain_logger.csv").read_bytes()),
           csv_time_column="time", csv_columns="house_power=house-power:W", csv_unit="W")  # fmt: skip
    upload(regie, "admin", "enedis-r63", ("r63.csv", R63.read_bytes()))
    client = regie.login("admin")
    ref = _quarantine_refs(client.get("/quarantine").text)[0]
    client.post("/quarantine/release", data={"ref": ref, "series": "c3", "csrf_token": regie.csrf("admin")})
    logged = [(e.entry["caller"], e.entry["via"], e.entry["action"], e.entry["decision"], e.entry["series"])
              for e in audit.entries(regie.store, kind="write")]  # fmt: skip
    assert logged == [
        ("opr", "session", "import/csv", "allowed", ["house-power"]),
        ("admin", "session", "import/enedis-r63", "allowed", []),  # all 50 rows quarantined: no series
        ("admin", "session", "quarantine/release", "allowed", ["c3"]),
    ]


def test_quarantine_release_to_a_named_series_converts_units(regie: Régie) -> None:
    upload(regie, "admin", "enedis-r63", ("r63.csv", R63.read_bytes()))
    client = regie.login("admin")
    ref = _quarantine_refs(client.get("/quarantine").text)[0]
    r = client.post("/quarantine/release", data={"ref": ref, "series": "c3", "csrf_token": regie.csrf("admin")})
    assert r.status_code == 303
    t, v = regie.store.read("c3", *FEB_2024)
    assert len(t) == 48 and v[0] == 300.0  # W into a W series: as is


def test_quarantine_discard_is_logged_and_needs_csrf(regie: Régie, caplog: pytest.LogCaptureFixture) -> None:
    upload(regie, "admin", "enedis-r63", ("r63.csv", R63.read_bytes()))
    client = regie.login("admin")
    ref = _quarantine_refs(client.get("/quarantine").text)[0]
    assert client.post("/quarantine/discard", data={"ref": ref}).status_code == 403
    assert regie.store.quarantine_summary() != []
    with caplog.at_level(logging.WARNING, logger="regie.ingest.admin"):
        r = client.post("/quarantine/discard", data={"ref": ref, "csrf_token": regie.csrf("admin")})
    assert r.status_code == 303
    assert regie.store.quarantine_summary() == []
    assert any("admin discarded 48" in m and "**********7890" in m for m in caplog.messages)
    assert not any(R63_PRM in m for m in caplog.messages)
    assert 'data-testid="empty"' in client.get("/quarantine").text
    assert client.post("/quarantine/nope", data={"ref": ref, "csrf_token": regie.csrf("admin")}).status_code == 404


# ---------------------------------------------------------------- inputs


def _post_inputs(store: Store) -> None:
    t = np.array([1735689600, 1735689610], np.int64)
    with InputService(store, clock=lambda: 1735700000) as service:
        service.ingest(
            {("house", "power1"): (t, np.array([110.0, 120.0])), ("house", "vrms"): (t, np.array([231.0, 232.0]))},
            source="test",
        )


def test_inputs_are_listed_and_remapped(regie: Régie) -> None:
    _post_inputs(regie.store)
    client = regie.login("admin")
    page = client.get("/inputs?lang=en")
    assert page.status_code == 200
    assert 'data-node="house" data-name="power1"' in page.text and "emon-house-power1" in page.text
    assert "120.00" in page.text
    r = client.post(
        "/inputs/remap",
        data={
            "node": "house",
            "name": "power1",
            "series": "house-load",
            "create": "1",
            "csrf_token": regie.csrf("admin"),
        },
    )
    assert r.status_code == 303, r.text
    assert regie.store.series("house-load").unit == "W"
    assert "house-load" in client.get("/inputs").text
    # an existing series of another unit is refused; an unknown one without 'create' too
    bad = client.post(
        "/inputs/remap", data={"node": "house", "name": "vrms", "series": "h", "csrf_token": regie.csrf("admin")}
    )
    assert bad.status_code == 409 and "is in W" in bad.text
    missing = client.post(
        "/inputs/remap", data={"node": "house", "name": "vrms", "series": "nope", "csrf_token": regie.csrf("admin")}
    )
    assert missing.status_code == 409
    assert client.post("/inputs/remap", data={"node": "house", "name": "vrms", "series": "h"}).status_code == 403
