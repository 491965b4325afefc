"""Measure what a broker crash loses: PUBACKed QoS 1 messages queued for an offline
persistent subscriber, the broker SIGKILLed, restarted, the subscriber back.

    .venv/bin/python scripts/durability_probe.py            # Mosquitto settings and NATS

For each configuration it prints the messages the publisher got a PUBACK for, how many
the subscriber received after the crash, and the publish rate (what the setting costs).
Everything runs on loopback ports of this machine, in temporary folders.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

N = int(os.environ.get("PROBE_MESSAGES", "20000"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int) -> None:
    for _ in range(150):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def client(port: int, client_id: str, *, clean: bool) -> mqtt.Client:
    c = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv311,
        clean_session=clean,
    )
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def run(name: str, command: list[str], port: int, wait_before_kill: float) -> None:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    wait_port(port)
    sub = client(port, "probe-sub", clean=False)
    sub.subscribe("dt/#", qos=1)
    time.sleep(1.0)
    sub.disconnect()
    sub.loop_stop()
    pub = client(port, "probe-pub", clean=True)
    started = time.monotonic()
    for chunk in range(0, N, 5000):  # paho refuses to queue without bound
        infos = [
            pub.publish(f"dt/D-{i % 101}/senml", b"x" * 100, qos=1)
            for i in range(chunk, min(chunk + 5000, N))
        ]
        for info in infos:
            info.wait_for_publish(60)
    rate = N / (time.monotonic() - started)
    pub.disconnect()
    pub.loop_stop()
    time.sleep(wait_before_kill)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    wait_port(port)
    got: list[int] = []
    sub = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id="probe-sub",
        protocol=MQTTProtocolVersion.MQTTv311,
        clean_session=False,
    )
    sub.on_message = lambda c, u, m: got.append(1)
    sub.connect("127.0.0.1", port)
    sub.loop_start()
    last, quiet = -1, 0
    while quiet < 6:
        time.sleep(0.5)
        quiet = quiet + 1 if len(got) == last else 0
        last = len(got)
    sub.disconnect()
    sub.loop_stop()
    proc.terminate()
    proc.wait()
    print(
        f"{name:58s} PUBACKed {N:6d}  after SIGKILL {len(got):6d}  "
        f"lost {N - len(got):6d}  publish {rate:7.0f} msg/s",
        flush=True,
    )


def mosquitto(autosave: str, wait: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="probe-mosquitto-"))
    folder.chmod(0o777)
    port = free_port()
    conf = folder / "m.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
        f"persistence_location {folder}/\n{autosave}\nmax_queued_messages 1000000\n"
        "max_queued_bytes 0\nmax_inflight_messages 1000\nlog_dest none\n"
    )
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    label = f"mosquitto {autosave.replace(chr(10), ', ')}; killed {wait:.0f} s later"
    run(label, [binary, "-c", str(conf)], port, wait)
    shutil.rmtree(folder, ignore_errors=True)


def nats(wait: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="probe-nats-"))
    port = free_port()
    conf = folder / "n.conf"
    conf.write_text(
        f"server_name: probe\nlisten: 127.0.0.1:{free_port()}\n"
        f'jetstream {{ store_dir: "{folder}/js" }}\n'
        f"mqtt {{ listen: 127.0.0.1:{port}\n max_ack_pending: 1000 }}\n"
    )
    binary = (
        os.environ.get("CARELINE_TEST_NATS")
        or shutil.which("nats-server")
        or "/usr/sbin/nats-server"
    )
    run(
        f"nats-server 2.9 JetStream; killed {wait:.0f} s later",
        [binary, "-c", str(conf)],
        port,
        wait,
    )
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    which = sys.argv[1:] or ["mosquitto", "nats"]
    if "backlog" in which:  # what saving on changes costs as the offline queue grows
        mosquitto("autosave_interval 60", 1)
        mosquitto("autosave_on_changes true\nautosave_interval 1000", 1)
        mosquitto("autosave_on_changes true\nautosave_interval 10000", 1)
    if "mosquitto" in which:
        mosquitto("autosave_interval 60", 2)
        mosquitto("autosave_interval 60", 62)
        mosquitto("autosave_interval 5", 6)
        mosquitto("autosave_on_changes true\nautosave_interval 1000", 1)
        mosquitto("autosave_on_changes true\nautosave_interval 100", 1)
    if "nats" in which:
        nats(1)
