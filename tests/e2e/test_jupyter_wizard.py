"""The Containerize wizard in a real browser: a `jupyter lab` process on loopback with the
server extension and the labextension `pip install` put in place, Debian's Chromium driven
by Playwright. The job it starts pushes an image to a real registry (oci backend) and
writes a dataset definition, both checked from outside the browser. A screenshot of each
wizard step is saved under test-artifacts/jupyter/."""

from __future__ import annotations

import importlib.metadata
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from iota_container import __version__
from iota_container.image.spec import PHASES
from tests.e2e.test_build_acceptance import registry_with_base  # noqa: F401 (a fixture)
from tests.notebooks import write_notebook
from tests.registry import RegistryServer
from tests.servers import free_port, require, stop_process, wait_for_http
from tests.support import ROOT, run_cli

pytestmark = pytest.mark.e2e

CHROMIUM = Path(os.environ.get("IOTA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "jupyter"
NOTEBOOK = "analyses/temperature.ipynb"
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


class JupyterServer:
    """`jupyter lab` (or `jupyter notebook`) as its own process, with its own config,
    data and runtime folders so nothing of the user's own Jupyter set-up leaks in."""

    def __init__(
        self, app: str, root: Path, workdir: Path, env: dict[str, str], *options: str
    ) -> None:
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"jupyter-{app}-{self.port}.log"
        jupyter = Path(sys.executable).parent / "jupyter"
        command = [
            str(jupyter),
            app,
            "--allow-root",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={root}",
            *options,
        ]
        process_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IOTA_"))}
        process_env.update(
            JUPYTER_CONFIG_DIR=str(workdir / "config"),
            JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
            JUPYTERLAB_WORKSPACES_DIR=str(workdir / "workspaces"),
            **env,
        )
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=process_env, cwd=root
            )
        wait_for_http(f"{self.url}/api/status", self.process, self.log, timeout=60)

    def page_url(self, path: str) -> str:
        return f"{self.url}/{path}?token={self.token}"

    def stop(self) -> None:
        stop_process(self.process, grace=20)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Per test: Playwright's sync API runs its own event loop, which must be gone before
    pytest-jupyter's autouse loop fixture closes the loop it finds at teardown."""
    require(CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


def analysis_notebook(root: Path) -> Path:
    """A notebook that needs packages the base lacks (pandas, matplotlib) and a helper
    module beside it: the wizard's default image must carry all of them to run it."""
    (root / NOTEBOOK).parent.mkdir(parents=True, exist_ok=True)
    helpers = (root / NOTEBOOK).parent / "helpers.py"
    helpers.write_text("def label(value):\n    return f'threshold {value}'\n")
    return write_notebook(
        root / NOTEBOOK,
        "import pandas as pd\nimport matplotlib.pyplot as plt\nfrom helpers import label\n"
        "frame = pd.DataFrame({'temp': [21.0, threshold + 1]})\n"
        "print(label(threshold), 'site', site, 'hot', int((frame.temp > threshold).sum()))",
        "%matplotlib inline\nplt.plot(frame.temp)\nplt.show()",
        parameters="threshold = 27.5  # alert above this\nsite = 'north'  # which site",
    )


# Every data-phase the progress view takes, in order, kept in the page: polling the API
# from the test could miss a phase the page showed.
RECORD_PHASES = """() => {
  window.iotaPhasesSeen = [];
  const note = () => {
    const phase = document.querySelector('[data-testid=iota-job-progress]')?.dataset.phase;
    const seen = window.iotaPhasesSeen;
    if (phase && seen[seen.length - 1] !== phase) seen.push(phase);
  };
  new MutationObserver(note).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['data-phase']
  });
}"""


def assert_one_line(element: Any) -> None:
    """The element's text takes one line of its own line height: it did not wrap."""
    height, line = element.evaluate(
        "(el) => [el.getBoundingClientRect().height, parseFloat(getComputedStyle(el).lineHeight)]"
    )
    assert abs(height - line) < 1, (height, line, element.inner_text())


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")


def open_wizard(page: Any, server: JupyterServer, url_path: str) -> Any:
    page.goto(server.page_url(url_path))
    button = page.locator("[data-testid=iota-containerize-button] button")
    button.wait_for(state="visible", timeout=60_000)
    button.click()
    wizard = page.locator("[data-testid=iota-wizard]")
    wizard.wait_for(state="visible", timeout=15_000)
    return wizard


def field(page: Any, name: str) -> Any:
    return page.locator(f"[data-testid='field-{name}']")


def next_step(page: Any, step: str) -> None:
    page.get_by_test_id("iota-wizard-next").click()
    page.locator(f"[data-testid=iota-wizard][data-step={step}]").wait_for(timeout=10_000)


@pytest.fixture
def lab(
    registry_with_base: str,  # noqa: F811 (the imported fixture)
    tmp_path: Path,
) -> Iterator[tuple[JupyterServer, Path]]:
    root = tmp_path / "root"
    analysis_notebook(root)
    server = JupyterServer(
        "lab",
        root,
        tmp_path,
        {"IOTA_BASE_IMAGE": f"{registry_with_base}/iota-container/base:{__version__}"},
        "--IotaContainerExtension.default_backend=oci",
        f"--IotaContainerExtension.iota_home={tmp_path / 'iota-home'}",
        f"--IotaContainerExtension.output_root=file://{tmp_path / 'outputs'}",
    )
    yield server, root
    server.stop()


def test_wizard_containerizes_a_notebook(
    lab: tuple[JupyterServer, Path], registry: RegistryServer, browser: Any
) -> None:
    server, root = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    try:
        open_wizard(page, server, f"lab/tree/{NOTEBOOK}")

        # 1. Name and description, refused as the original service refused them; the
        # error names what is wrong with this name (the hint above gives the rule).
        assert page.get_by_test_id("iota-wizard-back").count() == 0
        dialog = page.locator(".iota-ModalContent")
        first_box = dialog.bounding_box()
        menu_bar = page.locator("#jp-top-panel, #jp-menu-panel").first.bounding_box()
        assert first_box["y"] >= menu_bar["y"] + menu_bar["height"], (first_box, menu_bar)
        field(page, "name").fill("temperature daily!")
        page.get_by_test_id("iota-wizard-next").click()
        assert page.get_by_test_id("error-name").inner_text() == '" ", "!" cannot be in a name'
        shot(page, "01-name-invalid")
        field(page, "name").fill("temperature-daily")
        field(page, "description").fill("Daily temperature summary")
        shot(page, "01-name")
        next_step(page, "variables")

        # 2. Variables: the detected table, one default edited, one added by hand.
        rows = page.get_by_test_id("iota-variable-row")
        rows.nth(1).wait_for()
        assert rows.count() == 2
        assert field(page, "variables.0.name").input_value() == "threshold"
        assert field(page, "variables.0.datasetType").input_value() == "double"
        assert field(page, "variables.0.description").input_value() == "alert above this"
        field(page, "variables.0.default").fill("30")
        page.get_by_test_id("iota-variable-add").click()
        field(page, "variables.2.name").fill("report_file")
        field(page, "variables.2.datasetType").select_option("outputFileUri")
        field(page, "variables.2.default").fill("report.csv")
        shot(page, "02-variables")
        next_step(page, "image")

        # 3. Image: the registry's repositories listed, a new repository named.
        field(page, "registry").fill(registry.address)
        page.get_by_test_id("iota-repositories-list").click()
        page.get_by_test_id("iota-repository-iota-container/base").wait_for()
        field(page, "image.tag").fill("v1")
        # The repository grammar (lower case) is checked here, not after Containerize.
        field(page, "image.repository").fill("Analyses/Temperature")
        page.get_by_test_id("iota-wizard-next").click()
        refused = page.get_by_test_id("error-image.repository").inner_text()
        assert "lower case: analyses/temperature" in refused, refused
        assert page.locator("[data-testid=iota-wizard]").get_attribute("data-step") == "image"
        shot(page, "03-image-refused")
        field(page, "image.repository").fill("analyses/temperature")
        assert page.get_by_test_id("error-image.repository").count() == 0  # cleared by the edit
        # A requirements file that is not there: only the server can tell (below).
        field(page, "image.requirements").fill("analyses/missing-requirements.txt")
        field(page, "image.backend").select_option("oci")
        # The packages the notebook's imports need, at the kernel's versions: editable.
        pandas = page.get_by_test_id("iota-package-pandas")
        pandas.wait_for(timeout=60_000)
        version = page.get_by_test_id("iota-package-version-pandas").input_value()
        assert version == importlib.metadata.version("pandas")
        assert "pandas" in pandas.inner_text()
        page.get_by_test_id("iota-package-matplotlib").wait_for()
        page.get_by_test_id("iota-package-add-name").fill("tabulate")
        page.get_by_test_id("iota-package-add").click()
        page.get_by_test_id("iota-package-tabulate").wait_for()
        shot(page, "03-image-packages")
        page.get_by_test_id("iota-package-remove-tabulate").click()
        assert page.get_by_test_id("iota-package-tabulate").count() == 0
        shot(page, "03-image")
        assert dialog.bounding_box()["height"] == first_box["height"]  # one size, every step
        next_step(page, "trigger")

        # 4. Trigger: a schedule with a readable preview of its next runs.
        field(page, "trigger.schedule").fill("cron(0 12 * * ? *)")
        preview = page.get_by_test_id("iota-schedule-preview")
        preview.locator("li").nth(4).wait_for()
        assert "12:00:00" in preview.locator("li").first.inner_text()
        shot(page, "04-trigger")
        next_step(page, "review")

        # 5. Review, then the job. The server refuses what the browser let through (a
        # requirements file that does not exist) with an answer shown beside the field,
        # on its step, where the repositories listed before are still listed.
        review = page.get_by_test_id("iota-review").inner_text()
        assert f"{registry.address}/analyses/temperature:v1" in review
        shot(page, "05-review")
        page.get_by_test_id("iota-wizard-submit").click()
        page.locator("[data-testid=iota-wizard][data-step=image]").wait_for()
        refused = page.get_by_test_id("error-image.requirements").inner_text()
        assert "missing-requirements.txt" in refused, refused
        assert page.get_by_test_id("iota-repository-iota-container/base").is_visible()
        shot(page, "05-review-refused")
        field(page, "image.requirements").fill("")
        next_step(page, "trigger")
        next_step(page, "review")
        page.evaluate(RECORD_PHASES)
        page.get_by_test_id("iota-wizard-submit").click()

        # 6. Progress, live, to the end: phases as the job reports them, a log box that
        # says it waits rather than stays empty.
        page.locator("[data-testid=iota-wizard][data-step=progress]").wait_for()
        status = page.get_by_test_id("iota-job-status")
        status.wait_for()
        shot(page, "06-progress-started")
        if status.inner_text() == "running":
            assert page.get_by_test_id("iota-job-log").inner_text().strip()
            assert page.get_by_test_id("iota-job-step").inner_text().strip()
        page.wait_for_function(
            "() => ['succeeded', 'failed', 'cancelled'].includes("
            "document.querySelector('[data-testid=iota-job-status]')?.textContent)",
            timeout=240_000,
        )
        shot(page, "06-progress-done")
        log = page.get_by_test_id("iota-job-log").inner_text()
        assert status.inner_text() == "succeeded", log
        phases = page.evaluate("() => window.iotaPhasesSeen")
        assert phases[-2:] == ["pushing", "done"] or phases[-3:] == [
            "pushing",
            "registering",
            "done",
        ], phases
        assert phases == sorted(phases, key=PHASES.index), phases  # never backwards
        # However fast a phase went by between two polls, the trail lists it.
        trail = page.get_by_test_id("iota-job-phases").locator("li")
        assert [li.get_attribute("data-phase") for li in trail.all()] == list(PHASES)
        assert page.get_by_test_id("iota-progress-push").get_attribute("value") == "1"
        step = page.get_by_test_id("iota-job-step").inner_text()
        assert step.startswith("Done: pushed") and "writing" not in step, step
        assert "registered dataset temperature_daily" in step, step
        # The bytes shown pushed are the bytes the result says were uploaded.
        pushed = page.get_by_test_id("iota-progress-push-detail")
        uploaded = page.get_by_test_id("iota-result-uploaded")
        assert pushed.get_attribute("data-bytes") == uploaded.get_attribute("data-bytes")
        assert pushed.inner_text() == f"pushed {uploaded.inner_text()} of {uploaded.inner_text()}"
        image = page.get_by_test_id("iota-result-image").inner_text()
        digest = page.get_by_test_id("iota-result-digest").inner_text()
        definition = page.get_by_test_id("iota-result-definition").inner_text()
        assert image == f"{registry.address}/analyses/temperature@{digest}"
        assert_one_line(page.get_by_test_id("iota-result-digest"))
        assert_one_line(page.get_by_test_id("iota-result-image"))

        # Run now: one run through the engine, then its HTML report in a tab.
        page.get_by_test_id("iota-run-now").click()
        frame = page.locator("[data-testid=iota-report-frame]")
        section = page.get_by_test_id("iota-run-now-section")
        failed = page.get_by_test_id("iota-run-now-error").or_(
            section.locator(".iota-Status-failed")
        )
        try:
            frame.or_(failed).first.wait_for(state="attached", timeout=240_000)
        finally:
            shot(page, "07-run-now")
        assert failed.count() == 0, section.inner_text()
        report = frame.get_attribute("srcdoc") or ""
        assert "threshold 30.0 site north hot 1" in report, report[-2000:]
        shot(page, "08-report")

        # The jobs panel lists both jobs (the wizard closed to show the report), also in
        # a new page: jobs live in the server, not in the page that started them.
        assert page.get_by_test_id("iota-wizard").count() == 0
        page.reload()
        page.locator(".jp-SideBar [data-id=iota-container-jobs]").click()
        succeeded = page.locator("[data-testid=iota-job][data-status=succeeded]")
        succeeded.nth(1).wait_for()
        run_job = succeeded.filter(has_text="Run").filter(has_text="temperature_daily").first
        containerize_job = succeeded.filter(has_text="analyses/temperature.ipynb").first
        assert "took" in run_job.get_by_test_id("iota-job-time").inner_text()
        assert containerize_job.get_by_test_id("iota-job-run-now").is_visible()
        assert containerize_job.get_by_test_id("iota-job-open-report").count() == 0
        # Each job's log, from the server (this page never saw the jobs run).
        containerize_job.get_by_test_id("iota-job-log-toggle").click()
        containerize_log = containerize_job.get_by_test_id("iota-job-log")
        page.wait_for_function(
            "(el) => /push/i.test(el.textContent)", arg=containerize_log.element_handle()
        )
        # In the narrow panel too, the digest is one line (cut, whole in its tooltip).
        panel_digest = containerize_job.get_by_test_id("iota-result-digest")
        assert_one_line(panel_digest)
        assert panel_digest.get_attribute("title") == digest
        run_job.get_by_test_id("iota-job-log-toggle").click()
        run_log = run_job.get_by_test_id("iota-job-log")
        page.wait_for_function("(el) => el.textContent.trim() !== ''", arg=run_log.element_handle())
        shot(page, "09-jobs-panel")
        run_job.get_by_test_id("iota-job-open-report").click()
        page.locator(".jp-MainAreaWidget [data-testid=iota-report-frame]").wait_for(
            state="attached"
        )
        assert "threshold 30.0" in (frame.get_attribute("srcdoc") or "")
        # Run now from the panel (still open beside the report) starts a new run job;
        # Cancel stops it.
        run_job.get_by_test_id("iota-job-run-now").click()
        active = page.locator(
            "[data-testid=iota-job][data-status=running], "
            "[data-testid=iota-job][data-status=queued]"
        )
        active.first.get_by_test_id("iota-job-cancel").click()
        cancelled = page.locator("[data-testid=iota-job][data-status=cancelled]")
        cancelled.wait_for(timeout=60_000)
        assert cancelled.get_by_test_id("iota-job-cancel").count() == 0  # nothing left to stop
        cancelled.scroll_into_view_if_needed()
        shot(page, "10-jobs-panel-cancelled")
    finally:
        page.close()

    manifest = requests.head(
        f"{registry.url}/v2/analyses/temperature/manifests/{digest}",
        headers={"Accept": MANIFEST_TYPES},
        timeout=10,
    )
    assert manifest.status_code == 200, manifest.headers
    assert manifest.headers["Docker-Content-Digest"] == digest

    written = root / definition
    assert written.is_file(), definition
    validated = run_cli("dataset", "validate", str(written))
    assert validated.returncode == 0, validated.stdout + validated.stderr
    text = written.read_text()
    assert "temperature_daily" in text
    assert digest in text
    assert "cron(0 12 * * ? *)" in text


@pytest.fixture
def notebook7(tmp_path: Path) -> Iterator[tuple[JupyterServer, Path]]:
    import importlib.util

    require(
        importlib.util.find_spec("notebook") is not None,
        "Notebook 7 is not installed (pip install 'notebook>=7')",
    )
    root = tmp_path / "root"
    analysis_notebook(root)
    server = JupyterServer("notebook", root, tmp_path, {})
    yield server, root
    server.stop()


def test_notebook7_toolbar_opens_the_wizard(
    notebook7: tuple[JupyterServer, Path], browser: Any
) -> None:
    """The same plugin in Notebook 7: its toolbar button opens the wizard, whose requests
    reach the server extension (the variables table is filled from the notebook)."""
    server, _ = notebook7
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    try:
        open_wizard(page, server, f"notebooks/{NOTEBOOK}")
        field(page, "name").fill("temperature_nb7")
        shot(page, "nb7-01-name")
        next_step(page, "variables")
        page.get_by_test_id("iota-variable-row").nth(1).wait_for()
        assert field(page, "variables.1.name").input_value() == "site"
        shot(page, "nb7-02-variables")
    finally:
        page.close()
