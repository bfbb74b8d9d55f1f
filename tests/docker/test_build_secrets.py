"""Docker tier: an extra CA bundle given to the build as the BuildKit secret `extra_ca` (how users
behind a TLS-intercepting proxy build) is used by the network steps and stored in no layer and in
no history entry of the image."""

from __future__ import annotations

import uuid


def test_extra_ca_secret_is_used_and_never_stored(render_variant, dockerhub_mirror, runner, engine, tmp_path):
    project = render_variant("secret-default", dockerhub_mirror=dockerhub_mirror)
    run_id = uuid.uuid4().hex[:8]
    certificate = tmp_path / "proxy-ca.pem"
    runner.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", tmp_path / "proxy-ca.key", "-out", certificate, "-subj", f"/CN=dockwright-test-{run_id}"]
    )
    marker = certificate.read_text().splitlines()[3]  # a line of this run's certificate body
    tag = f"dockwright-secret-test:{run_id}"

    # Secrets are not part of cache keys: a UID of this run's own makes the steps after the user
    # step run (with the secret) under new keys. --no-cache-filter would instead add a second,
    # different result under the usual keys, and later builds could pick either one, giving images
    # that should share their base layers different ones.
    uid = str(20000 + int(run_id, 16) % 40000)
    result = runner.run(
        ["docker", "buildx", "build", "--progress=plain", "--target", "base"]
        + ["--build-arg", f"UID={uid}", "--build-arg", f"GID={uid}"]
        + ["--secret", f"id=extra_ca,src={certificate}", "--tag", tag, "."],
        cwd=project,
        timeout=1200,
    )
    try:
        assert "extra CA bundle from the extra_ca build secret: trusted for this step" in result.stderr
        search = f"grep -rlF '{marker}' / --exclude-dir=proc --exclude-dir=sys 2>/dev/null; true"
        found = engine.containers.run(tag, entrypoint=["sh", "-c"], command=[search], remove=True, user="0")
        assert found.decode().strip() == "", f"the CA is stored in the image: {found.decode()}"
        history = runner.run(["docker", "history", "--no-trunc", "--format", "{{.CreatedBy}}", tag]).stdout
        assert marker not in history and "BEGIN CERTIFICATE" not in history
    finally:
        engine.images.remove(tag, force=True)
