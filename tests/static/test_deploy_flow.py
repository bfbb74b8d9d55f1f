"""The deploy path every target shares (tasks/deploy.py), driven through an in-memory target: a
test double of the target only (the real targets run in the docker tier). What is checked here
is the bookkeeping around a roll-out that breaks half-way: recorded as failed, lock freed."""

from __future__ import annotations

import pytest
from invoke import Exit

from devtools import tasklib

deploy = tasklib.module("deploy")
releases = tasklib.module("releases")
settings_module = tasklib.module("settings")

SETTINGS = """
[tool.dockwright]
project = "shop"
registry = "127.0.0.1:5000/shop"
dockerhub_mirror = "docker.io/library"
python_version = "3.13"

[tool.dockwright.services.web]
stage = "runtime-minimal"
healthcheck = "http"

[tool.dockwright.deploy]
target = "compose"
"""


class MemoryLog:
    def __init__(self):
        self.records, self.locked = [], False

    def acquire(self, tag):
        if self.locked:
            raise releases.DeployLocked({"who": "someone"})
        self.locked = True

    def holder(self):
        return {"who": "someone"} if self.locked else None

    def release_lock(self):
        self.locked = False

    def record(self, release):
        release.number = len(self.records) + 1
        self.records.append(release)
        return release

    def releases(self):
        return list(self.records)


class TargetLostMidway:
    """Its roll-out fails the way a single host does when the proxy vanishes after the new colour
    started: TargetUnavailable, raised after the target has changed."""

    def __init__(self):
        self.log = MemoryLog()

    def running_tags(self):
        return {"web": "v1"}

    def roll_out(self, tags, env, say):
        raise releases.TargetUnavailable("The proxy of shop is not running.")


@pytest.fixture
def settings(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text(SETTINGS)
    return settings_module.load(path)


def test_a_target_lost_during_the_roll_out_is_a_recorded_failure_and_frees_the_lock(settings):
    target = TargetLostMidway()

    record = deploy.locked_release(target, settings, "deploy", "v2", ["web"], {"web": "sha256:x"}, False)

    assert (record.outcome, record.tag) == ("failed", "v2")
    assert "proxy of shop is not running" in record.message
    assert target.log.records == [record] and record.finished
    assert target.log.locked is False
    with pytest.raises(Exit) as exited:
        deploy.finish(record)
    assert exited.value.code == 1
