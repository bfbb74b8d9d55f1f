"""Docker tier: the default and the fullest variant, built with BuildKit through the Docker Hub
mirror (DOCKERHUB_MIRROR), started with every service, Postgres and Redis under the hardening of
compose.yaml (read-only root, no capabilities, no-new-privileges), and probed from outside through
ports on 127.0.0.1 and `docker compose exec`. Tests that stop services come last in the file."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from devtools import bench, tasklib, variants

buildkit = tasklib.module("buildkit")

SLUG = "my_site"
UID = "10001"
VARIANTS = {"default": {}, "fullest": variants.FULLEST}
BUILD_TOOLS = ("gcc", "cc", "make", "npm", "node", "nodejs", "uv", "pip-compile")


@pytest.fixture(scope="module", params=list(VARIANTS), ids=list(VARIANTS))
def stack(request, start_stack):
    return start_stack(request.param, VARIANTS[request.param])


def services_with_healthcheck(stack):
    services = ["web"]
    if stack.answer("celery"):
        services.append("worker")
    if stack.answers.get("flower"):
        services.append("flower")
    return services


def get(url: str) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def run_in_image(stack, image, script):
    return bench.shell(stack.engine, image, script)


def test_health_endpoint_answers_200_on_localhost(stack):
    status, body, _ = get(f"http://127.0.0.1:{stack.env['WEB_PORT']}/health/")

    assert status == 200
    assert json.loads(body) == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}


def seconds_to_first_healthy_check(container) -> float:
    """An upper bound: Docker keeps the last five checks, so an earlier pass may have rotated out."""
    state = container.attrs["State"]
    passed = [buildkit.rfc3339(entry["End"]) for entry in state["Health"]["Log"] if entry["ExitCode"] == 0]
    return (min(passed) - buildkit.rfc3339(state["StartedAt"])).total_seconds()


def test_every_service_reports_healthy(stack):
    for service in services_with_healthcheck(stack):
        assert stack.health(service) == "healthy", service
    web_seconds = seconds_to_first_healthy_check(stack.container("web"))
    print(f"\nweb healthy {web_seconds:.1f} s after its container started")
    assert web_seconds <= 30
    if stack.answers.get("flower"):
        assert get(f"http://127.0.0.1:{stack.env['FLOWER_PORT']}/healthcheck")[0] == 200


def test_runtime_containers_are_non_root_and_hardened(stack):
    for service in services_with_healthcheck(stack):
        container = stack.container(service)
        assert stack.exec(service, "id", "-u").stdout.strip() == UID, service
        assert container.attrs["Config"]["User"] == f"{UID}:{UID}", service
        host = container.attrs["HostConfig"]
        assert host["ReadonlyRootfs"] is True, service
        assert host["CapDrop"] == ["ALL"], service
        assert "no-new-privileges:true" in host["SecurityOpt"], service


def test_runtime_images_carry_no_build_tools_or_new_setuid_binaries(stack, dockerhub_mirror):
    base = f"{dockerhub_mirror}/python:{stack.answer('python_version')}-slim"
    find_setuid = "find / -xdev -perm -4000 -type f 2>/dev/null | sort"
    base_setuid = run_in_image(stack, base, find_setuid)
    images = {stack.image("web")} | ({stack.image("worker")} if stack.answer("celery") else set())
    for image in images:
        found = run_in_image(stack, image, f"for t in {' '.join(BUILD_TOOLS)}; do command -v $t; done; true")
        assert found.strip() == "", f"{image} has build tools: {found}"
        modules = run_in_image(stack, image, "find / -xdev -name node_modules -type d 2>/dev/null | head -1")
        assert modules.strip() == "", f"{image} carries node_modules: {modules}"
        assert run_in_image(stack, image, find_setuid) == base_setuid, f"{image} adds setuid binaries"


def test_scan_finds_no_secret_or_misconfiguration_in_any_image(stack, tmp_path):
    """`invoke scan` of every service image of the variant: secrets in every layer and in the
    image history, hadolint and `trivy config`, nothing at MEDIUM or above. (No vulnerability DB
    is reachable on every machine, so vulnerabilities are allowed to be skipped here.) Compose runs
    Flower from the worker's image, so scanning the worker covers it."""
    built = ["web", "worker"] if stack.answer("celery") else ["web"]
    options = ["--tag", stack.env["TAG"], "--severity", "MEDIUM,HIGH,CRITICAL", "--allow-missing-db"]
    options += ["--db-repository", "127.0.0.1:9/none:2", "--cache-dir", str(tmp_path)]
    options += [argument for service in built for argument in ("--service", service)]
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "scan", *options],
        cwd=stack.project,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=900,
    )

    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((stack.project / "build" / "scan" / "summary.json").read_text())
    secrets = [scan for scan in summary["scans"] if scan["scanner"] == "secrets"]
    assert [scan["target"] for scan in secrets] == built
    assert all(scan["result"] == "pass" and not scan["findings"] for scan in secrets)


def test_migrations_ran(stack):
    stack.exec("web", "python", "manage.py", "migrate", "--check")  # non-zero if any is unapplied
    plan = stack.exec("web", "python", "manage.py", "showmigrations", "django_celery_beat", "sessions").stdout

    assert "[X] 0001_initial" in plan
    assert "[ ]" not in plan


def test_worker_executes_a_task(stack):
    # An expired session the task must delete: proves the worker ran it against the database.
    output = stack.django_shell(
        "from datetime import timedelta\n"
        "from django.contrib.sessions.models import Session\n"
        "from django.utils import timezone\n"
        f"from {SLUG}.tasks import clear_expired_sessions\n"
        "Session.objects.create(session_key='e2e-expired', session_data='e30=',"
        " expire_date=timezone.now() - timedelta(days=1))\n"
        "print('deleted', clear_expired_sessions.delay().get(timeout=60))\n"
        "print('left', Session.objects.filter(session_key='e2e-expired').count())\n"
    )

    assert "deleted 1" in output
    assert "left 0" in output
    worker_logs = stack.compose("logs", "--no-color", "worker").stdout
    assert re.search(rf"Task {SLUG}\.tasks\.clear_expired_sessions\[[0-9a-f-]+\] succeeded", worker_logs)


def test_worker_renders_a_page_to_pdf_with_chromium(stack):
    output = stack.django_shell(
        f"from {SLUG}.tasks import render_page_to_pdf\nprint(render_page_to_pdf.delay('/').get(timeout=120))\n"
    )
    result = eval(output.strip().splitlines()[-1], {})  # the task's dict, printed by the shell

    assert result["bytes"] > 1000
    head = stack.exec("worker", "python", "-c", f"print(open({result['path']!r}, 'rb').read(5))").stdout
    assert head.strip() == "b'%PDF-'"


def test_pages_use_hashed_static_files_served_by_whitenoise(stack):
    port = stack.env["WEB_PORT"]
    status, page, _ = get(f"http://127.0.0.1:{port}/")
    assert status == 200
    css = re.search(rb'href="(/static/app\.[0-9a-f]{12}\.css)"', page)
    js = re.search(rb'src="(/static/app\.[0-9a-f]{12}\.js)"', page)
    assert css and js, page[:500]

    status, body, headers = get(f"http://127.0.0.1:{port}{css.group(1).decode()}")
    assert status == 200
    assert b".page" in body
    assert "immutable" in headers.get("Cache-Control", "")


def test_generated_project_passes_its_own_tests(stack):
    result = stack.compose("run", "--rm", "test", check=False, timeout=600)

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary, summary


def test_beat_sends_from_one_replica_only(stack):
    if stack.name != "default":
        pytest.skip("the leader lock is the same code in every variant; proven once")
    stack.compose("up", "--detach", "--wait", "--scale", "worker=2", "--no-recreate", "worker")
    stack.django_shell(
        "from django_celery_beat.models import IntervalSchedule, PeriodicTask\n"
        "every, _ = IntervalSchedule.objects.get_or_create(every=2, period='seconds')\n"
        f"PeriodicTask.objects.create(name='e2e-probe', task='{SLUG}.tasks.clear_expired_sessions',"
        " interval=every)\n"
    )
    time.sleep(20)
    sends = {
        container.name: container.logs().decode().count("Sending due task e2e-probe")
        for container in stack.containers("worker")
    }
    stack.django_shell("from django_celery_beat.models import PeriodicTask\nPeriodicTask.objects.all().delete()\n")
    stack.compose("up", "--detach", "--wait", "--scale", "worker=1", "--no-recreate", "worker")

    print(f"\nsends of a 2 s periodic task over 20 s, per replica: {sends}")
    assert len(sends) == 2
    assert sorted(sends.values())[0] == 0, "two replicas sent the same periodic task"
    assert 3 <= sorted(sends.values())[1] <= 11


def test_web_turns_unhealthy_when_postgres_stops(stack):
    interval = 10  # the web HEALTHCHECK's --interval
    stack.compose("stop", "postgres")
    try:
        seconds = stack.wait_for_health("web", "unhealthy", timeout=3 * interval + 15)
        print(f"\nweb unhealthy {seconds:.0f} s after Postgres stopped")
        assert seconds <= 3 * interval + 5  # three failed checks, each bounded by the 3 s connect timeout
    finally:
        stack.compose("start", "postgres")
    stack.wait_for_health("web", "healthy", timeout=60)


def test_sigterm_lets_an_in_flight_request_finish_and_web_exits_0(stack):
    container = stack.container("web")
    with socket.create_connection(("127.0.0.1", int(stack.env["WEB_PORT"])), timeout=15) as client:
        client.sendall(b"GET /health/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers not finished yet
        time.sleep(1)
        started = time.monotonic()
        container.kill(signal="SIGTERM")
        time.sleep(1)
        client.sendall(b"Connection: close\r\n\r\n")
        response = b""
        while chunk := client.recv(65536):
            response += chunk
    assert response.startswith(b"HTTP/1.1 200"), response[:200]
    result = container.wait(timeout=15)
    print(f"\nweb exited {result['StatusCode']} {time.monotonic() - started:.1f} s after SIGTERM")
    assert result["StatusCode"] == 0
    assert time.monotonic() - started < 10


def test_sigterm_stops_the_worker_cleanly(stack):
    container = stack.container("worker")
    started = time.monotonic()
    container.kill(signal="SIGTERM")
    result = container.wait(timeout=15)
    print(f"\nworker exited {result['StatusCode']} {time.monotonic() - started:.1f} s after SIGTERM")
    assert result["StatusCode"] == 0
    assert time.monotonic() - started < 10
