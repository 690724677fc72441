"""The endpoint table is read from the OpenAPI document, and every part uses that one table."""

from __future__ import annotations

import pytest

from yzt import endpoints
from yzt.conformance.checks._expect import schema_for
from yzt.loadtests import traffic


def test_the_table_is_the_documents_operations() -> None:
    table = {(e.method, e.path): e for e in endpoints.endpoints()}
    paths = endpoints.openapi_document()["paths"]
    assert set(table) == {(m.upper(), p) for p, item in paths.items() for m in item}
    assert table[("POST", "/v1/card-count")].id_key == "query_id"
    assert table[("POST", "/v1/disputes")].id_key == "dispute_id"
    assert table[("GET", "/v1/cancellations/{cancellation_id}")].id_key == "cancellation_id"
    assert not table[("GET", "/v1/service-info")].signed
    assert not table[("GET", "/v1/health")].signed
    assert table[("POST", "/v1/sandbox/clock")].signed
    assert table[("POST", "/v1/cancellations")].success_status == 202


def test_find_matches_templates_by_segment() -> None:
    found = endpoints.find("GET", "/v1/disputes/3f1c")
    assert found is not None and found.name == "disputes/{dispute_id}"
    assert endpoints.find("GET", "/v1/disputes") is None
    assert endpoints.find("GET", "/v1/disputes/a/b") is None
    assert endpoints.find("POST", "/v1/health") is None
    with pytest.raises(KeyError, match="no endpoint 'nope'"):
        endpoints.by_name("nope")


def test_load_mix_and_checks_read_the_table() -> None:
    assert list(traffic.ENDPOINTS) == [e.name for e in endpoints.business()]
    assert traffic.ENDPOINTS["disputes"] == ("POST", "/v1/disputes", 202, "dispute_accepted")


def test_path_parameters_are_read_by_name() -> None:
    status = endpoints.by_name("disputes/{dispute_id}")
    assert status.path_params("/v1/disputes/3f1c%20x") == {"dispute_id": "3f1c%20x"}
    assert status.path_params("/v1/disputes/a/b") is None
    assert endpoints.by_name("card-count").path_params("/v1/card-count") == {}


def test_reference_operator_routes_come_from_the_table(tmp_path) -> None:
    from yzt.server.app import build
    from yzt.server.config import ServerConfig
    from yzt.server.loading import open_store
    from yzt.server.problems import Problem
    from yzt.server.testing import DEFAULT_SECRET

    config = ServerConfig("R07", "k1", DEFAULT_SECRET, tmp_path / "op.sqlite", subjects=5)
    store = open_store(config)
    try:
        dispatcher = build(config, store)
        assert [e.operation_id for e in dispatcher.routes] == [e.operation_id for e in endpoints.endpoints()]
        endpoint, params = dispatcher.route("GET", "/v1/cancellations/x")
        assert endpoint.operation_id == "getCancellation" and params == {"cancellation_id": "x"}
        with pytest.raises(Problem, match="not_found"):
            dispatcher.route("GET", "/v1/card-count/x")
        with pytest.raises(Problem, match="method_not_allowed") as refused:
            dispatcher.route("GET", "/v1/card-count")
        assert refused.value.headers == {"Allow": "POST"}
        clockless = build(ServerConfig("R07", "k1", DEFAULT_SECRET, tmp_path / "op.sqlite", subjects=5,
                                       sandbox_clock=False), store)
        with pytest.raises(Problem, match="not_found"):
            clockless.route("POST", "/v1/sandbox/clock")
    finally:
        store.close()


class _Ex:
    def __init__(self, method: str, path: str, status: int) -> None:
        self.method, self.path, self.status = method, path, status


@pytest.mark.parametrize(("method", "path", "status", "schema"), [
    ("POST", "/v1/card-count", 200, "card_count_response"),
    ("POST", "/v1/card-count", 202, None),
    ("GET", "/v1/disputes/abc", 200, "dispute_status"),
    ("POST", "/v1/cancellations", 202, "cancellation_accepted"),
    ("GET", "/v1/nowhere", 200, None),
])
def test_offline_validation_picks_the_schema_from_the_table(method: str, path: str, status: int,
                                                             schema: str | None) -> None:
    assert schema_for(_Ex(method, path, status)) == schema  # type: ignore[arg-type]
