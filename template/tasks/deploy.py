"""`invoke deploy`, `invoke rollback`, `invoke releases`: releases that never strand a user.

A deploy takes images already in the registry (`invoke build --push`), refuses to start when one
is missing, takes the deploy lock on the target, deploys, waits for the real outcome (healthy
containers on the new images, or the target's rollback), records the release on the target and
releases the lock. A failed release exits 1 and leaves the previous one serving.

Targets ([tool.dockwright.deploy].target): swarm (stack.yaml, swarm.py), compose (a single
host, deploy/*.yaml, compose.py) and caprover (the CapRover CLI, caprover.py). Each gives the same
five things: `check()`, `prepare()`, `log` (history and lock), `running_tags()` and
`roll_out(tags, env, say)`.
"""

from __future__ import annotations

import os
import sys

from invoke import Exit, task

from . import clock, registry, runner
from .build import choose_targets, git_revision, image_reference, image_registry, load_settings, require_engine
from .caprover import CaproverTarget
from .compose import ComposeTarget
from .releases import DeployLocked, Release, TargetUnavailable
from .settings import Settings
from .swarm import SwarmTarget
from .table import format_table


def open_target(settings: Settings) -> SwarmTarget | ComposeTarget | CaproverTarget:
    if settings.deploy_target == "caprover":
        # Its check() says first what is missing here (URL, password, CLI), then asks for an engine.
        return CaproverTarget(
            settings.deploy_stack, list(settings.services), settings.caprover_url, settings.site_url,
            settings.deploy_timeout,
        )  # fmt: skip
    require_engine()
    if settings.deploy_target == "swarm":
        return SwarmTarget(settings.deploy_stack, settings.root, list(settings.services), settings.deploy_timeout)
    return ComposeTarget(settings.deploy_stack, settings.root, dict(os.environ), settings.deploy_timeout)


def check_images(settings: Settings, services: list[str], tag: str) -> dict[str, str]:
    """Every image of the release, by digest; exit before touching anything if one is missing."""
    digests, missing = {}, []
    for service in services:
        reference = image_reference(settings, service, tag)
        try:
            digests[service] = registry.digest(reference)
        except registry.ImageMissing:
            missing.append(reference)
        except registry.RegistryUnreachable as error:
            raise Exit(
                f"{error}. Check the registry address and your login (`docker login`); nothing was changed.", code=3
            ) from None
    if missing:
        raise Exit(
            f"Not in the registry: {', '.join(missing)}. Push tag {tag} first (`invoke build --push --tag {tag}`); "
            "nothing was changed.",
            code=2,
        )
    return digests


def stack_environment(settings: Settings, tags: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env["REGISTRY"] = image_registry(settings)
    env.setdefault("DOCKERHUB_MIRROR", settings.dockerhub_mirror)
    env["STACK_NAME"] = settings.deploy_stack
    for service, tag in tags.items():
        env[f"{service.upper()}_TAG"] = tag
    return env


def say(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)


def release(settings: Settings, action: str, tag: str, services: list[str], break_lock: bool = False) -> Release:
    """The deploy path shared by deploy and rollback; returns the recorded release."""
    target = open_target(settings)
    try:
        target.check()
        digests = check_images(settings, services, tag)
        target.prepare()
        return locked_release(target, settings, action, tag, services, digests, break_lock)
    except TargetUnavailable as error:
        raise Exit(f"{error} Nothing was changed.", code=3) from None


def locked_release(target, settings, action, tag, services, digests, break_lock) -> Release:
    log = target.log
    if break_lock:
        holder = log.holder()
        if holder:
            print(f"breaking the deploy lock held by {holder.get('who')} since {holder.get('since')}", file=sys.stderr)
        log.release_lock()
    try:
        log.acquire(tag)
    except DeployLocked as error:
        raise Exit(str(error), code=1) from None
    record = Release(action=action, tag=tag, services=services, digests=digests)
    try:
        # Services not being deployed keep the tag they run; on a first deploy they get this one.
        running = target.running_tags()
        tags = {name: running.get(name) or tag for name in settings.services}
        tags.update({name: tag for name in services})
        print(f"{action} {tag} to {settings.deploy_stack}: {', '.join(services)}", file=sys.stderr, flush=True)
        failures = target.roll_out(tags, stack_environment(settings, tags), say)
        record.outcome = "failed" if failures else "succeeded"
        record.message = "; ".join(failures)
    except (runner.CommandFailed, TargetUnavailable) as error:
        # Once the roll-out has begun, the target may have changed: a failed release, recorded,
        # never "nothing was changed".
        record.outcome, record.message = "failed", str(error)[-500:]
    finally:
        record.finished = clock.now()
        try:
            log.record(record)
        finally:
            log.release_lock()
    return record


def finish(record: Release) -> None:
    if record.succeeded:
        print(f"release {record.number}: {record.action} of {record.tag} succeeded")
        return
    raise Exit(
        f"release {record.number}: {record.action} of {record.tag} FAILED: {record.message}\n"
        "The previous release keeps serving (Swarm rolls failed services back; a single host never "
        "switched to the new one; CapRover apps are deployed back to their previous images). "
        "`invoke releases` shows the history.",
        code=1,
    )


@task(
    iterable=["service"],
    help={
        "tag": "Image tag to deploy, already pushed (default: the git commit)",
        "service": "Deploy only this service (repeatable); default: every service",
        "break-lock": "Remove a stale deploy lock (one left by a deploy that died) before deploying",
    },
)
def deploy(c, tag=None, service=None, break_lock=False):
    """Deploy pushed images to the target in [tool.dockwright.deploy]; wait until healthy or rolled back."""
    settings = load_settings()
    services = choose_targets(settings, service)
    tag = tag or git_revision(settings.root)
    if not tag:
        raise Exit("No --tag given and this is not a git repository: name the tag to deploy.", code=2)
    finish(release(settings, "deploy", tag, services, break_lock))


@task(help={"to": "Tag of an earlier release to return to (default: the last good release before the current one)"})
def rollback(c, to=None):
    """Return every service to the previous good release (or --to TAG), and verify it is healthy."""
    settings = load_settings()
    history = read_history(settings)
    good = [record for record in history if record.succeeded]
    if to is None:
        current = good[-1].tag if good else None
        earlier = [record for record in good if record.tag != current]
        if not earlier:
            raise Exit("No earlier good release to roll back to (`invoke releases` shows the history).", code=2)
        to = earlier[-1].tag
    elif to not in {record.tag for record in history}:
        known = ", ".join(dict.fromkeys(record.tag for record in reversed(history))) or "none"
        raise Exit(f"{to} was never released to {settings.deploy_stack} (released: {known}).", code=2)
    finish(release(settings, "rollback", to, list(settings.services)))


def read_history(settings: Settings) -> list[Release]:
    target = open_target(settings)
    try:
        target.check()
        return target.log.releases()
    except TargetUnavailable as error:
        raise Exit(str(error), code=3) from None


@task(name="releases")
def list_releases(c):
    """The release history of the deploy target: every deploy and rollback, who, when, outcome."""
    settings = load_settings()
    history = read_history(settings)
    if not history:
        print(f"No releases recorded for stack {settings.deploy_stack} yet.")
        return
    rows = []
    for record in history:
        started = clock.parse(record.started)
        finished = clock.parse(record.finished) if record.finished else started
        rows.append(
            (
                record.number,
                record.started,
                record.action,
                record.tag,
                ",".join(record.services),
                record.outcome,
                f"{(finished - started).total_seconds():.0f} s",
                record.who,
                record.message[:80],
            )
        )
    print(format_table(("#", "started", "action", "tag", "services", "outcome", "took", "who", "note"), rows))
