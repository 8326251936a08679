"""REST handlers under `{base_url}iota-container/api/` (docs/jupyter-api.md).

Thin: read the request into a model, resolve paths inside the root, call the SDK (in a
thread: it blocks), answer JSON. `api_errors` is the one place IotaErrors become HTTP
answers. Every handler is a jupyter_server APIHandler: authenticated (403 without an
identity) and XSRF-checked on POST.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

import jupyter_ext.actions as actions
from iota_container.engine.state_store import UnknownDataset, UnknownVersion
from iota_container.errors import IotaError
from iota_container.limits import REQUEST_BODY_LIMITS, loads_json
from jupyter_ext.fields import BadRequest, blame
from jupyter_ext.jobs import JobConflict, JobManager, UnknownJob
from jupyter_ext.models import (
    CreateJob,
    CreateRepository,
    GetRequirements,
    GetVariables,
    ListRepositories,
    PreviewSchedule,
    ReadLog,
    ValidateDataset,
    WriteDataset,
)
from jupyter_ext.paths import NoSuchFile

if TYPE_CHECKING:
    from jupyter_ext.settings import ExtensionSettings as IotaContainerExtension

API = "iota-container/api"
AUTH_RESOURCE = "iota-container"
_STATUS: tuple[tuple[type[IotaError], int], ...] = (
    (NoSuchFile, 404),
    (UnknownJob, 404),
    (UnknownDataset, 404),
    (UnknownVersion, 404),
    (JobConflict, 409),
)


def status_for(error: IotaError) -> int:
    return next((code for kind, code in _STATUS if isinstance(error, kind)), 400)


def api_errors(
    method: Callable[..., Awaitable[None]],
) -> Callable[..., Awaitable[None]]:
    """IotaError → 400/404/409 with `{"message", "field"}`; anything else stays a 500."""

    @functools.wraps(method)
    async def answer(self: IotaHandler, *args: Any, **kwargs: Any) -> None:
        try:
            await method(self, *args, **kwargs)
        except IotaError as e:
            self.set_status(status_for(e))
            self.finish({"message": str(e), "field": getattr(e, "field", None)})

    return answer


def endpoint(method: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Authenticated, authorized on the `iota-container` resource, errors mapped."""
    return cast(Callable[..., Awaitable[None]], web.authenticated(authorized(api_errors(method))))


class IotaHandler(ExtensionHandlerMixin, APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def extension(self) -> IotaContainerExtension:
        return self.extensionapp  # type: ignore[return-value]

    @property
    def jobs(self) -> JobManager:
        return self.extension.job_manager

    def query(self) -> dict[str, str]:
        return {key: self.get_query_argument(key) for key in self.request.query_arguments}

    def body(self) -> Any:
        """The decoded JSON body, within REQUEST_BODY_LIMITS: a deeply nested body would
        otherwise end in a RecursionError (a 500) here or in the code that walks it."""
        try:
            return loads_json(
                self.request.body or b"{}",
                REQUEST_BODY_LIMITS,
                "the request body of",
                f"{self.request.method} {self.request.path}",
                fix="send the fields docs/jupyter-api.md describes",
            )
        except ValueError as e:
            raise BadRequest(f"the request body is not JSON ({e})", None) from e

    def reply(self, data: dict[str, Any], status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data))


async def _in_thread(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


class VariablesHandler(IotaHandler):
    @endpoint
    async def get(self) -> None:
        request = GetVariables.from_query(self.query())
        variables = await _in_thread(actions.notebook_variables, self.extension, request.path)
        self.reply({"path": request.path, "variables": variables})


class RequirementsHandler(IotaHandler):
    @endpoint
    async def get(self) -> None:
        request = GetRequirements.from_query(self.query())
        self.reply(await _in_thread(actions.notebook_requirements, self.extension, request.path))


class SchedulePreviewHandler(IotaHandler):
    @endpoint
    async def get(self) -> None:
        request = PreviewSchedule.from_query(self.query())
        with blame("expression"):
            self.reply(actions.preview_schedule(request.expression, request.count))


class RepositoriesHandler(IotaHandler):
    @endpoint
    async def get(self) -> None:
        request = ListRepositories.from_query(self.query())
        lister = self.extension.repositories
        with blame("registry"):
            page = await _in_thread(
                lister.list, request.registry, request.next_token, request.max_results
            )
        self.reply(page)

    @endpoint
    async def post(self) -> None:
        request = CreateRepository.from_json(self.body())
        with blame("name"):
            created = await _in_thread(
                self.extension.repositories.create, request.registry, request.name
            )
        self.reply(created, 201)


class JobsHandler(IotaHandler):
    @endpoint
    async def get(self) -> None:
        self.reply({"jobs": [job.to_json() for job in self.jobs.jobs()]})

    @endpoint
    async def post(self) -> None:
        request = CreateJob.from_json(self.body())
        spec = await _in_thread(actions.containerize_spec, self.extension, request)
        job = self.jobs.submit(
            "containerize", spec, notebook=request.notebook, dataset_name=spec["datasetName"]
        )
        self.reply(job.to_json(), 202)


class JobHandler(IotaHandler):
    @endpoint
    async def get(self, job_id: str) -> None:
        self.reply(self.jobs.get(job_id).to_json())


class JobCancelHandler(IotaHandler):
    @endpoint
    async def post(self, job_id: str) -> None:
        job = await self.jobs.cancel(job_id)
        self.reply(job.to_json())


class JobLogHandler(IotaHandler):
    @endpoint
    async def get(self, job_id: str) -> None:
        request = ReadLog.from_query(self.query())
        lines, following = self.jobs.log_lines(job_id, request.since)
        self.reply({"lines": lines, "next": following})


class DatasetValidateHandler(IotaHandler):
    @endpoint
    async def post(self) -> None:
        request = ValidateDataset.from_json(self.body())
        problems = actions.validate_definition(request.definition)
        self.reply({"valid": not problems, "problems": problems})


class DatasetsHandler(IotaHandler):
    @endpoint
    async def post(self) -> None:
        request = WriteDataset.from_json(self.body())
        written = await _in_thread(actions.write_dataset, self.extension, request)
        self.reply(written, 201)


class DatasetRunsHandler(IotaHandler):
    @endpoint
    async def post(self, name: str) -> None:
        spec = await _in_thread(actions.run_spec, self.extension, name)
        job = self.jobs.submit("run", spec, dataset_name=name)
        self.reply(job.to_json(), 202)


class ReportHandler(IotaHandler):
    @endpoint
    async def get(self, name: str, version: str) -> None:
        html = await _in_thread(actions.report_html, self.extension, name, version)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        # The report holds the notebook's outputs, scripts too: run them in an opaque
        # origin, away from this server's cookies and XSRF token.
        self.set_header("Content-Security-Policy", "sandbox allow-scripts allow-popups")
        self.write(html)
        # APIHandler.finish would label it application/json.
        super(APIHandler, self).finish()


_NAME = r"(?P<name>[A-Za-z0-9_]+)"
_JOB = r"(?P<job_id>[0-9a-f]+)"


def handlers() -> list[tuple[str, type[IotaHandler]]]:
    return [
        (f"{API}/variables", VariablesHandler),
        (f"{API}/requirements", RequirementsHandler),
        (f"{API}/schedule/preview", SchedulePreviewHandler),
        (f"{API}/repositories", RepositoriesHandler),
        (f"{API}/jobs", JobsHandler),
        (f"{API}/jobs/{_JOB}", JobHandler),
        (f"{API}/jobs/{_JOB}/cancel", JobCancelHandler),
        (f"{API}/jobs/{_JOB}/log", JobLogHandler),
        (f"{API}/datasets/validate", DatasetValidateHandler),
        (f"{API}/datasets", DatasetsHandler),
        (f"{API}/datasets/{_NAME}/runs", DatasetRunsHandler),
        (f"{API}/datasets/{_NAME}/contents/(?P<version>[A-Za-z0-9_.-]+)/report", ReportHandler),
    ]
