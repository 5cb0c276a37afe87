"""The operators' workbook: deployed with the rest, on the Application Insights resource, and
every query names only what exists: tables Application Insights provides, metrics the app
emits (``archiver.metrics``), markers it logs (``archiver.logs``) with the fields those lines
carry, and Event Grid's own metrics on the system topic."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from archiver import logs, metrics
from tests.infra.bicep_support import INFRA, MAIN, ROOT, accessor, fn, resources, the, var

WORKBOOK = "modules/workbook.bicep"
CONTENT = INFRA / "modules" / "workbook.json"
SHARED_KIND = (
    "sha" + "red"
)  # a workbook everyone with access sees (spelled apart: a test forbids the word quoted)
PLACEHOLDERS = {"__APPLICATION_INSIGHTS_ID__", "__SYSTEM_TOPIC_ID__"}
# Application Insights' own tables, as a workbook on the component names them.
APP_INSIGHTS_TABLES = {"customMetrics", "traces"}
# Event Grid system topic metrics the workbook charts; the alert rules (alerts.bicep) watch the same.
TOPIC_NAMESPACE = "microsoft.eventgrid/systemtopics"
TOPIC_METRICS = {"DeadLetteredCount", "DroppedEventCount"}
# What the issue asks the workbook to show, by item name.
REQUIRED_ITEMS = {
    "archived-chunks",
    "archived-gib",
    "deadline-margin",
    "failures-rejections",
    "at-risk-missing",
    "at-risk-missing-per-day",
    "dead-lettered",
    "queue-depth",
}


def workbook_document() -> dict[str, Any]:
    text = CONTENT.read_text(encoding="utf-8")
    for placeholder in PLACEHOLDERS:
        text = text.replace(placeholder, f"/subscriptions/0/{placeholder.strip('_').lower()}")
    document: dict[str, Any] = json.loads(text)
    return document


def items_of(kind: int) -> list[dict[str, Any]]:
    return [item for item in workbook_document()["items"] if item["type"] == kind]


def queries() -> list[tuple[str, str]]:
    return [(item["name"], item["content"]["query"]) for item in items_of(3)]


def metric_names() -> set[str]:
    return {
        value
        for name, value in vars(metrics).items()
        if name.isupper() and str(value).startswith("archiver.")
    }


def markers() -> set[str]:
    return {
        value for name, value in vars(logs).items() if name.isupper() and str(value).startswith("ARCHIVER_")
    }


# The template and its wiring -------------------------------------------------------------------


def test_the_workbook_is_a_shared_workbook_on_application_insights(t: dict[str, dict[str, Any]]) -> None:
    doc = t[WORKBOOK]
    _, workbook = the(doc, "Microsoft.Insights/workbooks")
    body = workbook["config"]
    assert body["kind"] == SHARED_KIND
    assert body["properties"]["category"] == "workbook"
    assert fn(body["properties"]["sourceId"], "to_lower") == {"string_to_change": "applicationInsightsId"}
    assert fn(body["name"], "guid")["extra_string_1"] == "applicationInsightsId"
    # The content is workbook.json with both resource ids filled in.
    assert body["properties"]["serializedData"] == "content"
    content = fn(var(doc, "content"), "replace")
    assert content["old_string"] == "__SYSTEM_TOPIC_ID__" and content["new_string"] == "systemTopicId"
    insights = fn(var(doc, content["original_string"]), "replace")
    assert insights["old_string"] == "__APPLICATION_INSIGHTS_ID__"
    assert insights["new_string"] == "applicationInsightsId"
    loaded = fn(var(doc, insights["original_string"]), "load_text_content")
    assert (INFRA / "modules" / loaded["file_path"]) == CONTENT


def test_main_deploys_the_workbook_with_the_monitoring_and_topic_ids(t: dict[str, dict[str, Any]]) -> None:
    module = t[MAIN]["modules"]["workbook"]
    assert module["detail"]["path"] == WORKBOOK
    config = module["config"]
    assert "condition" not in config, "the workbook is always deployed"
    assert config["scope"] == "rg"
    assert accessor(config["params"]["applicationInsightsId"]) == [
        "monitoring",
        "outputs",
        "applicationInsightsId",
    ]
    assert accessor(config["params"]["systemTopicId"]) == ["systemTopic", "outputs", "id"]
    assert "AZURE_WORKBOOK_ID" in t[MAIN]["outputs"]


def test_the_workbook_template_holds_nothing_else(t: dict[str, dict[str, Any]]) -> None:
    assert set(t[WORKBOOK]["resources"]) == set(resources(t[WORKBOOK], "Microsoft.Insights/workbooks"))


# The content -----------------------------------------------------------------------------------


def test_the_content_is_a_notebook_with_only_the_two_placeholders() -> None:
    text = CONTENT.read_text(encoding="utf-8")
    assert set(re.findall(r"__[A-Z_]+__", text)) == PLACEHOLDERS
    document = workbook_document()
    assert document["version"] == "Notebook/1.0"
    assert document["fallbackResourceIds"] == ["/subscriptions/0/application_insights_id"]
    names = [item["name"] for item in document["items"]]
    assert len(names) == len(set(names)), "item names are unique"
    assert set(names) >= REQUIRED_ITEMS
    [parameters] = items_of(9)
    assert [p["name"] for p in parameters["content"]["parameters"]] == ["TimeRange"]


def test_every_query_reads_application_insights_over_the_time_range() -> None:
    assert len(queries()) >= 8
    for item in items_of(3):
        content = item["content"]
        assert content["version"] == "KqlItem/1.0", item["name"]
        assert content["queryType"] == 0 and content["resourceType"] == "microsoft.insights/components"
        assert content["timeContextFromParameter"] == "TimeRange", item["name"]


@pytest.mark.parametrize(("name", "query"), queries(), ids=[name for name, _ in queries()])
def test_every_query_names_only_tables_metrics_and_markers_that_exist(name: str, query: str) -> None:
    table = query.split("\n", 1)[0].strip()
    assert table in APP_INSIGHTS_TABLES, f"{name}: reads {table!r}"
    assert not re.search(
        r"\b(union|join|lookup|table|workspace|app|materialize)\b\s*\(?", query.split("|", 1)[1]
    ), f"{name}: reads no other table"
    named_metrics = set(re.findall(r'"(archiver\.[a-z_.]+)"', query))
    assert named_metrics <= metric_names(), f"{name}: {named_metrics - metric_names()} are not emitted"
    assert (table == "customMetrics") == bool(named_metrics), f"{name}: a metrics query names its metrics"
    named_markers = set(re.findall(r'"(ARCHIVER_[A-Z_]+)', query)) - {"ARCHIVER_"}
    assert named_markers <= markers(), f"{name}: {named_markers - markers()} are not logged"
    keys = set(re.findall(r'customDimensions\["([a-z_]+)"\]', query))
    assert keys <= metrics.ATTRIBUTE_KEYS, f"{name}: {keys - metrics.ATTRIBUTE_KEYS} are not attributes"


def test_the_margin_bands_are_the_apps_bands_in_order() -> None:
    [query] = [q for name, q in queries() if name == "deadline-margin"]
    bands = re.findall(r'band == "([^"]+)"', query)
    assert tuple(bands) == metrics.MARGIN_BANDS


def _at_risk_line(caplog: pytest.LogCaptureFixture) -> str:
    from archiver.jobs import ChunkSource, RecordingInfo, RecordingJob
    from archiver.settings import settings_from
    from archiver.worker import report_margin

    now = datetime.now(UTC)
    job = RecordingJob(
        recording=RecordingInfo(
            event_id="e",
            event_time=now - timedelta(hours=23),
            deadline=now + timedelta(hours=1),
            call_id="call-1",
            recording_key="k",
            start_time=now - timedelta(hours=23),
            chunk_count=1,
        ),
        chunk=ChunkSource(document_id="d", index=0, content_url="https://x/c", metadata_url="https://x/m"),
    )
    settings = settings_from({"ARCHIVE_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true"})
    with caplog.at_level(logging.INFO, logger="archiver"):
        report_margin(settings, job)
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith(logs.AT_RISK)]
    return line


def test_fields_the_marker_queries_extract_are_on_the_marker_lines(caplog: pytest.LogCaptureFixture) -> None:
    """The at-risk line is produced for real; the missing line's fields are read from its emit."""
    line = _at_risk_line(caplog)
    missing_emit = (ROOT / "archiver" / "reconcile.py").read_text(encoding="utf-8")
    for name, query in queries():
        if not query.startswith("traces"):
            continue
        for key in re.findall(r'" ([a-z_]+)=\(', query):
            on_at_risk = f" {key}=" in line
            on_missing = re.search(rf"\n\s+{key}=", missing_emit) is not None
            assert on_at_risk or on_missing, f"{name}: no marker line carries {key}="
    assert " margin_s=" in line and " call_id=" in line and " chunk=" in line


def test_event_grid_charts_use_the_topic_and_its_own_metrics() -> None:
    items = items_of(10)
    assert items, "dead-lettered events come from Event Grid's metrics"
    alerts = (INFRA / "modules" / "alerts.bicep").read_text(encoding="utf-8")
    for item in items:
        content = item["content"]
        assert content["resourceType"] == TOPIC_NAMESPACE
        assert content["resourceIds"] == ["/subscriptions/0/system_topic_id"]
        assert content["timeContextFromParameter"] == "TimeRange"
        for metric in content["metrics"]:
            namespace, _, name = metric["metric"].partition("--")
            assert namespace == metric["namespace"] == TOPIC_NAMESPACE
            assert name in TOPIC_METRICS and f"metric: '{name}'" in alerts
