"""regie behind deploy/nginx/regie.conf on loopback: the config passes `nginx -t`, plain HTTP is redirected,
and over TLS regie sets Secure, __Host- cookies (it believes X-Forwarded-Proto from 127.0.0.1 only)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from backup_world import fill_store
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from needs import service_missing
from servers import AppServer

from regie.store import open_store
from regie.web.app import create_app

SITE = Path(__file__).parents[2] / "deploy" / "nginx" / "regie.conf"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, as an ACME client would leave fullchain.pem and privkey.pem."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    chain, private = folder / "fullchain.pem", folder / "privkey.pem"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return chain, private


def _site(folder: Path, http_port: int, https_port: int, upstream: int) -> Path:
    """deploy/nginx/regie.conf with this machine's ports and certificate: nothing else changed."""
    chain, private = _certificate(folder)
    text = SITE.read_text()
    text = "\n".join(line for line in text.splitlines() if "[::]" not in line)  # no IPv6 needed on loopback
    text = (
        text.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
        .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
        .replace("/etc/letsencrypt/live/regie.example.org/fullchain.pem", str(chain))
        .replace("/etc/letsencrypt/live/regie.example.org/privkey.pem", str(private))
        .replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};")
    )
    (folder / "regie.conf").write_text(text)
    main = folder / "nginx.conf"
    main.write_text(
        f"worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {folder}/regie.conf;\n}}\n"
    )
    return main


def test_regie_behind_nginx_serves_secure_cookies(tmp_path) -> None:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        service_missing("nginx not found (apt-get install nginx)")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    data_dir = tmp_path / "data"
    fill_store(f"sqlite:///{data_dir / 'regie.sqlite'}", data_dir, points=10)
    store = open_store(f"sqlite:///{data_dir / 'regie.sqlite'}")
    app = create_app(store)
    app.state.secret = b"s" * 32
    conf_dir = tmp_path / "nginx"
    conf_dir.mkdir()
    http_port, https_port = _free_port(), _free_port()
    with AppServer(app) as server:
        conf = _site(conf_dir, http_port, https_port, server.port)
        args = [nginx, "-p", str(conf_dir), "-e", str(conf_dir / "error.log"), "-c", str(conf)]
        test = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=60)
        assert test.returncode == 0, test.stderr
        proc = subprocess.Popen([*args, "-g", "daemon off;"], stderr=subprocess.PIPE)
        try:
            tls = ssl.create_default_context(cafile=str(conf_dir / "fullchain.pem"))
            with httpx.Client(verify=tls, timeout=10) as client:
                deadline = time.monotonic() + 60  # until nginx listens (it exits at once on a bad config)
                while True:
                    try:
                        r = client.get(f"https://127.0.0.1:{https_port}/login")
                        break
                    except httpx.ConnectError:
                        assert proc.poll() is None, proc.stderr.read()
                        assert time.monotonic() < deadline, "nginx did not listen within 60 s"
                        time.sleep(0.02)
                assert r.status_code == 200
                cookie = r.headers["set-cookie"]
                assert cookie.startswith("__Host-regie_prelogin=") and "secure" in cookie.lower(), cookie
                assert r.headers["strict-transport-security"] == "max-age=63072000"
                plain = client.get(f"http://127.0.0.1:{http_port}/login")
                assert plain.status_code == 301 and plain.headers["location"].startswith("https://")
                assert client.get(f"https://127.0.0.1:{https_port}/metrics").status_code == 404
            direct = httpx.get(f"{server.url}/login")  # the same app over plain HTTP: no Secure cookie
            assert direct.headers["set-cookie"].startswith("regie_prelogin=")
            assert "secure" not in direct.headers["set-cookie"].lower()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    store.close()


@pytest.mark.parametrize("header", ["X-Forwarded-For $remote_addr", "X-Forwarded-Proto $scheme"])
def test_the_proxy_replaces_forwarded_headers(header: str) -> None:
    """Set, not appended ($proxy_add_x_forwarded_for): what a client sends never reaches regie."""
    assert f"proxy_set_header {header};" in SITE.read_text()
    assert "proxy_add_x_forwarded_for" not in SITE.read_text()
