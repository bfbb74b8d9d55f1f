"""The rawjson progress parser of the task library, on a stream shaped like BuildKit's."""

from devtools import tasklib

buildkit = tasklib.module("buildkit")

STREAM = """
{"vertexes": [{"digest": "sha256:a", "name": "[internal] load build definition from Dockerfile"}]}
{"vertexes": [{"digest": "sha256:b", "name": "[base 4/4] RUN uv sync --locked",
  "started": "2026-12-04T21:43:24.879392099Z"}]}
WARNING: a line the CLI printed that is not JSON
{"vertexes": [{"digest": "sha256:b", "name": "[base 4/4] RUN uv sync --locked",
  "started": "2026-12-04T21:43:24.879392099Z", "completed": "2026-12-04T21:43:27.129392099Z"}]}
{"vertexes": [{"digest": "sha256:c", "name": "[runtime-minimal 3/3] COPY my_site/ ./my_site/",
  "cached": true, "started": "2026-12-04T21:43:28Z", "completed": "2026-12-04T21:43:28Z"}]}
{"statuses": [{"id": "transferring context:", "vertex": "sha256:a", "current": 29}]}
{"vertexes": [{"digest": "sha256:d", "name": "[builder 2/9] RUN npm ci",
  "started": "2026-12-04T21:43:28Z", "completed": "2026-12-04T21:43:29Z", "error": "exit code: 1"}]}
"""


def test_each_vertex_keeps_its_final_state():
    steps = {step.digest: step for step in buildkit.parse_rawjson(STREAM)}

    assert list(steps) == ["sha256:a", "sha256:b", "sha256:c", "sha256:d"]
    assert steps["sha256:b"].cached is False
    assert abs(steps["sha256:b"].seconds - 2.25) < 1e-6
    assert steps["sha256:c"].cached is True
    assert steps["sha256:d"].error == "exit code: 1"
    assert steps["sha256:a"].seconds is None


def test_internal_vertexes_are_not_instructions():
    steps = {step.digest: step for step in buildkit.parse_rawjson(STREAM)}

    assert not steps["sha256:a"].is_instruction
    assert steps["sha256:b"].is_instruction


def test_empty_stream_has_no_steps():
    assert buildkit.parse_rawjson("") == []


def test_steps_know_their_bake_target():
    steps = buildkit.parse_rawjson(
        '{"vertexes": [{"digest": "sha256:x", "name": "[worker builder  4/10] RUN npm ci"},'
        ' {"digest": "sha256:y", "name": "[base 2/5] RUN apt-get update"}]}'
    )

    assert [step.target for step in steps] == ["worker", None]
