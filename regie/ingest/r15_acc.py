"""Enedis R15 files with collective self-consumption (ACC) energies: XML in a ZIP, AES-encrypted.

What the file is (sources and what they confirm: ``docs/enedis-formats.md``):

- Enedis delivers its SGE flows as ZIP archives encrypted with AES-CBC, PKCS#7 padding. Two schemes are in
  use (Energie-De-Nantes/electricore, ADR-0037 and ADR-0040, probed on real files): until June 2026 an
  AES-128 key *and* an IV, both given to the recipient as hex; since the night of 8–9 June 2026 an AES-256
  key alone, the IV being the first 16 bytes of each file. Whether the key is right shows after decryption:
  valid padding and a ZIP that starts with ``PK\\x03\\x04`` (the same check electricore makes). The older
  Energie-De-Nantes/electriflux ``utils.decrypt_file`` is the same AES-CBC with key and IV in hex.
- Inside, one or more ``R15`` XML documents (electriflux ``simple_flux.yaml``, key ``R15_ACC``): one ``PRM``
  element per delivery point (``Id_PRM``), one ``Donnees_Releve`` per reading with ``Date_Releve`` (the
  reading's instant, ISO 8601, with its UTC offset in the files electricore shows), optionally
  ``Date_Releve_Precedent``, and ``Classe_Temporelle_Distributeur`` elements, each one time class
  (``Id_Classe_Temporelle``: BASE, HP, HC, HPH...) of one measure class (``Classe_Mesure``) with ``Valeur``
  and ``Unite_Mesure``. Measure class 1 is the meter's cumulative index (not read here); classes 3 to 6 are
  the ACC energies, named by electriflux: 3 *autoproduite*, 4 *alloproduite*, 5 *autoconsommée*,
  6 *surplus*.

What regie does with it, and what is assumed (no Enedis guide of R15 could be read; see the docs page):

- classes 3–6 are taken as **energies over the reading's period**, from ``Date_Releve_Precedent`` (else the
  same PRM's previous reading in the file) to ``Date_Releve`` — Enedis stamps the *end*, regie stores the
  value at the period's *start* with the period's duration (``steps``), like every other Enedis reader;
  the time classes of one measure class are added up;
- each flow of each delivery point is a series of its own on that point (``acc-<hash>-<flow>``, kind
  ``sensor`` so that no balance counts it as consumption), created on first import; an unknown PRM is an
  error (declare the operation's participants first), not the quarantine;
- units: ``kWh`` or ``Wh`` per class, else the header's ``Unite_Mesure_Index``.

Times without an offset are local (Europe/Paris by default), the autumn's repeated hour taken in file order
(:func:`regie.ingest.sources.parse_times`); a local time in the spring gap is an error.

Bounded like the other archives: the encrypted file is at most ``max_upload_bytes`` (checked by the
importer), it is decrypted to a temporary file, and the ZIP is unpacked by
:func:`regie.ingest.limits.extract` (entry count, unpacked size, expansion ratio). XML is read with
``xml.etree.ElementTree``: no DTD or external entity is fetched, and expat (≥ 2.4.1) refuses entity
expansion attacks.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

import numpy as np
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from regie.ingest.errors import IngestError
from regie.ingest.limits import DEFAULT as DEFAULT_LIMITS
from regie.ingest.limits import Limits, extract
from regie.ingest.registry import FileAdapter, register
from regie.ingest.sources import SourceReadings, check_not_future, parse_times, unit_scale
from regie.model import IntervalConvention, SeriesKind, validate_prm
from regie.model.metering import mask_prm

PARIS = ZoneInfo("Europe/Paris")
ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1 << 20

#: Measure classes (``Classe_Mesure``) of the ACC energies, as electriflux ``simple_flux.yaml`` names them,
#: and the flow name regie gives each series.
ACC_CLASSES: dict[str, str] = {"3": "autoproduite", "4": "alloproduite", "5": "autoconsommee", "6": "surplus"}


@dataclass(frozen=True, slots=True)
class AesKey:
    """The PMO's decryption key: AES-128/192/256; ``iv`` given with it (the older scheme), or None when each
    file starts with its own IV (the scheme since June 2026)."""

    key: bytes
    iv: bytes | None = None

    def __post_init__(self) -> None:
        if len(self.key) not in (16, 24, 32):
            raise IngestError(
                f"an AES key is 16, 24 or 32 bytes (32, 48 or 64 hex digits), got {len(self.key)}", field="key"
            )
        if self.iv is not None and len(self.iv) != 16:
            raise IngestError(f"an AES IV is 16 bytes (32 hex digits), got {len(self.iv)}", field="iv")

    def __repr__(self) -> str:  # never the secret, in a traceback or a log
        return f"AesKey({8 * len(self.key)} bits, {'with' if self.iv else 'no'} IV)"


def _hex(text: str, what: str) -> bytes:
    clean = "".join(str(text).split())
    try:
        return bytes.fromhex(clean)
    except ValueError:
        raise IngestError(f"the {what} is not hexadecimal", field=what) from None


def aes_key(
    key: str | bytes | None = None, iv: str | bytes | None = None, key_file: str | os.PathLike | None = None
) -> AesKey | None:
    """The key from options: ``key`` / ``iv`` in hex, or ``key_file``, a file holding the key then (optionally)
    the IV, in hex, one per line (``key=`` / ``iv=`` prefixes allowed). A file keeps the key out of the shell's
    history and of the process list."""
    if key_file is not None:
        try:
            lines = [ln.strip() for ln in Path(key_file).read_text("ascii").splitlines() if ln.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise IngestError(
                f"cannot read the key file ({exc.__class__.__name__})", source=str(key_file), field="key_file"
            ) from None
        values = {}
        for n, ln in enumerate(lines):
            name, sep, value = ln.partition("=")
            if sep and name.strip().lower() in ("key", "iv"):
                values[name.strip().lower()] = value
            else:
                values.setdefault("key" if n == 0 else "iv", ln)
        if "key" not in values:
            raise IngestError("the key file holds no key", source=str(key_file), field="key_file")
        key, iv = values["key"], values.get("iv", iv)
    if key is None:
        return None
    k = key if isinstance(key, bytes) else _hex(key, "key")
    v = iv if isinstance(iv, bytes) or iv is None else (_hex(iv, "iv") if str(iv).strip() else None)
    return AesKey(k, v)


def decrypt(src: BinaryIO, dst: BinaryIO, key: AesKey, *, source: str) -> None:
    """AES-CBC decryption of ``src`` into ``dst`` (streamed), PKCS#7 padding removed; an IngestError that says
    the key or IV is wrong when the padding or the ZIP signature is not there (nothing is kept then)."""
    iv = key.iv
    if iv is None:
        iv = src.read(16)
        if len(iv) != 16:
            raise IngestError("the file is shorter than an AES block: not an encrypted Enedis file", source=source)
    decryptor = Cipher(algorithms.AES(key.key), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    head = b""
    wrong = IngestError(
        "cannot decrypt with this key and IV (the result is not a ZIP archive): check the key, and "
        "give the IV only if Enedis gave one with the key",
        source=source,
        field="key",
    )
    try:
        while chunk := src.read(_CHUNK):
            out = unpadder.update(decryptor.update(chunk))
            if len(head) < 4:
                head += out[: 4 - len(head)]
                if len(head) >= 4 and head != ZIP_MAGIC:
                    raise wrong  # fail at the first block, without decrypting the rest
            dst.write(out)
        out = unpadder.update(decryptor.finalize()) + unpadder.finalize()
    except ValueError:  # a ciphertext that is not whole blocks, or a padding that is not PKCS#7: a wrong key
        raise wrong from None
    head += out[: max(0, 4 - len(head))]
    if head[:4] != ZIP_MAGIC:
        raise wrong
    dst.write(out)


@contextmanager
def _xml_files(source: BinaryIO | Path, name: str, key: AesKey | None, limits: Limits) -> Iterator[list[Path]]:
    """The XML documents of the file: itself if it is XML, else the ZIP's (decrypted first if it is not a ZIP),
    unpacked within ``limits`` into a temporary folder removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="regie-r15-"))
    fh = open(source, "rb") if isinstance(source, str | os.PathLike) else source  # noqa: SIM115
    try:
        head = fh.read(64)
        fh.seek(0)
        # XML only when it says so: an encrypted file's first bytes are random (its IV, since June 2026)
        if head.lstrip(b"\xef\xbb\xbf \r\n\t").startswith((b"<?xml", b"<R15")):
            target = tmp / "r15.xml"
            with open(target, "wb") as out:
                shutil.copyfileobj(fh, out)
            yield [target]
            return
        archive = fh
        if not head.startswith(ZIP_MAGIC):
            if key is None:
                raise IngestError(
                    "the file is neither XML nor a ZIP archive: it is encrypted; give the AES key Enedis "
                    "gave the PMO (options key and iv in hex, or key_file: a file holding them)",
                    source=name,
                    field="key",
                )
            archive = open(tmp / "decrypted.zip", "w+b")  # noqa: SIM115
            decrypt(fh, archive, key, source=name)
            archive.seek(0)
        unpacked = tmp / "unpacked"
        unpacked.mkdir()
        try:
            extract(archive, unpacked, name, limits)
        finally:
            if archive is not fh:
                archive.close()
        files = sorted(p for p in unpacked.rglob("*") if p.is_file() and p.suffix.lower() == ".xml")
        if not files:
            raise IngestError("the archive holds no .xml file", source=name)
        yield files
    finally:
        if fh is not source:
            fh.close()
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- XML


@dataclass(slots=True)
class _Reading:
    prm: str
    where: str
    end: str
    start: str | None
    energy: dict[str, float]  # flow -> Wh over the period, time classes added up


def _text(el: ET.Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _read_xml(path: Path, source: str) -> list[_Reading]:
    """The ACC energies of one R15 document, reading by reading (streamed PRM by PRM)."""
    header_unit = ""
    out: list[_Reading] = []
    n_prm = 0
    try:
        events = ET.iterparse(path, events=("start", "end"))
        _, root = next(events)
        if _local(root.tag) != "R15":
            raise IngestError(f"the root element is <{_local(root.tag)}>, not <R15>: not an R15 file", source=source)
        for event, el in events:
            if event == "start":
                continue
            tag = el.tag
            if tag.endswith("En_Tete_Flux") and _local(tag) == "En_Tete_Flux":
                header_unit = _text(_child(el, "Unite_Mesure_Index"))
            elif tag.endswith("PRM") and _local(tag) == "PRM":
                n_prm += 1
                out.extend(_prm(el, f"PRM[{n_prm}]", header_unit, source))
                el.clear()
    except ET.ParseError as exc:
        line, col = exc.position
        raise IngestError(
            f"not well-formed XML ({exc.msg if hasattr(exc, 'msg') else exc})",
            source=source,
            line=line,
            field=f"column {col}",
        ) from None
    return out


def _prm(el: ET.Element, where: str, header_unit: str, source: str) -> list[_Reading]:
    try:
        prm = validate_prm(_text(_child(el, "Id_PRM")))
    except ValueError as exc:
        raise IngestError(str(exc), source=source, field=f"{where}/Id_PRM") from None
    out = []
    for r, rel in enumerate(_children(el, "Donnees_Releve"), start=1):
        at = f"{where}/Donnees_Releve[{r}]"
        end = _text(_child(rel, "Date_Releve"))
        if not end:
            raise IngestError("a reading without Date_Releve", source=source, field=f"{at}/Date_Releve")
        energy: dict[str, float] = {}
        for c, cls in enumerate(_children(rel, "Classe_Temporelle_Distributeur"), start=1):
            flow = ACC_CLASSES.get(_text(_child(cls, "Classe_Mesure")))
            if flow is None:
                continue  # the index (class 1) and any other measure: not an ACC energy
            field = f"{at}/Classe_Temporelle_Distributeur[{c}]"
            unit_text = _text(_child(cls, "Unite_Mesure")) or header_unit
            if not unit_text:
                raise IngestError(
                    "no Unite_Mesure here nor Unite_Mesure_Index in the header",
                    source=source,
                    field=f"{field}/Unite_Mesure",
                )
            unit, factor = unit_scale(unit_text, source=source, field=f"{field}/Unite_Mesure")
            if unit != "Wh":
                raise IngestError(
                    f"unit {unit_text!r} is not an energy (Wh, kWh)", source=source, field=f"{field}/Unite_Mesure"
                )
            raw = _text(_child(cls, "Valeur"))
            try:
                value = float(raw)  # xsd:decimal: a point, never a comma
            except ValueError:
                raise IngestError(f"{raw!r} is not a number", source=source, field=f"{field}/Valeur") from None
            if not np.isfinite(value) or value < 0:
                raise IngestError(
                    f"{raw!r}: an energy is a non-negative number", source=source, field=f"{field}/Valeur"
                )
            energy[flow] = energy.get(flow, 0.0) + value * factor  # time classes add up
        if energy:
            out.append(_Reading(prm, at, end, _text(_child(rel, "Date_Releve_Precedent")) or None, energy))
    return out


def _instants(texts: list[str], prms: list[str], fields: list[str], zone) -> np.ndarray:
    """UTC seconds of the readings' dates, naive ones local to ``zone`` (see module docstring); ``fields`` are
    ``source|element path`` of each date, for the error."""
    try:
        return parse_times(
            np.array(texts, dtype=object),
            zone=zone,
            source="",
            field="Date_Releve",
            lines=np.arange(len(texts)),
            keys=np.array(prms, dtype=object),
        )
    except IngestError as exc:
        source, _, field = fields[exc.line if exc.line is not None else 0].partition("|")
        raise IngestError(exc.why, source=source, field=field) from None


def flow_series_id(prm: str, flow: str) -> str:
    """The series of one ACC flow of a delivery point: pseudonymous and stable, like the importer's own ids."""
    return f"acc-{hashlib.sha256(prm.encode()).hexdigest()[:12]}-{flow}"


def parse_r15_acc(
    source: BinaryIO | Path,
    name: str = "<stream>",
    *,
    key: str | bytes | None = None,
    iv: str | bytes | None = None,
    key_file: str | os.PathLike | None = None,
    zone: ZoneInfo | str = PARIS,
    now: float | None = None,
    limits: Limits = DEFAULT_LIMITS,
    **_: object,
) -> Iterator[SourceReadings]:
    """Yield each delivery point's ACC flows (Wh per reading period, stamped at the period's start, UTC).

    The whole file is decrypted, unpacked and checked before the first batch: a wrong key or a bad document
    writes nothing."""
    aes = aes_key(key, iv, key_file)
    readings: list[tuple[str, _Reading]] = []
    with _xml_files(source, name, aes, limits) as files:
        for path in files:
            where = name if len(files) == 1 and path.name == "r15.xml" else f"{name}:{path.name}"
            readings.extend((where, r) for r in _read_xml(path, where))
    if not readings:
        raise IngestError("no collective self-consumption energy (Classe_Mesure 3 to 6) in this R15 file", source=name)
    # All dates at once (a few calls, not one per reading): ends and starts apart, each in file order per PRM,
    # so that the repeated autumn hour is told apart within each column (first summer, then winter time).
    prms = [r.prm for _, r in readings]
    ends = _instants([r.end for _, r in readings], prms, [f"{w}|{r.where}/Date_Releve" for w, r in readings], zone)
    try:
        check_not_future(ends, np.arange(len(ends)), source="", field="Date_Releve", now=now)
    except IngestError as exc:
        src, r = readings[exc.line or 0]
        raise IngestError(exc.why, source=src, field=f"{r.where}/Date_Releve") from None
    given = [i for i, (_, r) in enumerate(readings) if r.start]
    starts = np.full(len(readings), -1, np.int64)
    if given:
        starts[given] = _instants(
            [readings[i][1].start for i in given],
            [prms[i] for i in given],
            [f"{readings[i][0]}|{readings[i][1].where}/Date_Releve_Precedent" for i in given],
            zone,
        )
    groups: dict[str, list[int]] = {}
    for i, prm in enumerate(prms):
        groups.setdefault(prm, []).append(i)
    for prm, members in groups.items():
        order = sorted(members, key=lambda i: ends[i])
        for rank, i in enumerate(order):
            src, r = readings[i]
            if starts[i] < 0:
                if rank == 0:
                    raise IngestError(
                        "no Date_Releve_Precedent and no earlier reading of this point in the file: the "
                        "period these energies cover is unknown",
                        source=src,
                        field=f"{r.where}/Date_Releve_Precedent",
                    )
                starts[i] = ends[order[rank - 1]]  # the previous reading of the same point ends this one's period
            if starts[i] >= ends[i]:
                raise IngestError(
                    "Date_Releve_Precedent is not before Date_Releve",
                    source=src,
                    field=f"{r.where}/Date_Releve_Precedent",
                )
        for flow in ACC_CLASSES.values():
            has = [i for i in order if flow in readings[i][1].energy]
            if not has:
                continue
            idx = np.array(has, dtype=np.int64)
            yield SourceReadings(
                flow_series_id(prm, flow),
                starts[idx],
                np.array([readings[i][1].energy[flow] for i in has]),
                unit="Wh",
                step=None,
                steps=ends[idx] - starts[idx],
                kind=SeriesKind.SENSOR,
                prm=prm,
                name=f"ACC {flow} (Enedis R15) {mask_prm(prm)}",
                convention=IntervalConvention.START,
            )


def read_r15_acc(path: str | Path, **options) -> Iterator[SourceReadings]:
    """Read an R15 ACC file by path (encrypted ZIP, ZIP or XML)."""
    path = Path(path)
    yield from parse_r15_acc(path, path.name, **options)


register(
    FileAdapter(
        "enedis-r15-acc",
        "Enedis R15 with collective self-consumption energies (XML, in a ZIP, AES-encrypted: option key_file)",
        parse_r15_acc,
        (".zip", ".xml"),
    )
)

__all__ = ["ACC_CLASSES", "AesKey", "aes_key", "decrypt", "flow_series_id", "parse_r15_acc", "read_r15_acc"]
