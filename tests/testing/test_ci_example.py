"""``examples/ci`` run as a user runs it: ``pytest`` in a directory outside the repository.

The example test file and a chain file are copied to a temporary directory (no conftest, no
pyproject: the fixtures come from the installed package's ``pytest11`` entry point), and a
fresh ``pytest`` runs there. Each variant (in process, through the LiteLLM proxy) runs the
example's own chain, which must pass, and a single-link chain, whose drills must fail naming
the fault and the link. The two runs of a variant go in parallel; each starts at most one
proxy (the plugin shares it across the run's cases).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from langchain_openrouter_fallback.testing import fault_matrix
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "ci"
TEST_FILE = "test_chain_fails_over.py"
SINGLE_LINK = (
    "name: support-bot\n"
    "models:\n"
    "  - {model: anthropic/claude-sonnet-4.5, label: primary, timeout: 30,"
    " first_token_timeout: 10}\n"
)
MATRIX_TESTS = {
    "in-process": "test_every_link_but_the_last_can_fail",
    "proxy": "test_the_same_through_the_litellm_proxy",
}
SELECTION = {"in-process": "not proxy", "proxy": "proxy"}


def _project(root: Path, chain_text: str) -> Path:
    root.mkdir()
    assert ROOT not in root.resolve().parents  # outside the repository: no conftest, no config
    shutil.copy(EXAMPLE / TEST_FILE, root / TEST_FILE)
    (root / "chains.yaml").write_text(chain_text, encoding="utf-8")
    return root


def _start(directory: Path, selection: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "pytest", TEST_FILE, "-q", "-p", "no:cacheprovider",
               "-k", selection, "--junitxml=report.xml"]  # fmt: skip
    return subprocess.Popen(
        command, cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _outcomes(directory: Path) -> dict[str, tuple[str, str]]:
    """Test name -> (``passed``/``failed``/``skipped``, message) from the JUnit report."""
    outcomes = {}
    for case in ET.parse(directory / "report.xml").getroot().iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            if child.tag in {"failure", "error", "skipped"}:
                outcome = "skipped" if child.tag == "skipped" else "failed"
                message = (child.get("message") or "") + "\n" + (child.text or "")
        outcomes[case.get("name", "")] = (outcome, message)
    return outcomes


def _run_both(tmp_path: Path, variant: str) -> tuple[tuple[int, str, dict], tuple[int, str, dict]]:
    good = _project(tmp_path / "good", (EXAMPLE / "chains.yaml").read_text(encoding="utf-8"))
    broken = _project(tmp_path / "broken", SINGLE_LINK)
    runs = [(d, _start(d, SELECTION[variant])) for d in (good, broken)]
    results = []
    for directory, process in runs:
        output, _ = process.communicate(timeout=1500)
        results.append((process.returncode, output, _outcomes(directory)))
    return results[0], results[1]


@pytest.mark.parametrize("variant", ["in-process", "proxy"])
@pytest.mark.timeout(1800)
def test_the_example_passes_and_a_single_link_chain_fails(tmp_path, variant):
    """The example's chain passes every drill, in process and through the proxy alike; a single
    link fails them, naming fault and link."""
    (code, output, good), (broken_code, broken_output, broken) = _run_both(tmp_path, variant)
    matrix = MATRIX_TESTS[variant]

    failed = {name for name, (outcome, _) in good.items() if outcome != "passed"}
    assert set() == failed, output[-5000:]
    assert len(fault_matrix(EXAMPLE / "chains.yaml")) <= sum(n.startswith(matrix) for n in good)
    assert 0 == code, output[-3000:]

    single = fault_matrix(tmp_path / "broken" / "chains.yaml", time_limit=2)
    must_fail = {f"{matrix}[{case}]": case for case in single if not case.may_interrupt}
    assert 1 == broken_code, broken_output[-3000:]
    for name, case in must_fail.items():
        outcome, message = broken[name]
        assert "failed" == outcome, name
        assert f"fault '{case.fault}' on link 'primary'" in message, message[:2000]
        assert re.search(r"link +model +attempts +served", message)  # the drill's table
    loud = {f"{matrix}[{case}]" for case in single if case.may_interrupt}
    assert {"passed"} == {broken[name][0] for name in loud}  # a loud interruption is kept


def test_the_proxy_drills_skip_without_litellm(tmp_path):
    """Without LiteLLM the proxy fixture skips the test and says how to install it."""
    project = _project(tmp_path / "no-litellm", (EXAMPLE / "chains.yaml").read_text())
    # `import litellm` fails and find_spec reports it missing, as in an environment without it.
    (project / "conftest.py").write_text('import sys\n\nsys.modules["litellm"] = None\n')
    process = _start(project, "proxy and primary-status-503-invoke")
    output, _ = process.communicate(timeout=600)
    outcomes = _outcomes(project)
    assert 0 == process.returncode, output[-3000:]
    assert [("skipped", True)] == [
        (outcome, "need the litellm extra" in message and "pip install" in message)
        for outcome, message in outcomes.values()
    ]


def test_the_docs_page_shows_the_example_files_verbatim():
    """docs/testing-in-ci.md shows exactly the files this module runs (the test and chain)."""
    page = (ROOT / "docs" / "testing-in-ci.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:python|yaml)\n(.*?)```", page, flags=re.DOTALL)
    assert (EXAMPLE / TEST_FILE).read_text(encoding="utf-8") == blocks[0]
    assert (EXAMPLE / "chains.yaml").read_text(encoding="utf-8") == blocks[1]
