"""Broker secrets, the password file, TLS settings and the read-ahead socket under TLS."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import trustme

from careline.settings import SettingsError, load_settings
from crm_core.kernel.broker_login import BrokerLogin, BrokerTls, BrokerTlsError
from devices.credentials.password_file import PasswordFileError, render, write_password_file
from devices.credentials.secret_hash import matches, mosquitto_hash, new_secret
from ingest.mqtt_source import ReadAheadSocket
from tests import services


def test_secrets_are_long_random_and_url_safe() -> None:
    made = {new_secret() for _ in range(100)}
    assert len(made) == 100
    assert all(len(s) == 43 and s.replace("-", "").replace("_", "").isalnum() for s in made)


def test_our_hash_checks_what_mosquitto_passwd_wrote(tmp_path: Path) -> None:
    binary = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not Path(binary).exists():
        services.unavailable("mosquitto", "no mosquitto_passwd")
    file = tmp_path / "passwd"
    subprocess.run([binary, "-b", "-c", str(file), "FR-1", "s3cret-value"], check=True)
    user, hashed = file.read_text().strip().split(":", 1)
    assert user == "FR-1"
    assert matches("s3cret-value", hashed)
    assert not matches("s3cret-valuE", hashed)
    # ... and ours has the same shape: $7$, 101 iterations, 12-byte salt, 64-byte digest.
    ours = mosquitto_hash("s3cret-value").split("$")
    theirs = hashed.split("$")
    assert ours[:3] == theirs[:3] == ["", "7", "101"]
    assert (len(ours[3]), len(ours[4])) == (len(theirs[3]), len(theirs[4]))


def test_a_malformed_hash_matches_nothing() -> None:
    for bad in ("", "$6$abc$def", "$7$x$y", "plain"):
        assert not matches("anything", bad)


def test_the_password_file_refuses_names_that_would_break_its_lines() -> None:
    for user in ("a:b", "a\nb"):
        with pytest.raises(PasswordFileError):
            render([(user, "$7$101$x$y")])


def test_the_password_file_is_replaced_whole_and_keeps_its_mode(tmp_path: Path) -> None:
    file = tmp_path / "auth" / "passwd"
    assert write_password_file(file, [("b", "$7$1$x$y"), ("a", "$7$1$z$w")]) == 2
    assert stat.S_IMODE(file.stat().st_mode) == 0o644
    assert file.read_text() == "a:$7$1$z$w\nb:$7$1$x$y\n"
    file.chmod(0o640)
    write_password_file(file, [("c", "$7$1$q$r")])
    assert file.read_text() == "c:$7$1$q$r\n"
    assert stat.S_IMODE(file.stat().st_mode) == 0o640
    assert [p.name for p in file.parent.iterdir()] == ["passwd"]  # no temporary left


class _TlsLikeSocket:
    """What ReadAheadSocket sees of an ssl.SSLSocket: recv, and pending() for decrypted
    bytes that select() cannot see."""

    def __init__(self, records: list[bytes]) -> None:
        self._records = records
        self.decrypted = 0

    def recv(self, size: int) -> bytes:
        return self._records.pop(0) if self._records else b""

    def pending(self) -> int:
        return self.decrypted


def test_pending_counts_the_tls_layers_decrypted_bytes_as_well_as_ours() -> None:
    inner = _TlsLikeSocket([b"\x30\x03abc\x30"])
    wrapped = ReadAheadSocket(inner)
    assert wrapped.pending() == 0
    assert wrapped.recv(2) == b"\x30\x03"
    assert wrapped.pending() == 4
    inner.decrypted = 700  # the SSL object holds more, already decrypted
    assert wrapped.pending() == 704
    wrapped.recv(4)
    assert wrapped.pending() == 700  # paho must read again without waiting in select


def test_tls_settings_name_the_variable_and_need_each_other(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"CARELINE_MQTT__CA_FILE: .*no such file"):
        load_settings(mqtt={"tls": True, "ca_file": str(tmp_path / "missing.pem")})
    ca = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    with pytest.raises(SettingsError, match="used only with tls=true"):
        load_settings(mqtt={"ca_file": str(ca)})
    with pytest.raises(SettingsError, match="key_file needs cert_file"):
        load_settings(mqtt={"tls": True, "key_file": str(ca)})
    settings = load_settings(
        mqtt={"tls": True, "ca_file": str(ca), "username": "u", "password": "pw-Secret-9"}
    )
    login = settings.mqtt.login()
    assert login == BrokerLogin("u", "pw-Secret-9", BrokerTls(ca_file=ca))
    assert settings.mqtt.login("careline-push", "q").username == "careline-push"
    assert "pw-Secret-9" not in repr(login)  # the password is never printed
    assert load_settings(mqtt={"tls": False, "ca_file": ""}).mqtt.login().tls is None


def test_a_client_certificate_loads_and_a_bad_pem_is_a_clear_error(tmp_path: Path) -> None:
    ca = trustme.CA()
    client = ca.issue_cert("FR-000001")
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    client.cert_chain_pems[0].write_to_path(str(cert))
    client.private_key_pem.write_to_path(str(key))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = BrokerTls(ca_file, cert, key).context()
    assert context.check_hostname
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(BrokerTlsError, match="cannot load the broker TLS files"):
        BrokerTls(ca_file=bad).context()
