"""template/docker/extra-ca.sh, sourced by the Dockerfile's network steps: with the extra_ca
secret present it trusts the system CAs plus the extra bundle; without it, it changes nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

from devtools import variants

SCRIPT = variants.ROOT / "template" / "docker" / "extra-ca.sh"
SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
SHOW = 'printf "%s|%s|%s|%s" "${SSL_CERT_FILE:-}" "${PIP_CERT:-}" "${NODE_EXTRA_CA_CERTS:-}" "${REQUESTS_CA_BUNDLE:-}"'


def source(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", "-c", f". {SCRIPT} && {SHOW}"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
    )


def test_extra_bundle_is_trusted_with_the_system_cas(tmp_path):
    extra = tmp_path / "proxy-ca.pem"
    extra.write_text("-----BEGIN CERTIFICATE-----\nPROXY\n-----END CERTIFICATE-----\n")
    bundle = tmp_path / "bundle.pem"

    result = source({"EXTRA_CA_SECRET": str(extra), "EXTRA_CA_BUNDLE": str(bundle)})

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{bundle}|{bundle}|{extra}|{bundle}"
    assert bundle.read_text() == SYSTEM_BUNDLE.read_text() + extra.read_text()
    assert "extra_ca build secret" in result.stderr


def test_without_the_secret_nothing_changes(tmp_path):
    result = source({"EXTRA_CA_SECRET": str(tmp_path / "absent.pem")})

    assert result.returncode == 0, result.stderr
    assert result.stdout == "|||"
    assert result.stderr == ""
