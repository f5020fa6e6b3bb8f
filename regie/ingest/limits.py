"""Size limits of what an import reads, and archives unpacked without a zip bomb.

Every door that imports a file (the API, the upload page, the CLI) goes through the importer, and the
importer checks these limits, so none of them can forget: an upload larger than ``max_upload_bytes`` is
refused before it is parsed, and an archive is unpacked only by :func:`extract` here.

A *zip bomb* is a small archive that expands to a huge one (42.zip; David Fifield, "A better zip bomb",
WOOT 2019, overlaps entries so that 46 MB expand to 4.5 PB). OWASP's File Upload Cheat Sheet asks to limit
the unpacked size and the number of entries, and not to trust the sizes an archive declares. So
:func:`extract`:

1. reads the directory first (zip central directory, tar headers) and refuses an archive that *declares*
   more than ``max_unpacked_bytes`` or ``max_members`` entries, before writing a byte;
2. copies each entry through a counter, and stops as soon as the bytes *actually* produced pass the
   entry's declared size or the total limit (a forged directory that under-declares);
3. refuses an expansion ratio (bytes out / archive bytes in) above ``max_ratio`` once more than
   ``ratio_floor`` bytes came out: a real emoncms backup of float32 feeds compresses a few times (long
   runs of NaN gaps a few hundred times), a bomb a thousand times or more (deflate's ceiling is 1032:1).

A compressed emoncms bulk body (``cb=1``) is inflated at most to :data:`MAX_INFLATED_BODY`
(:func:`regie.ingest.emoncms_input.decode_body`, zlib's ``max_length``).

Entries are written under the destination only (no ``..``, no absolute name, no link: tar's ``data``
filter, PEP 706), and only regular files and folders are unpacked.
"""

from __future__ import annotations

import os
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from regie.ingest.errors import IngestError

MAX_UPLOAD_BYTES = 1 << 30  # 1 GiB per file: a year of 10 s data for 50 feeds fits
MAX_UNPACKED_BYTES = 8 << 30  # 8 GiB unpacked per archive
MAX_ARCHIVE_MEMBERS = 100_000
MAX_RATIO = 200
MAX_INFLATED_BODY = 64 << 20  # an emoncms compressed bulk body (cb=1, c=1) inflates to at most 64 MiB
RATIO_FLOOR = 64 << 20  # below 64 MiB unpacked, any ratio is harmless
_CHUNK = 1 << 20


def mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f}"


@dataclass(frozen=True, slots=True)
class Limits:
    """What one import may read and unpack (an app may lower them: ``app.state.max_upload_bytes``...)."""

    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES
    max_members: int = MAX_ARCHIVE_MEMBERS
    max_ratio: float = MAX_RATIO
    ratio_floor: int = RATIO_FLOOR


DEFAULT = Limits()


def stream_size(stream: BinaryIO) -> int | None:
    """The size of a seekable stream (its position kept), or None when it cannot tell."""
    try:
        here = stream.tell()
        size = stream.seek(0, os.SEEK_END)
        stream.seek(here)
    except (OSError, ValueError, AttributeError):
        return None
    return int(size)


def check_upload(stream: BinaryIO, name: str, limits: Limits = DEFAULT) -> None:
    """Refuse a file larger than ``max_upload_bytes``."""
    size = stream_size(stream)
    if size is not None and size > limits.max_upload_bytes:
        raise IngestError(
            f"the file has {mib(size)} MiB, more than the {mib(limits.max_upload_bytes)} MiB an import may read",
            source=name,
        )


class _Budget:
    """Counts the bytes an archive produces against the limits."""

    def __init__(self, name: str, packed: int | None, limits: Limits) -> None:
        self.name, self.packed, self.limits, self.out = name, packed, limits, 0

    def declared(self, total: int, members: int) -> None:
        lim = self.limits
        if members > lim.max_members:
            raise IngestError(f"the archive holds more than {lim.max_members:,} entries: refused", source=self.name)
        if total > lim.max_unpacked_bytes:
            raise IngestError(
                f"the archive would unpack to more than {mib(lim.max_unpacked_bytes)} MiB (it declares "
                f"{mib(total)} MiB): refused (split it, or import it with `regie import`)",
                source=self.name,
            )
        self._ratio(total, "declares")

    def _ratio(self, out: int, verb: str) -> None:
        lim = self.limits
        if self.packed and out > lim.ratio_floor and out / self.packed > lim.max_ratio:
            raise IngestError(
                f"the archive {verb} {mib(out)} MiB from {mib(self.packed)} MiB (ratio {out / self.packed:,.0f}, "
                f"more than {lim.max_ratio:,.0f}): a zip bomb, refused",
                source=self.name,
            )

    def copy(self, src: BinaryIO, dst: BinaryIO, declared: int, entry: str) -> None:
        """Copy one entry, stopping at its declared size or the total limit, whichever comes first."""
        written = 0
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            self.out += len(chunk)
            if written > declared:
                raise IngestError(
                    f"entry {entry} unpacks to more than the {declared:,} bytes it declares: refused", source=self.name
                )
            if self.out > self.limits.max_unpacked_bytes:
                raise IngestError(
                    f"the archive unpacks to more than {mib(self.limits.max_unpacked_bytes)} MiB: refused",
                    source=self.name,
                )
            self._ratio(self.out, "unpacks")
            dst.write(chunk)


def _inside(root: Path, entry: str) -> Path | None:
    target = (root / entry).resolve()
    return target if target.is_relative_to(root) and target != root else None


def _zip(fh: BinaryIO, root: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(fh) as z:
        infos = z.infolist()
        budget.declared(sum(i.file_size for i in infos), len(infos))
        for info in infos:
            target = _inside(root, info.filename)
            if target is None or info.is_dir():
                continue  # "../" or absolute names: never written outside the folder
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(info) as src, open(target, "wb") as dst:
                budget.copy(src, dst, info.file_size, info.filename)


def _tar_members(tar: tarfile.TarFile, budget: _Budget) -> Iterator[tarfile.TarInfo]:
    members = tar.getmembers()  # the headers only (a .tar.gz is inflated to read them, nothing is written)
    budget.declared(sum(m.size for m in members if m.isreg()), len(members))
    return iter(members)


def _tar(fh: BinaryIO, root: Path, budget: _Budget) -> None:
    with tarfile.open(fileobj=fh, mode="r:*") as tar:
        for member in _tar_members(tar, budget):
            try:
                safe = tarfile.data_filter(member, str(root))
            except tarfile.FilterError as exc:
                raise IngestError(f"unsafe archive entry {member.name!r}: {exc}", source=budget.name) from None
            target = _inside(root, safe.name)
            if target is None:
                continue
            if safe.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif safe.isreg():
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                if src is None:
                    continue
                with src, open(target, "wb") as dst:
                    budget.copy(src, dst, member.size, member.name)


def extract(fh: BinaryIO, root: Path, name: str, limits: Limits = DEFAULT) -> None:
    """Unpack a zip or tar (gz, bz2, xz) archive into ``root`` within ``limits`` (module docstring);
    raises :class:`IngestError` (what is wrong, nothing more is written) on a bomb or a broken archive."""
    root = root.resolve()
    budget = _Budget(name, stream_size(fh), limits)
    head = fh.read(4)
    fh.seek(0)
    try:
        if head.startswith(b"PK"):
            _zip(fh, root, budget)
        else:
            _tar(fh, root, budget)
    except zipfile.BadZipFile as exc:
        raise IngestError(f"broken zip archive ({exc})", source=name) from None
    except (zlib.error, NotImplementedError, RuntimeError) as exc:  # corrupt data, unknown method, encrypted
        raise IngestError(f"unreadable zip archive ({exc})", source=name) from None
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, IngestError):
            raise
        raise IngestError(f"not a folder, .tar.gz or .zip archive ({exc})", source=name) from None
