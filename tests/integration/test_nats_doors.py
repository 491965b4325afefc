"""The scale-out broker's doors: nats-server's MQTT gateway over TLS, with the users file
careline writes (CARELINE_BROKER__KIND=nats) and partitioned ingest on its service account.

Checked against a real nats-server: no plain MQTT on the TLS port, wrong and anonymous
logins refused, a device's publish under another device's topic never reaches ingest while
its own is stored, and a revoked device is refused after the reload (SIGHUP through the PID
file would be Mosquitto's way; for nats-server the CLI asks for a restart, see below).

nats-server 2.9.10 with TLS on its MQTT listener stops delivering to every MQTT session
that existed before a configuration reload (SIGHUP), even after that session reconnects;
new sessions are served (seen here, and without TLS not). A reload of the users would thus
leave ingest deaf, so careline asks the operator to restart nats-server instead, which
this test does: sessions and queued messages are in JetStream and survive it.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator

import pytest
import trustme
from typer.testing import CliRunner

from careline.cli import app
from crm_core.kernel.broker_login import BrokerTls
from devices.catalog import Catalog
from simulators.broker_link import BrokerRefusedError, BrokerUnreachableError
from simulators.publisher import Publisher
from tests.integration.conftest import Pool, register_devices
from tests.integration.harness import (
    RunningIngest,
    count,
    good_reading,
    new_client_id,
    settings_for,
    wait_for,
)
from tests.integration.nats import NatsServer

pytestmark = pytest.mark.integration

PARTITIONS = 4
A, B = "FR-000001", "FR-000002"
INGEST_PASSWORD = "nats-ingest-R8vKq2mZt5Lw"


class TlsNats:
    def __init__(self) -> None:
        self.server = NatsServer(PARTITIONS)
        folder = self.server.folder
        ca = trustme.CA()
        self.ca_file = folder / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        cert = ca.issue_cert("127.0.0.1", "localhost")
        cert.cert_chain_pems[0].write_to_path(str(folder / "server.pem"))
        cert.private_key_pem.write_to_path(str(folder / "server.key"))
        self.users_file = folder / "users.conf"
        self.pid_file = folder / "nats.pid"
        mapping = f"p.{{{{partition({PARTITIONS},1)}}}}.dt.{{{{wildcard(1)}}}}.{{{{wildcard(2)}}}}"
        self.server.config.write_text(
            f"""
server_name: careline-test
listen: 127.0.0.1:{self.server.client_port}
pid_file: "{self.pid_file}"
jetstream {{
  store_dir: "{folder / "jetstream"}"
}}
mqtt {{
  listen: 127.0.0.1:{self.server.port}
  tls {{
    cert_file: "{folder / "server.pem"}"
    key_file: "{folder / "server.key"}"
  }}
}}
mappings = {{
  "dt.*.*": "{mapping}"
}}
authorization {{
  include "users.conf"
}}
""",
            "utf-8",
        )

    @property
    def port(self) -> int:
        return self.server.port


def careline(nats: TlsNats, database_url: str, *args: str) -> tuple[int, str, str]:
    env = {
        "CARELINE_DATABASE__URL": database_url,
        "CARELINE_BROKER__KIND": "nats",
        "CARELINE_BROKER__PASSWORD_FILE": str(nats.users_file),
        "CARELINE_BROKER__PID_FILE": str(nats.pid_file),
        "CARELINE_MQTT__USERNAME": "careline-ingest",
        "CARELINE_MQTT__PASSWORD": INGEST_PASSWORD,
    }
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def device(nats: TlsNats, user: str | None, password: str | None) -> Publisher:
    return Publisher(
        "127.0.0.1",
        nats.port,
        client_id=new_client_id(),
        username=user,
        password=password,
        tls=BrokerTls(ca_file=nats.ca_file),
        connect_timeout_s=5,
        give_up_after_s=5,
    )


@pytest.fixture
def world(
    db: Pool, database_url: str, catalog: Catalog
) -> Iterator[tuple[TlsNats, RunningIngest, dict[str, str]]]:
    nats = TlsNats()
    try:
        register_devices(db, [A, B])
        code, _, err = careline(nats, database_url, "broker", "sync", "--services")
        assert code == 0, err  # no PID file yet: the file is written, nothing to reload
        code, out, err = careline(nats, database_url, "devices", "provision", A, B)
        secrets = {row["username"]: row["password"] for row in csv.DictReader(io.StringIO(out))}
        assert set(secrets) == {A, B}, err
        nats.server.start()
        settings = settings_for(
            database_url,
            nats.port,
            new_client_id(),
            mqtt={
                "protocol": "3.1.1",
                "partitions": f"0-{PARTITIONS - 1}",
                "tls": True,
                "ca_file": str(nats.ca_file),
                "username": "careline-ingest",
                "password": INGEST_PASSWORD,
            },
        )
        run = RunningIngest(settings, catalog).start()
        try:
            yield nats, run, secrets
        finally:
            run.stop()
    finally:
        nats.server.close()


def readings_of(database_url: str, serial: str) -> int:
    return count(
        database_url,
        "SELECT count(*) FROM readings r JOIN devices d ON d.id = r.device_id WHERE d.serial = %s",
        serial,
    )


def test_nats_takes_only_provisioned_devices_over_tls_each_on_its_own_topics(
    world: tuple[TlsNats, RunningIngest, dict[str, str]], database_url: str
) -> None:
    nats, _, secrets = world
    with pytest.raises(BrokerUnreachableError):  # plain MQTT on the TLS port
        Publisher("127.0.0.1", nats.port, username=A, password=secrets[A], connect_timeout_s=3)
    for user, password in ((A, secrets[B]), (None, None), ("FR-404", "x")):
        with pytest.raises(BrokerRefusedError):
            device(nats, user, password)
    t = time.time() - 60
    with device(nats, A, secrets[A]) as a:
        a.publish(f"dt/{B}/senml", good_reading(B, t, 9.0))  # refused by its permissions
        a.publish(f"dt/{A}/senml", good_reading(A, t, 4.0))
        assert a.flush(10)
    with device(nats, B, secrets[B]) as b:
        b.publish(f"dt/{B}/senml", good_reading(B, t + 1, 5.0))
        assert b.flush(10)
    wait_for(lambda: readings_of(database_url, A) == 1, 20, "A's reading through NATS")
    wait_for(lambda: readings_of(database_url, B) == 1, 20, "B's own reading")
    time.sleep(1)  # the refused one would have come by now: it never does
    assert readings_of(database_url, B) == 1
    assert count(database_url, "SELECT count(*) FROM readings WHERE value = 9.0") == 0

    code, _, err = careline(nats, database_url, "devices", "revoke", A)
    assert code == 0, err
    assert "restart nats-server" in err
    nats.server.stop()
    nats.server.start()
    with pytest.raises(BrokerRefusedError):
        device(nats, A, secrets[A])
    with device(nats, B, secrets[B]) as b:  # the others still get in
        b.publish(f"dt/{B}/senml", good_reading(B, t + 2, 5.5))
        assert b.flush(10)
    wait_for(lambda: readings_of(database_url, B) == 2, 30, "B's reading after the restart")
